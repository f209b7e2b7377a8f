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


#: Where the measured rows come from (``benchmarks/stabilizer_sweep.py --settings ...``, scored as ``fgan reproduce
#: modes``: modes covered of 8, share of high-quality samples).
_RING = "measured on the ring, seed 0, 3000 steps (benchmarks/stabilizer_sweep.py)"

#: Divergence name -> its recommendation (see the module's docstring).
RECOMMENDED: dict[str, Recommendation] = {
    "kl": Recommendation(
        ("r1",), {"r1_gamma": 10.0}, f"{_RING}: 8/8 modes, 63 % high quality; r1 1: 30 %, r1 0.1 and plain 0/8"
    ),
    "reverse-kl": Recommendation(
        ("r1",), {"r1_gamma": 10.0}, f"{_RING}: 8/8 modes, 57 % high quality; r1 0.1: 34 %, roth 0.1: 32 %"
    ),
    "js": Recommendation(
        ("r1",), {"r1_gamma": 10.0}, f"{_RING}: 8/8 modes, 61 % high quality; r1 0.1: 44 %, roth 0.1: 29 %"
    ),
    "gan": Recommendation(
        ("r1",),
        {"r1_gamma": 10.0},
        f"{_RING}: 8/8 modes, 61 % high quality; as js, whose gradients it shares; r1 0.1: 44 %",
    ),
    "hellinger": Recommendation(
        ("r1",), {"r1_gamma": 10.0}, f"{_RING}: 8/8 modes, 69 % high quality; r1 0.1: 50 %, roth 0.1: 40 %"
    ),
    "pearson": Recommendation(
        ("r1",),
        {"r1_gamma": 10.0},
        f"{_RING}: 8/8 modes, 64 % high quality; r1 1: 16 %, r1 0.1, roth 0.1 and noise 0/8",
    ),
    "neyman": Recommendation(
        ("r1",), {"r1_gamma": 10.0}, f"{_RING}: 8/8 modes, 33 % high quality; r1 1: 31 %, r1 0.1 0/8, noise 1 3/8"
    ),
    "jeffrey": Recommendation(
        ("r1",), {"r1_gamma": 10.0}, f"{_RING}: 8/8 modes, 62 % high quality; r1 1, r1 0.1, roth 0.1: 0/8"
    ),
    "tv": Recommendation(
        ("r1",),
        {"r1_gamma": 10.0},
        f"{_RING}: 8/8 modes, 64 % high quality; r1 0.1: 20 %, without a stabiliser (roth is 0 for tv) 7/8, 4 %",
    ),
}


def recommendation_for(name: str) -> Recommendation:
    """The row of divergence ``name``, or plain Algorithm 1."""
    return RECOMMENDED.get(name, Recommendation())
