r"""The critic's objective as a list of terms, and when one backward pass serves both players.

The critic minimises L_c = Σ_k T_k(v^P, v^Q), a sum of terms of its outputs v^P_i = V_ω(x_i) on real samples and
v^Q_j = V_ω(x̃_j) on generated ones, x̃_j = G_θ(z_j):

* :class:`NegatedBound`: -F = -(E_P[g_f(v)] - E_Q[f*(g_f(v))]), always the first term;
* :class:`OutputPenalty`: λ/2 (E_P[v²] + E_Q[v²]), with λ > 0.

The generator minimises L_g(v^Q) (``minimax``: -E_Q[f*(g_f(v))]; ``alternative``: -E_Q[g_f(v)], see
:mod:`fgan.objectives`). Algorithm 1 needs ∇_ω L_c and ∇_θ L_g = Σ_j (∂x̃_j/∂θ)ᵀ ∂L_g/∂x̃_j at the same (θ, ω). One
backward pass of L_c gives ∇_ω L_c and, at each generated sample, the cotangent ∂L_c/∂x̃_j; the generator's gradient
follows from the same pass when the cotangent arriving at x̃_j can be turned into ∂L_g/∂x̃_j on its way into G_θ:

* **reversal**: if T_k is the only term that depends on the generated samples and L_g = -T_k + c with c
  independent of them, then ∂L_g/∂x̃_j = -∂T_k/∂x̃_j = -∂L_c/∂x̃_j: negate the gradient at x̃. Exact for any critic.
* **rescaling**: if the critic treats samples independently (v^Q_j depends on x̃_j alone) and every term depends
  on x̃ only through the outputs v^Q, the chain rule gives ∂L/∂x̃_j = (∂L/∂v^Q_j) ∇_x V_ω(x̃_j) for L = L_c and
  L = L_g alike, so ∂L_g/∂x̃_j = r_j ∂L_c/∂x̃_j with r_j = (∂L_g/∂v^Q_j) / (∂L_c/∂v^Q_j): scale the gradient at x̃_j
  by r_j (:func:`cotangent_ratio`; where ∂L_c/∂v^Q_j underflows, the step takes a second pass after all).
* otherwise (a critic that couples the samples of a batch, such as batch norm, or a term that depends on x̃ other
  than through v^Q, such as a gradient penalty), the generator's gradient takes a second backward pass of L_g.

Each term declares what this depends on (:class:`ObjectiveTerm`), and :func:`generator_gradient_route` alone
derives the route from the declarations, so that a new term only declares its own properties.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from fgan.divergences import Divergence
from fgan.objectives import variational_bound

#: How a term depends on the generated samples x̃: not at all; only through the critic's outputs V(x̃_j), one per
#: sample; or otherwise (through ∇_x V, say).
GeneratedDependence = Literal["none", "outputs", "other"]
RouteKind = Literal["reversal", "rescaling", "second pass"]


class ObjectiveTerm(ABC):
    """One additive term T(v^P, v^Q) of the critic's loss, with the properties the one-pass step depends on."""

    #: What run.log and error messages call it.
    name: ClassVar[str]
    #: How it depends on the generated samples (see :data:`GeneratedDependence`).
    generated: ClassVar[GeneratedDependence]
    #: The generator objectives whose loss L_g is -T plus terms independent of the generated samples.
    negated_by: ClassVar[frozenset[str]]

    @abstractmethod
    def __call__(self, critic_real: Tensor, critic_fake: Tensor) -> Tensor:
        """The term's value from the critic's outputs on the real and the generated batch."""


class NegatedBound(ObjectiveTerm):
    """-F = -(mean g_f(v^P) - mean f*(g_f(v^Q))): the critic ascends the variational bound."""

    name = "variational bound"
    generated = "outputs"
    negated_by = frozenset({"minimax"})  # minimax L_g = -mean f*(g_f(v^Q)), the part of F on the generated samples

    def __init__(self, divergence: Divergence) -> None:
        self.divergence = divergence

    def __call__(self, critic_real: Tensor, critic_fake: Tensor) -> Tensor:
        return -variational_bound(self.divergence, critic_real, critic_fake)


