"""The stabiliser each divergence trains with by default: one table, :data:`RECOMMENDED`.

``fgan train`` (and ``TrainConfig(stabilizer=("recommended",))``, the default) resolves ``recommended`` to the
divergence's row here: its stabilisers (see :mod:`fgan.stabilizers`) and the weights it sets, recorded in run.log and
config.json. A divergence without a row trains with plain Algorithm 1. Each row says where its choice comes from: a
measurement (``benchmarks/stabilizer_sweep.py``, what was run and what it scored) or a guess still to be measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recommendation:
    """Stabilisers of :mod:`fgan.stabilizers` (empty: plain Algorithm 1), the TrainConfig weights they set, and the
    evidence for the choice."""

    stabilizers: tuple[str, ...] = ()
    settings: dict[str, float] = field(default_factory=dict)
    evidence: str = "no entry: plain Algorithm 1"


#: Where the measured rows come from (``benchmarks/stabilizer_sweep.py --datasets ring --steps 5000 --settings ...``,
#: seed 0, scored as ``fgan reproduce modes``: modes covered of 8, share of high-quality samples; the seeds 0-2 of
#: the README's modes table confirm them).
_RING = "measured on the ring, seed 0, 5000 steps (benchmarks/stabilizer_sweep.py)"


def _r1(gamma: float, evidence: str) -> Recommendation:
    return Recommendation(("r1",), {"r1_gamma": gamma}, f"{_RING}: {evidence}")


#: Divergence name -> its recommendation (see the module's docstring).
RECOMMENDED: dict[str, Recommendation] = {
    "kl": _r1(10.0, "8/8 modes, 80 % high quality; r1 10 + ema: 70 %; at 3000 steps r1 1: 30 %, r1 0.1 and plain 0/8"),
    "reverse-kl": _r1(10.0, "8/8 modes, 75 % high quality; r1 10 + ema: 63 %; at 3000 steps r1 0.1: 34 %"),
    "js": _r1(10.0, "8/8 modes, 79 % high quality; r1 10 + ema: 68 %; at 3000 steps r1 0.1: 44 %"),
    "gan": _r1(10.0, "8/8 modes, 79 % high quality (as js, whose gradients it shares); r1 10 + ema: 68 %"),
    "hellinger": _r1(10.0, "8/8 modes, 84 % high quality; r1 10 + ema: 77 %; at 3000 steps r1 0.1: 50 %"),
    "pearson": _r1(10.0, "8/8 modes, 77 % high quality; r1 10 + ema: 72 %; at 3000 steps r1 1: 16 %, plain 0/8"),
    "neyman": _r1(30.0, "8/8 modes, 75 % high quality; r1 100: 76 %; r1 10: 5/8, 5 % (at 3000 steps 8/8, 33 %)"),
    "jeffrey": _r1(
        30.0,
        "8/8 modes, 82 % high quality (seeds 1, 2: 76 %, 76 %); r1 10: 75 %, on the grid (10,000 steps) 8/25 "
        "modes against 25/25 with r1 30",
    ),
    "tv": _r1(10.0, "8/8 modes, 78 % high quality; r1 10 + ema: 69 %; at 3000 steps r1 0.1: 20 %, plain 7/8, 4 %"),
}


def recommendation_for(name: str) -> Recommendation:
    """The row of divergence ``name``, or plain Algorithm 1."""
    return RECOMMENDED.get(name, Recommendation())
