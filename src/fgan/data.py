"""Synthetic data: Gaussian mixtures in 1-D (``w:mean:std,...``) and 2-D (``ring``, ``grid``), and a sampler
for any tensor of samples.

A *sampler* is anything with ``sample(n, device) -> Tensor`` of shape ``(n, dim)`` and an integer ``dim``; the
trainer draws its minibatches of real data from one. Sampling uses torch's global random generator, so
``torch.manual_seed`` makes it reproducible.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from fgan.errors import UsageError

#: The paper's Section 4.1 mixture: 0.33 N(-1, 0.25²) + 0.67 N(2, 2) (the 2 is a variance).
PAPER_MIXTURE = f"0.33:-1:0.25,0.67:2:{math.sqrt(2.0)!r}"
MIXTURE_FORMAT = "mixture:w:mean:std,w:mean:std,... (weights > 0, std > 0)"


@runtime_checkable
class Sampler(Protocol):
    """What the trainer needs from its data: the sample dimension and minibatches on a device."""

    dim: int

    def sample(self, n: int, device: torch.device | str = "cpu") -> Tensor: ...


class GaussianMixture:
    """``sum_k w_k N(mean_k, std_k² I)`` in ``dim`` dimensions (isotropic components).

    Args:
        weights: mixture weights, positive; normalised to sum to 1.
        means: component means, shape ``(k, dim)`` (or ``(k,)`` for 1-D).
        stds: component standard deviations, shape ``(k,)``, positive.
    """

    def __init__(
        self, weights: Tensor | list[float], means: Tensor | list[float] | list[list[float]], stds: Tensor | list[float]
    ) -> None:
        weights = torch.as_tensor(weights, dtype=torch.float64)
        means = torch.as_tensor(means, dtype=torch.float64)
        stds = torch.as_tensor(stds, dtype=torch.float64)
        if means.ndim == 1:
            means = means[:, None]
        if not (weights.ndim == 1 and len(weights) == len(means) == len(stds) and len(weights) > 0):
            raise UsageError("a mixture needs as many weights, means and stds, at least one of each")
        if not (torch.isfinite(weights).all() and torch.isfinite(means).all() and torch.isfinite(stds).all()):
            raise UsageError("mixture weights, means and stds must be finite")
        if (weights <= 0).any() or (stds <= 0).any():
            raise UsageError("mixture weights and stds must be positive")
        weights = weights / weights.max()  # no overflow in the sum, even for weights near the largest float
        self.weights = weights / weights.sum()
        self.means = means
        self.stds = stds
        self.dim = means.shape[1]
        self._on_device: dict[tuple[torch.device, torch.dtype], tuple[Tensor, Tensor, Tensor]] = {}

    def __repr__(self) -> str:
        return f"GaussianMixture(k={len(self.weights)}, dim={self.dim})"

    def _parameters(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        key = (device, dtype)
        if key not in self._on_device:
            weights, means, stds = (t.to(device=device, dtype=dtype) for t in (self.weights, self.means, self.stds))
            self._on_device[key] = (weights, means, stds)
        return self._on_device[key]

    def sample(self, n: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Tensor:
        """``n`` samples, shape ``(n, dim)``."""
        weights, means, stds = self._parameters(torch.device(device), dtype)
        component = torch.multinomial(weights, n, replacement=True)
        noise = torch.randn(n, self.dim, device=device, dtype=dtype)
        return means[component] + stds[component, None] * noise

    def log_prob(self, x: Tensor) -> Tensor:
        """Log-density at ``x`` of shape ``(n, dim)`` (or ``(n,)`` in 1-D), computed in x's dtype."""
        weights, means, stds = self._parameters(x.device, x.dtype)
        points = x[:, None] if x.ndim == 1 else x
        sq_dist = ((points[:, None, :] - means[None]) ** 2).sum(-1)
        log_norm = -self.dim * (torch.log(stds) + 0.5 * math.log(2.0 * math.pi))
        return torch.logsumexp(torch.log(weights) + log_norm - 0.5 * sq_dist / stds**2, dim=1)

    def mean(self) -> Tensor:
        """The mixture mean, shape ``(dim,)``."""
        return (self.weights[:, None] * self.means).sum(0)

    def std(self) -> Tensor:
        """The per-coordinate standard deviation, shape ``(dim,)``."""
        second = (self.weights[:, None] * (self.means**2 + self.stds[:, None] ** 2)).sum(0)
        return torch.sqrt(second - self.mean() ** 2)


def parse_mixture(spec: str) -> GaussianMixture:
    """A 1-D mixture from ``"w:mean:std,w:mean:std,..."``, e.g. the paper's ``"0.33:-1:0.25,0.67:2:1.414"``.

    Raises:
        UsageError: for a malformed spec, naming the part at fault.
    """
    components = []
    for part in spec.split(","):
        fields = part.strip().split(":")
        try:
            if len(fields) != 3:
                raise ValueError
            weight, mean, std = (float(field) for field in fields)
        except ValueError:
            raise UsageError(f"malformed mixture component {part.strip()!r}; expected {MIXTURE_FORMAT}") from None
        components.append((weight, mean, std))
    weights, means, stds = zip(*components, strict=True)
    try:
        return GaussianMixture(list(weights), list(means), list(stds))
    except UsageError as err:
        raise UsageError(f"malformed mixture {spec!r}: {err}") from None


def ring(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    """``modes`` equal Gaussians evenly spaced on a circle (8 by default, as in the unrolled-GAN benchmark)."""
    angles = torch.arange(modes, dtype=torch.float64) * (2.0 * math.pi / modes)
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(torch.ones(modes), means, torch.full((modes,), std))


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """``side²`` equal Gaussians on a square grid centred at 0 (25 by default)."""
    axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2.0) * spacing
    means = torch.cartesian_prod(axis, axis)
    return GaussianMixture(torch.ones(side * side), means, torch.full((side * side,), std))


class TensorSampler:
    """Minibatches drawn uniformly with replacement from the rows of a tensor, kept on the training device."""

    def __init__(self, samples: Tensor) -> None:
        if samples.ndim != 2 or len(samples) == 0:
            raise UsageError(f"samples must have shape (n, dim) with n > 0, got {tuple(samples.shape)}")
        self.samples = samples
        self.dim = samples.shape[1]

    def sample(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        if self.samples.device != torch.device(device):
            self.samples = self.samples.to(device)
        index = torch.randint(len(self.samples), (n,), device=self.samples.device)
        return self.samples[index]

    def __len__(self) -> int:
        """The number of rows drawn from."""
        return len(self.samples)
