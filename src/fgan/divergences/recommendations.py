"""The stabiliser each divergence trains with by default: one table, :data:`RECOMMENDED`.

``fgan train`` (and ``TrainConfig(stabilizer=("recommended",))``, the default) resolves ``recommended`` to the
divergence's row here: its stabilisers (see :mod:`fgan.stabilizers`) and the weights it sets, recorded in run.log and
config.json; a member of a parametric family without a row of its own (``alpha:0.7``) takes the family's row,
:data:`RECOMMENDED_FAMILIES`. A divergence without either trains with plain Algorithm 1. Each row says where its
choice comes from: a measurement (``benchmarks/stabilizer_sweep.py``, what was run and what it scored).
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


#: Where the measured rows come from: ``benchmarks/stabilizer_sweep.py`` at ``fgan train``'s defaults (2-D z), seeds
#: 0-2, scored as ``fgan reproduce modes`` (modes covered within 3 std, share of high-quality samples): the ring
#: (8 modes, 5,000 steps) and the grid (25 modes, 10,000 steps); MNIST is ``fgan reproduce mnist --variant
#: recommended`` (5,000 steps of 256). Rows in benchmarks/results/.
_SWEEP = "benchmarks/stabilizer_sweep.py, seeds 0/1/2"


def _r1(gamma: float, evidence: str) -> Recommendation:
    return Recommendation(("r1",), {"r1_gamma": gamma}, f"{_SWEEP}: {evidence}")


#: Divergence name -> its recommendation (see the module's docstring).
RECOMMENDED: dict[str, Recommendation] = {
    "kl": _r1(10.0, "ring 8/8 modes, 88/82/86 % high quality; grid 23/25/25 of 25 (with an 8-D z: 24/14/15)"),
    "reverse-kl": _r1(10.0, "ring 8/8 modes, 82/88/81 % high quality; grid 23/24/25 of 25 (r1 30: 22/22/23)"),
    "js": _r1(10.0, "ring 8/8 modes, 83/81/85 % high quality; grid 21/24/25 of 25 (r1 30: 20/22/22)"),
    "gan": _r1(10.0, "as js, whose gradients it shares: ring 8/8 modes, 83/81/85 %; grid 21/24/25 of 25"),
    "hellinger": _r1(30.0, "ring 8/8 modes, 83/85/88 % high quality; grid 22/25/23 of 25 (r1 10: 24/14/25)"),
    "pearson": _r1(30.0, "ring 8/8 modes, 85/85/86 % high quality; grid 25/25/25 of 25 (r1 10: 23/14/11)"),
    "neyman": Recommendation(
        ("r1", "noise"),
        {"r1_gamma": 30.0, "instance_noise": 0.05},
        f"{_SWEEP}: ring 8/8 modes, 82/79/86 % high quality; grid 22/22/22 of 25 (r1 30 alone: 19/22/21; with noise "
        "0.1: 20/23/19, 0.2: 18/14/15; r1 50 + noise 0.1: 18/19/19); MNIST 10 classes in seeds 0-2 (plain: 2 classes)",
    ),
    "jeffrey": _r1(30.0, "ring 8/8 modes, 86/84/86 % high quality; grid 23/25/25 of 25 (r1 10, 8-D z: 8 in seed 0)"),
    "jeffrey-ratio": _r1(30.0, "ring 8/8 modes, 81/82/87 % high quality (plain: 8/8, 15/68/66 %); grid 23/24/25 of 25"),
    "tv": _r1(30.0, "ring 8/8 modes, 79/75/87 % high quality; grid 21/21/22 of 25 (r1 10: 14/22/13)"),
}


#: Parametric family (the name before ``:``) -> the recommendation of its members without a row of their own.
RECOMMENDED_FAMILIES: dict[str, Recommendation] = {
    "alpha": _r1(
        10.0,
        "measured at α = 2 (ring 8/8 modes, 76/89/86 % high quality; grid 23/25/25 of 25; r1 30: 85/84/86 %, "
        "22/22/23) and α = 0.5 (ring 8/8, 64/73/68 %; grid 21/13/18 of 25; r1 1, 3, 20, 30 and r1 10 + noise 0.1 "
        "do worse); other α untested",
    ),
}


def recommendation_for(name: str) -> Recommendation:
    """The row of divergence ``name``, else that of its parametric family (``alpha:0.7`` -> ``alpha``), else plain
    Algorithm 1."""
    family = name.partition(":")[0]
    return RECOMMENDED.get(name) or RECOMMENDED_FAMILIES.get(family, Recommendation())
