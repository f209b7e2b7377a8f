"""Tests of fgan.quadrature: exact f-divergences by quadrature against closed forms, and best Gaussian fits."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.stats import norm
from torch.testing import assert_close

from fgan.data import PAPER_MIXTURE, parse_mixture
from fgan.divergences import EXAMPLE_DIVERGENCES, get_divergence
from fgan.quadrature import (
    DEFAULT_GRID,
    best_gaussian_fit,
    f_divergence_1d,
    f_divergence_integrand,
    gaussian_log_density,
    make_grid,
)

#: (m1, s1, m2, s2) pairs of Gaussians P = N(m1, s1²), Q = N(m2, s2²).
GAUSSIAN_PAIRS = [(0.3, 1.2, -0.5, 0.8), (1.0, 0.5, 2.0, 1.5), (0.0, 1.0, 0.0, 2.0)]
#: (m1, m2, s) for equal-variance pairs.
EQUAL_VARIANCE_PAIRS = [(0.0, 1.0, 1.0), (-0.4, 1.1, 0.7), (2.0, 1.5, 2.5)]
#: A coarser grid that keeps Nelder-Mead fits fast; trapezoid on smooth Gaussians is still very accurate.
FIT_GRID = (-15.0, 20.0, 20_001)


def _grid() -> torch.Tensor:
    return make_grid(*DEFAULT_GRID)


def _divergence(name: str, m1: float, s1: float, m2: float, s2: float) -> float:
    return f_divergence_1d(get_divergence(name), gaussian_log_density(m1, s1), gaussian_log_density(m2, s2), _grid())


def _kl_gaussians(m1: float, s1: float, m2: float, s2: float) -> float:
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2.0 * s2**2) - 0.5


def test_make_grid() -> None:
    grid = make_grid(-1.0, 1.0, 5)
    assert grid.dtype == torch.float64
    assert_close(grid, torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=torch.float64))


@pytest.mark.parametrize(("m1", "s1", "m2", "s2"), GAUSSIAN_PAIRS)
def test_kl_between_gaussians(m1: float, s1: float, m2: float, s2: float) -> None:
    assert _divergence("kl", m1, s1, m2, s2) == pytest.approx(_kl_gaussians(m1, s1, m2, s2), rel=1e-6)


@pytest.mark.parametrize(("m1", "s1", "m2", "s2"), GAUSSIAN_PAIRS)
def test_reverse_kl_between_gaussians(m1: float, s1: float, m2: float, s2: float) -> None:
    expected = _kl_gaussians(m2, s2, m1, s1)
    assert _divergence("reverse-kl", m1, s1, m2, s2) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("m1", "s1", "m2", "s2"), GAUSSIAN_PAIRS)
def test_jeffrey_is_kl_plus_reverse_kl(m1: float, s1: float, m2: float, s2: float) -> None:
    expected = _kl_gaussians(m1, s1, m2, s2) + _kl_gaussians(m2, s2, m1, s1)
    assert _divergence("jeffrey", m1, s1, m2, s2) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("m1", "s1", "m2", "s2"), GAUSSIAN_PAIRS)
def test_squared_hellinger_between_gaussians(m1: float, s1: float, m2: float, s2: float) -> None:
    variance_sum = s1**2 + s2**2
    affinity = math.sqrt(2.0 * s1 * s2 / variance_sum) * math.exp(-((m1 - m2) ** 2) / (4.0 * variance_sum))
    expected = 2.0 * (1.0 - affinity)
    assert _divergence("hellinger", m1, s1, m2, s2) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("m1", "m2", "s"), EQUAL_VARIANCE_PAIRS)
def test_pearson_between_equal_variance_gaussians(m1: float, m2: float, s: float) -> None:
    expected = math.exp((m1 - m2) ** 2 / s**2) - 1.0
    assert _divergence("pearson", m1, s, m2, s) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("m1", "m2", "s"), EQUAL_VARIANCE_PAIRS)
def test_total_variation_between_equal_variance_gaussians(m1: float, m2: float, s: float) -> None:
    expected = 2.0 * norm.cdf(abs(m1 - m2) / (2.0 * s)) - 1.0
    assert _divergence("tv", m1, s, m2, s) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", EXAMPLE_DIVERGENCES)
def test_divergence_of_distribution_from_itself(name: str) -> None:
    mixture = parse_mixture(PAPER_MIXTURE)
    value = f_divergence_1d(get_divergence(name), mixture.log_prob, mixture.log_prob, _grid())
    expected = -math.log(4.0) if name == "gan" else 0.0
    assert value == pytest.approx(expected, abs=1e-9)


def test_gan_is_two_js_minus_log_four() -> None:
    args = (0.3, 1.2, -0.5, 0.8)
    assert _divergence("gan", *args) == pytest.approx(_divergence("js", *args) - math.log(4.0), rel=1e-9)


@pytest.mark.parametrize("name", EXAMPLE_DIVERGENCES)
def test_integrand_finite_when_q_underflows(name: str) -> None:
    log_p = torch.tensor([0.0, -5.0, -20.0], dtype=torch.float64)
    log_q = torch.tensor([-2000.0, -1000.0, -800.0], dtype=torch.float64)
    value = f_divergence_integrand(get_divergence(name), log_p, log_q)
    assert torch.isfinite(value).all(), f"{name}: {value}"


@pytest.mark.parametrize("name", EXAMPLE_DIVERGENCES)
def test_integrand_matches_direct_formula_in_range(name: str) -> None:
    divergence = get_divergence(name)
    log_p = torch.tensor([-1.0, -3.0, 0.5, -2.0], dtype=torch.float64)
    log_q = torch.tensor([-2.0, -1.0, 0.5, -30.0], dtype=torch.float64)
    expected = torch.exp(log_q) * divergence.f(torch.exp(log_p - log_q))
    assert_close(f_divergence_integrand(divergence, log_p, log_q), expected, rtol=1e-12, atol=1e-15)


def test_integrand_kl_keeps_order_of_magnitude_at_cap() -> None:
    # q f(p/q) = p log(p/q) for KL: exact while q f(p/q) is representable (log r = 300 here), and p * 100 once
    # q underflows (log r = 2000), where the ratio is capped at e^100.
    value = f_divergence_integrand(
        get_divergence("kl"),
        torch.tensor([0.0, 0.0], dtype=torch.float64),
        torch.tensor([-300.0, -2000.0], dtype=torch.float64),
    )
    assert_close(value, torch.tensor([300.0, 100.0], dtype=torch.float64))


def test_best_gaussian_fit_kl_is_moment_matching_on_paper_mixture() -> None:
    mixture = parse_mixture(PAPER_MIXTURE)
    mu, sigma, value = best_gaussian_fit(get_divergence("kl"), mixture.log_prob, (0.0, 1.0), make_grid(*FIT_GRID))
    assert mu == pytest.approx(float(mixture.mean()[0]), abs=1e-3)
    assert sigma == pytest.approx(float(mixture.std()[0]), abs=1e-3)
    moment_matched = gaussian_log_density(float(mixture.mean()[0]), float(mixture.std()[0]))
    at_moments = f_divergence_1d(get_divergence("kl"), mixture.log_prob, moment_matched, _grid())
    assert value == pytest.approx(at_moments, abs=1e-6)
    assert value > 0.1


@pytest.mark.parametrize("name", ["kl", "reverse-kl", "js", "hellinger"])
def test_best_gaussian_fit_recovers_gaussian(name: str) -> None:
    log_p = gaussian_log_density(0.7, 1.3)
    mu, sigma, value = best_gaussian_fit(get_divergence(name), log_p, (0.0, 1.0), make_grid(*FIT_GRID))
    assert mu == pytest.approx(0.7, abs=1e-4)
    assert sigma == pytest.approx(1.3, abs=1e-4)
    assert value == pytest.approx(0.0, abs=1e-8)


def test_gaussian_log_density_matches_scipy() -> None:
    x = torch.linspace(-5.0, 5.0, 101, dtype=torch.float64)
    expected = torch.from_numpy(norm.logpdf(x.numpy(), loc=0.5, scale=1.7))
    assert_close(gaussian_log_density(0.5, 1.7)(x), expected)
