r"""The f-GAN saddle-point objective and the losses of its two players.

With critic outputs ``v = V_ω(x)`` on real samples (x ~ P) and generated samples (x ~ Q_θ):

    F(θ, ω) = E_P[g_f(V_ω(x))] - E_{Q_θ}[f*(g_f(V_ω(x)))]

The critic maximises F (its loss is -F). The generator minimises F (``minimax``, Algorithm 1 of the paper), or,
with the ``alternative`` objective of the paper's Section 3.2 (the analogue of the -log D trick), maximises
E_{Q_θ}[g_f(V_ω(x))].
"""

from __future__ import annotations

from typing import Literal, get_args

from torch import Tensor

from fgan.divergences import Divergence, get_divergence
from fgan.errors import UsageError

GeneratorObjective = Literal["minimax", "alternative"]
GENERATOR_OBJECTIVES: tuple[GeneratorObjective, ...] = get_args(GeneratorObjective)


def variational_bound(divergence: Divergence | str, critic_real: Tensor, critic_fake: Tensor) -> Tensor:
    """``F = mean g_f(v_real) - mean f*(g_f(v_fake))``: the variational lower bound on D_f(P||Q).

    Args:
        divergence: the f-divergence, or its name (see :func:`~fgan.divergences.get_divergence`).
        critic_real: raw critic outputs V(x) on samples from P, any shape.
        critic_fake: raw critic outputs V(x) on samples from Q, any shape.
    """
    divergence = get_divergence(divergence)
    return divergence.activation(critic_real).mean() - divergence.conjugate_of_activation(critic_fake).mean()


def critic_loss(divergence: Divergence | str, critic_real: Tensor, critic_fake: Tensor) -> Tensor:
    """``-F``: the critic ascends the bound (``divergence`` an object or its name)."""
    return -variational_bound(divergence, critic_real, critic_fake)


def generator_loss(
    divergence: Divergence | str, critic_fake: Tensor, objective: GeneratorObjective = "minimax"
) -> Tensor:
    """The generator's loss from the critic outputs on generated samples (``divergence`` an object or its name).

    * ``minimax``: ``-mean f*(g_f(v_fake))``, the part of F that depends on θ (so its gradient is ∇_θ F).
    * ``alternative``: ``-mean g_f(v_fake)`` (maximise E_Q[g_f(V(x))]).
    """
    divergence = get_divergence(divergence)
    if objective == "minimax":
        return -divergence.conjugate_of_activation(critic_fake).mean()
    if objective == "alternative":
        return -divergence.activation(critic_fake).mean()
    raise UsageError(f"unknown generator objective {objective!r}; valid: {', '.join(GENERATOR_OBJECTIVES)}")
