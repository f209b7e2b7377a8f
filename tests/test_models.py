"""Tests of fgan.models: generators, critics, the MLP builder and latent sampling."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn
from torch.testing import assert_close

from fgan.errors import UsageError
from fgan.models import (
    GENERATORS,
    LocationScaleGenerator,
    MLPCritic,
    MLPGenerator,
    build_generator,
    mlp,
    sample_latent,
)

# --- LocationScaleGenerator ------------------------------------------------------------------------------------


def test_location_scale_initial_parameters() -> None:
    generator = LocationScaleGenerator(dim=3, mean=1.5, std=0.4)
    assert generator.latent_dim == 3
    assert_close(generator.mu.detach(), torch.full((3,), 1.5))
    assert_close(generator.log_sigma.detach(), torch.full((3,), math.log(0.4)))
    assert_close(generator.sigma.detach(), torch.full((3,), 0.4))
    assert {name for name, _ in generator.named_parameters()} == {"mu", "log_sigma"}


def test_location_scale_sigma_is_exp_log_sigma() -> None:
    generator = LocationScaleGenerator(dim=2)
    with torch.no_grad():
        generator.log_sigma.copy_(torch.tensor([-0.7, 1.3]))
    assert torch.equal(generator.sigma, torch.exp(generator.log_sigma))


def test_location_scale_forward_is_exact_affine_map() -> None:
    torch.manual_seed(0)
    generator = LocationScaleGenerator(dim=2, mean=-0.5, std=2.0)
    with torch.no_grad():
        generator.mu.copy_(torch.tensor([0.25, -3.0]))
        generator.log_sigma.copy_(torch.tensor([0.1, -1.2]))
    z = torch.randn(64, 2)
    x = generator(z)
    assert x.shape == (64, 2)
    assert torch.equal(x, generator.mu + torch.exp(generator.log_sigma) * z)


def test_location_scale_gradients_reach_both_parameters() -> None:
    generator = LocationScaleGenerator(dim=1, mean=0.0, std=1.0)
    z = torch.tensor([[1.0], [2.0]])
    generator(z).sum().backward()
    assert_close(generator.mu.grad, torch.tensor([2.0]))
    # d/d(log σ) of σ z summed = σ Σz = 1 * 3
    assert_close(generator.log_sigma.grad, torch.tensor([3.0]))


# --- MLPs ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data_dim", "latent_dim"), [(1, 4), (2, 8), (5, 3)])
def test_mlp_generator_output_shape(data_dim: int, latent_dim: int) -> None:
    generator = MLPGenerator(data_dim, latent_dim=latent_dim, hidden=16, depth=2)
    assert generator.latent_dim == latent_dim
    assert generator(torch.randn(7, latent_dim)).shape == (7, data_dim)


@pytest.mark.parametrize("data_dim", [1, 2, 6])
def test_mlp_critic_output_shape(data_dim: int) -> None:
    critic = MLPCritic(data_dim, hidden=16, depth=2)
    out = critic(torch.randn(9, data_dim))
    assert out.shape == (9,)


def test_mlp_critic_single_sample_shape() -> None:
    critic = MLPCritic(2, hidden=8, depth=1)
    assert critic(torch.randn(1, 2)).shape == (1,)


def test_mlp_layer_structure() -> None:
    net = mlp([2, 64, 32, 1], "tanh")
    kinds = [type(layer) for layer in net]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    linears = [layer for layer in net if isinstance(layer, nn.Linear)]
    assert [(layer.in_features, layer.out_features) for layer in linears] == [(2, 64), (64, 32), (32, 1)]


def test_mlp_single_layer_has_no_activation() -> None:
    net = mlp([3, 4], "relu")
    assert len(net) == 1
    assert isinstance(net[0], nn.Linear)


@pytest.mark.parametrize(
    ("activation", "kind"),
    [("tanh", nn.Tanh), ("relu", nn.ReLU), ("elu", nn.ELU), ("leaky-relu", nn.LeakyReLU)],
)
def test_mlp_activations(activation: str, kind: type[nn.Module]) -> None:
    net = mlp([2, 5, 1], activation)
    assert isinstance(net[1], kind)


def test_mlp_leaky_relu_slope() -> None:
    net = mlp([2, 5, 1], "leaky-relu")
    assert net[1].negative_slope == pytest.approx(0.2)


def test_mlp_generator_and_critic_use_documented_activations() -> None:
    assert any(isinstance(layer, nn.ReLU) for layer in MLPGenerator(2).net)
    assert any(isinstance(layer, nn.Tanh) for layer in MLPCritic(2).net)
    critic = MLPCritic(1)
    hidden = [layer.out_features for layer in critic.net if isinstance(layer, nn.Linear)]
    assert hidden == [64, 64, 1]


@pytest.mark.parametrize("activation", ["sigmoid", "Tanh", ""])
def test_mlp_unknown_activation_raises_usage_error(activation: str) -> None:
    with pytest.raises(UsageError, match="activation"):
        mlp([2, 3, 1], activation)


def test_mlp_critic_unknown_activation_raises_usage_error() -> None:
    with pytest.raises(UsageError):
        MLPCritic(2, activation="swish")


# --- build_generator -------------------------------------------------------------------------------------------


def test_build_generator_mlp() -> None:
    generator = build_generator("mlp", data_dim=3, latent_dim=5, hidden=16, depth=1)
    assert isinstance(generator, MLPGenerator)
    assert generator.latent_dim == 5
    linears = [layer for layer in generator.net if isinstance(layer, nn.Linear)]
    assert [(layer.in_features, layer.out_features) for layer in linears] == [(5, 16), (16, 3)]


def test_build_generator_location_scale() -> None:
    generator = build_generator("location-scale", data_dim=2)
    assert isinstance(generator, LocationScaleGenerator)
    assert generator.latent_dim == 2
    assert generator(torch.zeros(4, 2)).shape == (4, 2)


def test_every_listed_generator_builds() -> None:
    for name in GENERATORS:
        generator = build_generator(name, data_dim=2)
        z = sample_latent(generator, 3, "cpu")
        assert generator(z).shape == (3, 2)


@pytest.mark.parametrize("name", ["gaussian", "MLP", ""])
def test_build_generator_unknown_name_raises_usage_error(name: str) -> None:
    with pytest.raises(UsageError, match="generator"):
        build_generator(name, data_dim=2)


# --- sample_latent ---------------------------------------------------------------------------------------------


class _OwnLatent(nn.Module):
    latent_dim = 3

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, str]] = []

    def sample_latent(self, n: int, device: torch.device | str) -> Tensor:
        self.calls.append((n, str(device)))
        return torch.full((n, 2), 7.0)

    def forward(self, z: Tensor) -> Tensor:
        return z


def test_sample_latent_uses_module_method() -> None:
    generator = _OwnLatent()
    z = sample_latent(generator, 4, "cpu")
    assert generator.calls == [(4, "cpu")]
    assert torch.equal(z, torch.full((4, 2), 7.0))


def test_sample_latent_defaults_to_standard_normal() -> None:
    generator = MLPGenerator(2, latent_dim=6, hidden=8)
    torch.manual_seed(5)
    z = sample_latent(generator, 10, "cpu")
    torch.manual_seed(5)
    assert torch.equal(z, torch.randn(10, 6))
    assert z.device == torch.device("cpu")


def test_sample_latent_default_is_n01_in_distribution() -> None:
    torch.manual_seed(6)
    z = sample_latent(LocationScaleGenerator(dim=3), 50_000, "cpu")
    assert z.shape == (50_000, 3)
    assert_close(z.mean(0), torch.zeros(3), atol=0.03, rtol=0.0)
    assert_close(z.std(0), torch.ones(3), atol=0.03, rtol=0.0)
    correlation = torch.corrcoef(z.T)
    assert_close(correlation, torch.eye(3), atol=0.03, rtol=0.0)
