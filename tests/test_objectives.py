"""The bound F and the two players' losses."""

from __future__ import annotations

import pytest
import torch

from fgan.divergences import EXAMPLE_DIVERGENCES, get_divergence
from fgan.objectives import critic_loss, generator_loss, variational_bound


@pytest.mark.parametrize("name", EXAMPLE_DIVERGENCES)
def test_bound_is_mean_activation_minus_mean_fused_conjugate(name: str) -> None:
    divergence = get_divergence(name)
    real, fake = torch.randn(64, dtype=torch.float64), torch.randn(32, dtype=torch.float64) + 0.5
    expected = divergence.activation(real).mean() - divergence.conjugate(divergence.activation(fake)).mean()
    torch.testing.assert_close(variational_bound(divergence, real, fake), expected)
    torch.testing.assert_close(critic_loss(divergence, real, fake), -expected)


@pytest.mark.parametrize("name", EXAMPLE_DIVERGENCES)
def test_minimax_generator_gradient_is_the_gradient_of_the_bound(name: str) -> None:
    divergence = get_divergence(name)
    theta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    real = torch.randn(50, dtype=torch.float64)
    fake = torch.randn(50, dtype=torch.float64) * 0.7 + theta  # critic outputs that depend on θ
    (grad_bound,) = torch.autograd.grad(variational_bound(divergence, real, fake), theta, retain_graph=True)
    (grad_loss,) = torch.autograd.grad(generator_loss(divergence, fake, "minimax"), theta)
    torch.testing.assert_close(grad_loss, grad_bound)


def test_alternative_objective_maximises_the_activation_on_fakes() -> None:
    divergence = get_divergence("gan")
    fake = torch.linspace(-3.0, 3.0, 13)
    torch.testing.assert_close(generator_loss(divergence, fake, "alternative"), -divergence.activation(fake).mean())
    assert not torch.allclose(generator_loss(divergence, fake, "alternative"), generator_loss(divergence, fake))


def test_unknown_generator_objective_is_rejected() -> None:
    with pytest.raises(ValueError, match="minimax, alternative"):
        generator_loss(get_divergence("kl"), torch.zeros(3), "heuristic")  # type: ignore[arg-type]


def test_a_divergence_name_is_accepted_as_the_trainer_accepts_it() -> None:
    real, fake = torch.randn(16), torch.randn(16)
    divergence = get_divergence("alpha:0.5")
    torch.testing.assert_close(variational_bound("alpha:0.5", real, fake), variational_bound(divergence, real, fake))
    torch.testing.assert_close(critic_loss("KL", real, fake), critic_loss(get_divergence("kl"), real, fake))
    for objective in ("minimax", "alternative"):
        torch.testing.assert_close(
            generator_loss("js", fake, objective), generator_loss(get_divergence("js"), fake, objective)
        )
    with pytest.raises(ValueError, match="unknown divergence 'kl2'"):
        variational_bound("kl2", real, fake)
