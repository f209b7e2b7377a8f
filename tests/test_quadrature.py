"""Tests of fgan.quadrature: exact f-divergences by quadrature against closed forms, and best Gaussian fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.stats import norm
from torch.testing import assert_close

from fgan.data import PAPER_MIXTURE, parse_mixture
from fgan.divergences import EXAMPLE_DIVERGENCES, get_divergence
from fgan.errors import UsageError
from fgan.quadrature import (
    MASS_TOLERANCE,
    best_gaussian_fit,
    check_mass,
    covering_grid,
    f_divergence_1d,
    f_divergence_integrand,
    gaussian_fit_divergence,
    gaussian_log_density,
    grid_mass,
    make_grid,
)

#: (m1, s1, m2, s2) pairs of Gaussians P = N(m1, s1²), Q = N(m2, s2²).
GAUSSIAN_PAIRS = [(0.3, 1.2, -0.5, 0.8), (1.0, 0.5, 2.0, 1.5), (0.0, 1.0, 0.0, 2.0)]
#: (m1, m2, s) for equal-variance pairs.
EQUAL_VARIANCE_PAIRS = [(0.0, 1.0, 1.0), (-0.4, 1.1, 0.7), (2.0, 1.5, 2.5)]
#: The reference sheet's grid: 200,001 points over [-15, 20].
DEFAULT_GRID = (-15.0, 20.0, 200_001)
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


def test_integrand_kl_and_reverse_kl_exact_past_the_cap() -> None:
    # q f(p/q) = p log(p/q) for KL: exact while q f(p/q) is representable (log r = 300 here), and still exact once
    # q underflows (log r = 2000: p g(l) continued linearly past l = 100); the capped ratio gave p * 100 there.
    # Reverse KL, q f(p/q) = -q log(p/q): exact where p underflows against q (log r = -2000).
    value = f_divergence_integrand(
        get_divergence("kl"),
        torch.tensor([0.0, 0.0], dtype=torch.float64),
        torch.tensor([-300.0, -2000.0], dtype=torch.float64),
    )
    assert_close(value, torch.tensor([300.0, 2000.0], dtype=torch.float64))
    reverse = f_divergence_integrand(
        get_divergence("reverse-kl"), torch.tensor([-2000.0], dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    )
    assert_close(reverse, torch.tensor([2000.0], dtype=torch.float64))


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


def _true_integrand(name: str, log_p: float, log_q: float) -> float:
    """q f(p/q) in log space, exact for any log-ratio (independent of fgan's integrand)."""
    log_ratio = log_p - log_q
    if name == "kl":
        return math.exp(log_p) * log_ratio
    if name == "reverse-kl":
        return -math.exp(log_q) * log_ratio
    if name == "pearson":
        return math.exp(min(2 * log_p - log_q, 700.0)) - 2 * math.exp(log_p) + math.exp(log_q)
    log_m = math.log(0.5) + float(np.logaddexp(log_p, log_q))  # js: KL(P||M) + KL(Q||M)
    return math.exp(log_p) * (log_p - log_m) + math.exp(log_q) * (log_q - log_m)


def _quad_divergence(name: str, log_p: object, mu: float, sigma: float, points: list[float]) -> float:
    """D_f(P||N(mu, sigma²)) by scipy.integrate.quad on the log-space integrand (break points at the modes)."""

    def integrand(x: float) -> float:
        point = torch.tensor([x], dtype=torch.float64)
        log_q = float(gaussian_log_density(mu, sigma)(point)[0])
        return _true_integrand(name, float(log_p(point)[0]), log_q)  # type: ignore[operator]

    low, high = min(points) - 15 * sigma, max(points) + 15 * sigma
    return float(quad(integrand, low, high, points=sorted(points), limit=2000, epsabs=1e-12, epsrel=1e-10)[0])


def test_covering_grid_spans_every_component_at_its_own_spacing() -> None:
    grid = covering_grid([(0.0, 0.001), (50.0, 1000.0)])
    assert float(grid[0]) == pytest.approx(50.0 - 12_000.0)
    assert float(grid[-1]) == pytest.approx(50.0 + 12_000.0)
    assert bool((grid[1:] > grid[:-1]).all())
    near_zero = grid[(grid > -0.005) & (grid < 0.005)]
    assert float((near_zero[1:] - near_zero[:-1]).max()) <= 0.001 / 1000
    assert len(grid) < 500_000


@pytest.mark.parametrize(
    ("spec", "mu", "sigma"),
    [("1:50:1", 50.0, 1.0), ("1:0:1000", 0.0, 1000.0), ("0.5:-30:0.5,0.5:40:3", 5.0, 20.0)],
)
def test_grid_mass_of_mixtures_far_from_the_origin_is_one(spec: str, mu: float, sigma: float) -> None:
    mixture = parse_mixture(spec)
    cover = list(zip(mixture.means[:, 0].tolist(), mixture.stds.tolist(), strict=True))
    grid = covering_grid([*cover, (mu, sigma)])
    assert grid_mass(mixture.log_prob, grid) == pytest.approx(1.0, abs=MASS_TOLERANCE)
    assert grid_mass(gaussian_log_density(mu, sigma), grid) == pytest.approx(1.0, abs=MASS_TOLERANCE)


@pytest.mark.parametrize("name", ["kl", "reverse-kl", "pearson", "js"])
def test_gaussian_fit_divergence_matches_scipy_quad_on_a_wide_mixture(name: str) -> None:
    mixture = parse_mixture("0.5:-30:0.5,0.5:40:3")
    cover = list(zip(mixture.means[:, 0].tolist(), mixture.stds.tolist(), strict=True))
    exact = _quad_divergence(name, mixture.log_prob, 5.0, 30.0, [-30.0, 5.0, 40.0])
    assert gaussian_fit_divergence(get_divergence(name), mixture.log_prob, cover, 5.0, 30.0) == pytest.approx(
        exact, rel=1e-6
    )


@pytest.mark.parametrize(("spec", "name"), [("1:50:1", "kl"), ("1:0:1000", "kl"), ("1:0:1000", "reverse-kl")])
def test_best_gaussian_fit_of_one_gaussian_far_away_or_wide_is_that_gaussian(spec: str, name: str) -> None:
    """The fixed [-15, 20] grid gave μ* = 19.97 and D_f = -1e-195 for 1:50:1 (issue 19, item 3)."""
    mixture = parse_mixture(spec)
    mean, std = float(mixture.means[0, 0]), float(mixture.stds[0])
    mu, sigma, value = best_gaussian_fit(get_divergence(name), mixture.log_prob, (mean, std), cover=[(mean, std)])
    assert mu == pytest.approx(mean, abs=1e-4 * std)
    assert sigma == pytest.approx(std, rel=1e-4)
    assert value == pytest.approx(0.0, abs=1e-8)


def test_best_gaussian_fit_kl_moment_matches_a_two_mode_mixture_against_quad() -> None:
    mixture = parse_mixture("0.5:0:1,0.5:50:1")
    cover = [(0.0, 1.0), (50.0, 1.0)]
    mu, sigma, value = best_gaussian_fit(get_divergence("kl"), mixture.log_prob, (10.0, 5.0), cover=cover)
    assert mu == pytest.approx(25.0, abs=1e-3)
    assert sigma == pytest.approx(math.sqrt(1.0 + 625.0), abs=1e-3)
    assert value == pytest.approx(
        _quad_divergence("kl", mixture.log_prob, 25.0, math.sqrt(626.0), [0.0, 50.0]), rel=1e-6
    )


@pytest.mark.parametrize(("name", "exact"), [("reverse-kl", math.log(2.0)), ("neyman", 1.0)])
def test_best_gaussian_fit_of_a_mode_seeker_is_the_heaviest_of_separated_components(name: str, exact: float) -> None:
    """With components far apart, Q on the heaviest one (weight w) gives D = -log w (reverse-kl) and 1/w - 1
    (neyman, ∫ q²/p - 1); from the moment fit alone Nelder-Mead ended in the local minimum near (2.99, 2.02),
    1.61 (reverse-kl), and at (2.21, 1.35), 25.0 (neyman)."""
    mixture = parse_mixture("0.5:-4:0.6,0.3:1:0.5,0.2:5:0.8")
    cover = [(-4.0, 0.6), (1.0, 0.5), (5.0, 0.8)]
    start = (float(mixture.mean()), float(mixture.std()))
    mu, sigma, value = best_gaussian_fit(get_divergence(name), mixture.log_prob, start, cover=cover)
    assert (mu, sigma) == (pytest.approx(-4.0, abs=1e-3), pytest.approx(0.6, abs=1e-3))
    assert value == pytest.approx(exact, rel=1e-4)


def test_check_mass_refuses_a_component_too_narrow_for_float64() -> None:
    mixture = parse_mixture("1:0:1e-300")
    with pytest.raises(UsageError, match="mass on the quadrature grid") as caught:
        check_mass(mixture.log_prob, covering_grid([(0.0, 1e-300)]), "the mixture")
    assert "\n" not in str(caught.value)
