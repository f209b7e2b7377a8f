"""What a stalled or collapsed run shows: the fraction of critic outputs where g_f saturates, and the warning it
raises.

Where T = g_f(V) sits at a finite end of g_f's range (the sup of dom f* for gan, js, hellinger, neyman,
reverse-kl, tv, or tv's lower end -½), g_f' vanishes, so the critic's output stops moving the generator:
the run stalls or collapses. :func:`saturated_fraction` measures it per step; :class:`SaturationWatch` turns a
long stretch of it into one line for run.log and the progress bar, naming the stabiliser to try.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from fgan.divergences import Divergence

#: g_f(V) within this of an end of dom f* counts as saturated.
SATURATION_TOLERANCE = 1e-3
#: The fraction of generated samples from which a logged step counts as a saturated one.
SATURATED_SHARE = 0.9
#: Consecutive logged steps of saturation before the warning.
SATURATED_ROWS = 100


def saturated_fraction(divergence: Divergence, critic_output: Tensor) -> Tensor:
    """The fraction of outputs v whose g_f(v) is within :data:`SATURATION_TOLERANCE` of a finite end of the range
    of g_f, g_f(±∞): the sup of dom f* (gan, js, hellinger, neyman, reverse-kl, tv, alpha with α < 1) or tv's
    lower end -½ (0-d, on v's device; 0 where g_f is unbounded both ways, as for kl, pearson and jeffrey)."""
    low, high = divergence.activation(torch.tensor([-math.inf, math.inf], dtype=torch.float64)).tolist()
    t = divergence.activation(critic_output)
    saturated = torch.zeros_like(t, dtype=torch.bool)
    if math.isfinite(high):
        to_end = divergence.distance_to_end(t) if high == divergence.conjugate_domain[1] else high - t
        saturated |= to_end <= SATURATION_TOLERANCE
    if math.isfinite(low):
        saturated |= t - low <= SATURATION_TOLERANCE
    return saturated.to(critic_output.dtype).mean()


@dataclass
class SaturationWatch:
    """Follows the logged per-step saturated fractions of a run; :meth:`observe` returns the warning once, when
    :data:`SATURATED_ROWS` consecutive steps had at least :data:`SATURATED_SHARE` of the generated samples
    saturated."""

    divergence: Divergence
    suggestion: str
    since: int | None = None
    rows: int = 0
    warned: bool = False

    def observe(self, step: int, fraction: float) -> str | None:
        """Take one step's fraction; the warning line when it is due (once a run), else None."""
        if not fraction >= SATURATED_SHARE:
            self.since, self.rows = None, 0
            return None
        self.since = step if self.since is None else self.since
        self.rows += 1
        if self.warned or self.rows < SATURATED_ROWS:
            return None
        self.warned = True
        return (
            f"critic saturated: g_f(V) within {SATURATION_TOLERANCE:g} of sup dom f* or the end of g_f's range "
            f"(dom f*: {self.divergence.domain_text()}) on {100 * fraction:.0f} % of generated samples since step "
            f"{self.since}; try {self.suggestion}"
        )
