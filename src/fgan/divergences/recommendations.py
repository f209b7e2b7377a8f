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
    "reverse-kl": Recommendation(
        ("r1",), {"r1_gamma": 0.1}, f"{_RING}: 8/8 modes, 34 % high quality; roth 0.1 8/8, 32 %"
    ),
    "js": Recommendation(("r1",), {"r1_gamma": 0.1}, f"{_RING}: 8/8 modes, 44 % high quality; roth 0.1 8/8, 29 %"),
    "gan": Recommendation(("r1",), {"r1_gamma": 0.1}, f"{_RING}: 8/8 modes, 44 % high quality; roth 0.1 8/8, 29 %"),
    "hellinger": Recommendation(
        ("r1",), {"r1_gamma": 0.1}, f"{_RING}: 8/8 modes, 50 % high quality; roth 0.1 8/8, 40 %"
    ),
    "kl": Recommendation(
        ("r1",), {"r1_gamma": 1.0}, f"{_RING}: 8/8 modes, 30 % high quality; plain 0/8, r1 0.1 0/8, roth 0.1 1/8"
    ),
    "pearson": Recommendation(
        ("r1",), {"r1_gamma": 1.0}, f"{_RING}: 8/8 modes, 16 % high quality; r1 0.1, roth 0.1, instance noise 0/8"
    ),
    "neyman": Recommendation(
        ("r1",), {"r1_gamma": 1.0}, f"{_RING}: 8/8 modes, 31 % high quality; r1 0.1 0/8, roth 0.1 1/8, noise 1 3/8"
    ),
    "jeffrey": Recommendation(
        ("r1",), {"r1_gamma": 10.0}, f"{_RING}: 8/8 modes, 62 % high quality; r1 0.1 and 1 0/8, roth 0.1 0/8"
    ),
    "tv": Recommendation(
        ("r1",), {"r1_gamma": 0.1}, f"{_RING}: 8/8 modes, 20 % high quality; without it (roth is 0 for tv) 7/8, 4 %"
    ),
}


def recommendation_for(name: str) -> Recommendation:
    """The row of divergence ``name``, or plain Algorithm 1."""
    return RECOMMENDED.get(name, Recommendation())