class OutputPenalty(ObjectiveTerm):
    """λ/2 (mean (v^P)² + mean (v^Q)²): keeps the raw critic output finite where g_f saturates."""

    name = "output penalty"
    generated = "outputs"
    negated_by = frozenset()

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, critic_real: Tensor, critic_fake: Tensor) -> Tensor:
        return 0.5 * self.weight * (critic_real.square().mean() + critic_fake.square().mean())


class CriticObjective:
    """The critic's loss L_c = -F + (the terms whose weight is > 0), and the bound F.

    Args:
        divergence: the f-divergence of the bound.
        output_penalty: the weight λ of :class:`OutputPenalty` (0: no penalty).
    """

    def __init__(self, divergence: Divergence, *, output_penalty: float = 0.0) -> None:
        self.divergence = divergence
        self.terms: tuple[ObjectiveTerm, ...] = (
            NegatedBound(divergence),
            *([OutputPenalty(output_penalty)] if output_penalty else []),
        )

    def __call__(self, critic_real: Tensor, critic_fake: Tensor) -> tuple[Tensor, Tensor]:
        """(F, L_c) from the critic's outputs on the real and the generated batch."""
        values = [term(critic_real, critic_fake) for term in self.terms]
        loss = values[0]
        for value in values[1:]:
            loss = loss + value
        return -values[0], loss


@dataclass(frozen=True)
class GradientRoute:
    """How a single step takes the generator's gradient (see the module's docstring), and why."""

    kind: RouteKind
    reason: str


def generator_gradient_route(
    objective: CriticObjective, generator_objective: str, couples_samples: bool
) -> GradientRoute:
    """The route of the generator's gradient for ``objective`` and ``generator_objective`` (``minimax`` or
    ``alternative``) with a critic that does or does not couple the samples of a batch, from the terms'
    declarations alone."""
    on_generated = [term for term in objective.terms if term.generated != "none"]
    names = ", ".join(term.name for term in on_generated)
    if len(on_generated) == 1 and generator_objective in on_generated[0].negated_by:
        return GradientRoute(
            "reversal",
            f"the {generator_objective} loss is minus the {names}, the only critic term on the generated samples: "
            "the generator's gradient is the critic's, reversed at the generated samples",
        )
    beyond_outputs = [term.name for term in on_generated if term.generated == "other"]
    if beyond_outputs:
        return GradientRoute(
            "second pass", f"the {', '.join(beyond_outputs)} depends on the generated samples beyond the critic outputs"
        )
    if couples_samples:
        return GradientRoute(
            "second pass",
            f"the {generator_objective} objective with the critic terms {names} needs a per-sample rescaling that "
            "coupling does not allow",
        )
    return GradientRoute(
        "rescaling",
        f"the critic terms {names} depend on the generated samples only through the critic outputs: the gradient "
        "flowing into each generated sample is rescaled to the generator's objective",
    )


def cotangent_ratio(critic_fake: Tensor, loss_critic: Tensor, loss_generator: Tensor) -> tuple[Tensor, Tensor]:
    """Per generated sample, r_j = (∂L_g/∂v^Q_j) / (∂L_c/∂v^Q_j), and whether every r_j can be trusted.

    r_j is trusted where |∂L_c/∂v^Q_j| is at least the square root of the smallest normal float (so the critic's
    backward pass has not lost it to underflow) or where ∂L_g/∂v^Q_j is 0; elsewhere it is set to 0.
    """
    critic_cotangent, generator_cotangent = (
        torch.autograd.grad(loss, critic_fake, retain_graph=True)[0].reshape(-1)
        for loss in (loss_critic, loss_generator)
    )
    usable = critic_cotangent.abs() >= math.sqrt(torch.finfo(critic_cotangent.dtype).tiny)
    ratio = torch.where(usable, generator_cotangent / torch.where(usable, critic_cotangent, 1.0), 0.0)
    trusted = ((usable | (generator_cotangent == 0)) & torch.isfinite(ratio)).all()
    return ratio, trusted


def critic_couples_samples(critic: nn.Module) -> bool:
    """Whether the critic's output for one sample depends on the other samples of its batch: it has batch norm,
    or a submodule with a true ``couples_samples`` attribute (set it on a custom layer that mixes samples, such as
    minibatch discrimination, so that the trainer does not rescale gradients per sample)."""
    batch_norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
    return any(
        isinstance(module, batch_norms) or getattr(module, "couples_samples", False) for module in critic.modules()
    )
