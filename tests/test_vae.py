"""fgan.vae: the ELBO's terms against independent computations, the decoder's shape, and a tiny fit that learns."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from fgan.image_models import MNISTGenerator
from fgan.images import ImageSampler
from fgan.vae import VAE, bernoulli_log_likelihood, elbo, gaussian_kl_to_standard, train_vae


def test_the_closed_form_kl_matches_a_monte_carlo_estimate() -> None:
    generator = torch.Generator().manual_seed(0)
    mean = torch.tensor([[0.5, -1.0, 0.2], [0.0, 0.0, 0.0]], dtype=torch.float64)
    log_variance = torch.tensor([[-0.4, 0.3, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    q = torch.distributions.Normal(mean, (0.5 * log_variance).exp())
    prior = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    draws = q.mean + q.stddev * torch.randn((400_000, *mean.shape), generator=generator, dtype=torch.float64)
    monte_carlo = (q.log_prob(draws) - prior.log_prob(draws)).sum(dim=-1).mean(dim=0)
    closed = gaussian_kl_to_standard(mean, log_variance)
    assert closed[1].item() == 0.0
    torch.testing.assert_close(closed, monte_carlo, atol=5e-3, rtol=0)


def test_the_bernoulli_log_likelihood_is_the_sum_of_log_probabilities() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.0], [-30.0, 30.0, 0.5]], dtype=torch.float64)
    targets = torch.tensor([[1.0, 0.0, 0.25], [0.0, 1.0, 1.0]], dtype=torch.float64)
    p = torch.sigmoid(logits)
    direct = (targets * p.log() + (1 - targets) * (1 - p).log()).sum(dim=1)
    torch.testing.assert_close(bernoulli_log_likelihood(logits, targets), direct)


def test_the_elbo_is_the_expected_log_likelihood_less_the_kl() -> None:
    torch.manual_seed(1)
    model = VAE((1, 4, 4), latent_dim=3, hidden=32).double().eval()
    images = torch.rand(5, 1, 4, 4, dtype=torch.float64)
    draws = 100_000
    with torch.no_grad():
        mean, log_variance = model.encode(images)
        posterior = torch.distributions.Normal(mean, (0.5 * log_variance).exp())  # log σ² as the encoder's output
        latent = posterior.sample((draws,)).reshape(-1, 3)
        probabilities = torch.sigmoid(model.decoder_logits(latent)).reshape(draws, 5, 16)
        targets = images.reshape(1, 5, 16)
        log_likelihood = (targets * probabilities.log() + (1 - targets) * (1 - probabilities).log()).sum(dim=-1)
        prior = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
        kl = torch.distributions.kl_divergence(posterior, prior).sum(dim=1)
        expected = log_likelihood.mean(dim=0) - kl
        estimates = elbo(model, images.repeat(draws, 1, 1, 1)).reshape(draws, 5).mean(dim=0)
    torch.testing.assert_close(estimates, expected, atol=0.1, rtol=0)


def test_the_decoder_has_the_generators_shape_and_samples_are_images() -> None:
    model = VAE()
    generator = MNISTGenerator(latent_dim=20)
    shapes = [tuple(layer.weight.shape) for layer in model.decoder.net if isinstance(layer, nn.Linear | nn.BatchNorm1d)]
    expected = [tuple(layer.weight.shape) for layer in generator.net if isinstance(layer, nn.Linear | nn.BatchNorm1d)]
    assert shapes == expected == [(1200, 20), (1200,), (1200, 1200), (1200,), (784, 1200)]
    images = model.train().sample(6)
    assert images.shape == (6, 1, 28, 28) and 0.0 <= images.min() and images.max() <= 1.0
    assert model.training  # the mode is restored


def test_a_tiny_vae_learns_tiny_data() -> None:
    torch.manual_seed(3)
    patterns = torch.zeros(2, 1, 4, 4, dtype=torch.uint8)
    patterns[0, 0, :2] = 255
    patterns[1, 0, 2:] = 255
    data = ImageSampler(patterns.repeat(32, 1, 1, 1))
    torch.manual_seed(4)
    start = VAE((1, 4, 4), hidden=32)
    with torch.no_grad():
        before = elbo(start.eval(), data.sample(64)).mean().item()
    fit = train_vae(copy.deepcopy(start), data, steps=300, batch_size=32, lr=3e-3)
    assert fit.steps == 300 and math.isfinite(fit.final_elbo)
    with torch.no_grad():
        after = elbo(fit.model, data.sample(64)).mean().item()
    assert after > before + 5.0  # nats per image; an untrained decoder is about 16 log 2 = 11.1 nats from 0


def test_the_time_limit_ends_training() -> None:
    data = ImageSampler(torch.zeros(8, 1, 4, 4, dtype=torch.uint8))
    assert train_vae(VAE((1, 4, 4), hidden=8), data, steps=10, batch_size=4, time_limit=0.0).steps == 0
    assert train_vae(VAE((1, 4, 4), hidden=8), data, steps=3, batch_size=4, time_limit=60.0).steps == 3
