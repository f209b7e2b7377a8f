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


_RING = "benchmarks/stabilizer_sweep.py, ring, seed 0, 3000 steps"

#: Divergence name -> its recommendation (see the module's docstring).
RECOMMENDED: dict[str, Recommendation] = {
    "kl": Recommendation(("roth",), {"roth_gamma": 0.1}, f"guess, to be measured ({_RING})"),
    "reverse-kl": Recommendation(("roth",), {"roth_gamma": 0.1}, f"guess, to be measured ({_RING})"),
    "js": Recommendation(("roth",), {"roth_gamma": 0.1}, f"guess, to be measured ({_RING})"),
    "gan": Recommendation(("roth",), {"roth_gamma": 0.1}, f"guess, to be measured ({_RING})"),
    "hellinger": Recommendation(("roth",), {"roth_gamma": 0.1}, f"guess, to be measured ({_RING})"),
    "pearson": Recommendation(("roth",), {"roth_gamma": 0.1}, f"guess, to be measured ({_RING})"),
    "neyman": Recommendation(("roth",), {"roth_gamma": 0.1}, f"guess, to be measured ({_RING})"),
    "jeffrey": Recommendation(("roth",), {"roth_gamma": 0.1}, f"guess, to be measured ({_RING})"),
    "tv": Recommendation(("r1",), {"r1_gamma": 0.1}, f"guess, to be measured ({_RING})"),
}


def recommendation_for(name: str) -> Recommendation:
    """The row of divergence ``name``, or plain Algorithm 1."""
    return RECOMMENDED.get(name, Recommendation())
