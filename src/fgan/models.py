"""Generators and critics for low-dimensional data.

A generator is any ``nn.Module`` mapping latent codes ``z`` of shape ``(n, latent_dim)`` to samples; it has an
integer attribute ``latent_dim`` and may define ``sample_latent(n, device)`` (standard normal otherwise). A critic
is any ``nn.Module`` mapping samples to one raw, unconstrained output per sample (shape ``(n,)`` or ``(n, 1)``);
the divergence's output activation g_f is applied by the objective, not by the critic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import cast

import torch
from torch import Tensor, nn

from fgan.errors import UsageError
from fgan.memory import check_fits

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "leaky-relu": lambda: nn.LeakyReLU(0.2),
}
#: The hidden-layer activations of :func:`mlp`.
ACTIVATIONS = tuple(_ACTIVATIONS)


def sample_latent(generator: nn.Module, n: int, device: torch.device | str) -> Tensor:
    """Latent codes for ``generator``: its own ``sample_latent`` if it has one, else N(0, I)."""
    own_sampler = getattr(generator, "sample_latent", None)
    if own_sampler is not None:
        return own_sampler(n, device)
    return torch.randn(n, cast(int, generator.latent_dim), device=device)


def mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last)."""
    if activation not in _ACTIVATIONS:
        raise UsageError(f"unknown activation {activation!r}; valid: {', '.join(_ACTIVATIONS)}")
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        if index < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


#: Float32 copies of each weight while training: the weight, its gradient and Adam's two moments.
TRAINING_COPIES = 4


def check_mlp_size(fan_in: int, hidden: int, depth: int, fan_out: int, what: str) -> None:
    """Refuse (UsageError, one line) an MLP ``fan_in → hidden (depth times) → fan_out`` whose training state
    (:data:`TRAINING_COPIES` float32 copies of its ``fan_in·h + h + (depth - 1)(h² + h) + h·fan_out + fan_out``
    weights) cannot fit in memory, before any layer is allocated."""
    weights = fan_in * hidden + hidden + (depth - 1) * (hidden * hidden + hidden) + hidden * fan_out + fan_out
    check_fits(
        TRAINING_COPIES * 4 * weights, f"{what} ({fan_in} → {hidden} x {depth} → {fan_out}: {weights:,} weights)"
    )


class LocationScaleGenerator(nn.Module):
    """``x = μ + σ z`` with ``z ~ N(0, I)``: the model Q_θ of the paper's Section 4.1, θ = (μ, log σ)."""

    def __init__(self, dim: int = 1, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        self.latent_dim = dim
        self.mu = nn.Parameter(torch.full((dim,), float(mean)))
        self.log_sigma = nn.Parameter(torch.full((dim,), math.log(std)))

    @property
    def sigma(self) -> Tensor:
        return torch.exp(self.log_sigma)

    def forward(self, z: Tensor) -> Tensor:
        return self.mu + self.sigma * z


class MLPGenerator(nn.Module):
    """An MLP from ``latent_dim`` normal noise to ``data_dim`` outputs (``depth`` hidden layers, ReLU)."""

    def __init__(self, data_dim: int, latent_dim: int = 8, hidden: int = 128, depth: int = 2) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        check_mlp_size(latent_dim, hidden, depth, data_dim, "the generator")
        self.net = mlp([latent_dim, *[hidden] * depth, data_dim], "relu")

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class MLPCritic(nn.Module):
    """An MLP with one linear scalar output V(x) (the paper's Section 4.1 critic: 2 hidden layers of 64, tanh)."""

    def __init__(self, data_dim: int, hidden: int = 64, depth: int = 2, activation: str = "tanh") -> None:
        super().__init__()
        check_mlp_size(data_dim, hidden, depth, 1, "the critic")
        self.net = mlp([data_dim, *[hidden] * depth, 1], activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)


GENERATORS = ("mlp", "location-scale")


def build_generator(name: str, data_dim: int, latent_dim: int = 8, hidden: int = 128, depth: int = 2) -> nn.Module:
    """A generator by name: ``mlp`` or ``location-scale`` (μ + σ z)."""
    if name == "mlp":
        return MLPGenerator(data_dim, latent_dim=latent_dim, hidden=hidden, depth=depth)
    if name == "location-scale":
        return LocationScaleGenerator(data_dim)
    raise UsageError(f"unknown generator {name!r}; valid: {', '.join(GENERATORS)}")
