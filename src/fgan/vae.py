r"""A variational autoencoder (Kingma and Welling 2014): the VAE reference row of the paper's Table 4.

Encoder ``q_φ(z|x) = N(μ_φ(x), diag σ_φ(x)²)``, an MLP on the flattened image; prior ``p(z) = N(0, I)`` of
:data:`LATENT_DIM` dimensions; decoder ``p_θ(x|z) = Π_j Bernoulli(x_j; π_θ(z)_j)`` with the generator's shape
(:class:`fgan.image_models.MNISTGenerator`: two linear layers of 1,200 units with batch norm and ReLU, a sigmoid
output π). Pixels in [0, 1] are the Bernoulli targets. Training maximises the evidence lower bound

    ELBO(x) = E_{q(z|x)}[log p_θ(x|z)] - KL(q_φ(z|x) ‖ p(z)),
    log p_θ(x|z) = Σ_j x_j log π_j + (1 - x_j) log(1 - π_j),
    KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_i (μ_i² + σ_i² - 1 - log σ_i²),

with one reparametrised sample ``z = μ + σ ε``, ``ε ~ N(0, I)``. Its samples for scoring are the decoder's means
``π_θ(z)`` for ``z ~ p(z)`` (grey-level images, as the generators' are).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fgan.data import Sampler
from fgan.image_models import MNISTGenerator

#: Dimensions of z (the paper's VAE reference).
LATENT_DIM = 20
#: Units of the hidden layers, the encoder's and the decoder's (the paper's MNIST generator has 1,200).
HIDDEN = 1200


class VAE(nn.Module):
    """Encoder MLP ``x -> (μ, log σ²)`` (two ReLU layers of ``hidden`` units) and the generator-shaped decoder
    ``z -> logits of π`` (:class:`~fgan.image_models.MNISTGenerator` with ``hidden`` units, its sigmoid left off)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = LATENT_DIM,
        hidden: int = HIDDEN,
    ) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        pixels = math.prod(self.image_shape)
        self.encoder = nn.Sequential(
            nn.Flatten(), nn.Linear(pixels, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.posterior = nn.Linear(hidden, 2 * latent_dim)
        self.decoder = MNISTGenerator(latent_dim, hidden, self.image_shape)

    def encode(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """``μ_φ(x)`` and ``log σ_φ(x)²``, each of shape ``(n, latent_dim)``."""
        mean, log_variance = self.posterior(self.encoder(images)).chunk(2, dim=1)
        return mean, log_variance

    def decoder_logits(self, latent: Tensor) -> Tensor:
        """``logit π_θ(z)``, flattened: shape ``(n, pixels)``."""
        logits: Tensor = self.decoder.net(latent)
        return logits

    def sample(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        """``n`` images ``π_θ(z)``, ``z ~ N(0, I)``, shape ``(n, *image_shape)``, in eval mode and without grad."""
        was_training = self.training
        self.eval()
        with torch.no_grad():
            latent = torch.randn(n, self.latent_dim, device=device)
            images = torch.sigmoid(self.decoder_logits(latent)).view(n, *self.image_shape)
        self.train(was_training)
        return images


def gaussian_kl_to_standard(mean: Tensor, log_variance: Tensor) -> Tensor:
    """``KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_i (μ_i² + σ_i² - 1 - log σ_i²)``, one value per row."""
    return 0.5 * (mean.square() + log_variance.exp() - 1.0 - log_variance).sum(dim=1)


def bernoulli_log_likelihood(logits: Tensor, targets: Tensor) -> Tensor:
    """``Σ_j x_j log π_j + (1 - x_j) log(1 - π_j)`` with ``π = sigmoid(logits)``, one value per row."""
    return -F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(dim=1)


def elbo(model: VAE, images: Tensor) -> Tensor:
    """A one-sample reparametrised estimate of ``ELBO(x)`` for each image (see the module), shape ``(n,)``."""
    mean, log_variance = model.encode(images)
    latent = mean + torch.randn_like(mean) * (0.5 * log_variance).exp()
    targets = images.reshape(len(images), -1)
    return bernoulli_log_likelihood(model.decoder_logits(latent), targets) - gaussian_kl_to_standard(mean, log_variance)


@dataclass
class VAEFit:
    """A trained VAE, its steps, its training seconds and the mean ELBO (nats) of its last minibatch."""

    model: VAE
    steps: int
    seconds: float
    final_elbo: float


def train_vae(
    model: VAE,
    data: Sampler,
    steps: int,
    batch_size: int,
    lr: float = 1e-3,
    time_limit: float | None = None,
    device: str = "cpu",
) -> VAEFit:
    """Train ``model`` on minibatches of ``data`` by Adam on ``-mean ELBO`` for ``steps`` steps or until
    ``time_limit`` seconds have passed, whichever comes first (seed before calling, for a reproducible fit)."""
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    deadline = math.inf if time_limit is None else time.monotonic() + time_limit
    start, step, value = time.perf_counter(), 0, math.nan
    while step < steps and time.monotonic() < deadline:
        loss = -elbo(model, data.sample(batch_size, device)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step, value = step + 1, -loss.item()
    return VAEFit(model.eval(), step, time.perf_counter() - start, value)
