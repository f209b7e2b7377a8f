"""What a stalled or collapsed run shows: the fraction of critic outputs where g_f saturates, and the warning it
raises.

Where T = g_f(V) sits at a finite end of g_f's range (the sup of dom f* for gan, js, hellinger, neyman,
reverse-kl, tv, or tv's lower end -½), g_f' vanishes, so the critic's output stops moving the generator:
the run stalls or collapses. :func:`saturated_fraction` measures it per step; :class:`SaturationWatch` turns a
long stretch of it into one line for run.log and the progress bar, naming the stabiliser to try.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from fgan.divergences import Divergence

#: g_f(V) within this of an end of dom f* counts as saturated.
SATURATION_TOLERANCE = 1e-3
#: The fraction of generated samples from which a logged step counts as a saturated one.
SATURATED_SHARE = 0.9
#: Consecutive logged steps of saturation before the warning.
SATURATED_ROWS = 100


def saturated_outputs(divergence: Divergence, critic_output: Tensor) -> Tensor:
    """Where g_f(v) is within :data:`SATURATION_TOLERANCE` of a finite end of the range of g_f (boolean)."""
    low, high = divergence.activation(torch.tensor([-math.inf, math.inf], dtype=torch.float64)).tolist()
    t = divergence.activation(critic_output)
    saturated = torch.zeros_like(t, dtype=torch.bool)
    if math.isfinite(high):
        to_end = divergence.distance_to_end(t) if high == divergence.conjugate_domain[1] else high - t
        saturated |= to_end <= SATURATION_TOLERANCE
    if math.isfinite(low):
        saturated |= t - low <= SATURATION_TOLERANCE
    return saturated


def _edge(saturated_at: Callable[[float], bool], toward: float) -> float:
    """The v nearest 0 from which ``saturated_at`` holds all the way toward ``toward`` (±inf), by doubling then
    bisection in float64; ``toward`` itself where it never holds within 2^60."""
    inside = math.copysign(1.0, toward)
    while not saturated_at(inside):
        inside *= 2.0
        if abs(inside) > 2.0**60:
            return toward
    outside = -inside
    while saturated_at(outside):
        outside *= 2.0
        if abs(outside) > 2.0**60:
            return -toward  # saturated everywhere
    for _ in range(200):
        middle = 0.5 * (inside + outside)
        if middle in (inside, outside):
            break
        inside, outside = (middle, outside) if saturated_at(middle) else (inside, middle)
    return inside


@dataclass(frozen=True)
class SaturationTest:
    """:func:`saturated_fraction` as two thresholds on v: g_f is increasing, so g_f(v) is near the top of its range
    exactly for v >= ``above`` and near the bottom for v <= ``below`` (±inf where an end is infinite). Found once
    per divergence; a step then compares v with them instead of evaluating g_f and its distance to the end."""

    below: float
    above: float
    _tensors: dict[tuple[torch.device, torch.dtype, int], tuple[Tensor, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, divergence: Divergence) -> SaturationTest | None:
        """The thresholds of ``divergence``, checked against the direct test at v in [-60, 60]; None where they do
        not reproduce it (an activation that is not increasing: then :func:`saturated_fraction` it is)."""

        def at(v: float) -> bool:
            return bool(saturated_outputs(divergence, torch.tensor([v], dtype=torch.float64)).item())

        test = cls(_edge(lambda v: v < 0 and at(v), -math.inf), _edge(lambda v: v > 0 and at(v), math.inf))
        grid = torch.linspace(-60.0, 60.0, 2401, dtype=torch.float64)
        direct, thresholds = saturated_outputs(divergence, grid), test.saturated(grid)
        agree = not direct.any() if thresholds is None else torch.equal(thresholds, direct)
        return test if agree else None

    def _tensors_for(self, critic_output: Tensor) -> tuple[Tensor, ...]:
        """``below``, ``above`` and the number of outputs as 0-d tensors on ``critic_output``'s device and in its
        dtype, made once per (device, dtype, size): a Python number is wrapped into a tensor, and converted, at
        every call, and a step's few microseconds count."""
        key = (critic_output.device, critic_output.dtype, critic_output.numel())
        if key not in self._tensors:
            values = [self.below, self.above, float(critic_output.numel())]
            self._tensors[key] = torch.tensor(values, device=key[0], dtype=key[1]).unbind()
        return self._tensors[key]

    def saturated(self, critic_output: Tensor) -> Tensor | None:
        """Where v is at or beyond a threshold (boolean); None where g_f has no finite end."""
        if self.below == -math.inf and self.above == math.inf:
            return None
        below, above, _ = self._tensors_for(critic_output)
        if self.below == -math.inf:
            return critic_output >= above
        if self.above == math.inf:
            return critic_output <= below
        return (critic_output >= above) | (critic_output <= below)

    def fraction(self, critic_output: Tensor) -> Tensor:
        """The fraction of ``critic_output`` that saturates (0-d, on its device, in its dtype), as a count over the
        number of outputs."""
        saturated = self.saturated(critic_output)
        if saturated is None:
            return critic_output.new_zeros(())
        return torch.count_nonzero(saturated).to(critic_output.dtype).div_(self._tensors_for(critic_output)[2])


def saturated_fraction(divergence: Divergence, critic_output: Tensor) -> Tensor:
    """The fraction of outputs v whose g_f(v) is within :data:`SATURATION_TOLERANCE` of a finite end of the range
    of g_f, g_f(±∞): the sup of dom f* (gan, js, hellinger, neyman, reverse-kl, tv, alpha with α < 1) or tv's
    lower end -½ (0-d, on v's device; 0 where g_f is unbounded both ways, as for kl, pearson and jeffrey). The
    training step uses the same test as thresholds on v (:class:`SaturationTest`)."""
    return saturated_outputs(divergence, critic_output).to(critic_output.dtype).mean()


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
