"""Tests of fgan.gaussians: closed forms between Gaussians against quadrature, Monte Carlo and identities."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from fgan.divergences import get_divergence
from fgan.errors import UsageError
from fgan.gaussians import GAUSSIAN_CLOSED_FORMS, Gaussian, gaussian_divergence
from fgan.quadrature import f_divergence_1d, gaussian_log_density, make_grid

NAMES = GAUSSIAN_CLOSED_FORMS
#: (m1, s1, m2, s2) with P = N(m1, s1²), Q = N(m2, s2²); all have s1² < 2 s2² and s2² < 2 s1² (finite χ²).
PAIRS_1D = [(0.3, 1.2, -0.5, 1.0), (1.0, 0.8, 2.0, 1.1), (-2.0, 1.5, 0.5, 1.3)]
MC_SAMPLES = 400_000


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.5 * np.eye(d)


def _random_pair(rng: np.random.Generator, d: int, spread: tuple[float, float] = (0.85, 1.25), shift: float = 0.4):
    """(m1, S1, m2, S2) with the eigenvalues of S1⁻¹ S2 in ``spread`` and a whitened mean shift of norm ``shift``."""
    s1 = _random_spd(rng, d)
    chol = np.linalg.cholesky(s1)
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = rng.uniform(*spread, size=d)
    s2 = chol @ rotation @ np.diag(lam) @ rotation.T @ chol.T
    s2 = 0.5 * (s2 + s2.T)
    direction = rng.standard_normal(d)
    m1 = rng.standard_normal(d)
    m2 = m1 + chol @ (shift * direction / np.linalg.norm(direction))
    return m1, s1, m2, s2


# --- against quadrature (1-D) -------------------------------------------------------------------------------------


@functools.cache
def _grid_log_densities(m1: float, s1: float, m2: float, s2: float) -> tuple[torch.Tensor, ...]:
    """The quadrature grid and log p, log q on it (computed once per pair: the grid has 400,001 points)."""
    grid = make_grid(-40.0, 40.0, 400_001)
    return grid, gaussian_log_density(m1, s1)(grid), gaussian_log_density(m2, s2)(grid)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("m1", "s1", "m2", "s2"), PAIRS_1D)
def test_matches_quadrature_1d(name: str, m1: float, s1: float, m2: float, s2: float) -> None:
    grid, log_p, log_q = _grid_log_densities(m1, s1, m2, s2)
    expected = f_divergence_1d(get_divergence(name), lambda _: log_p, lambda _: log_q, grid)
    assert gaussian_divergence(name, m1, s1**2, m2, s2**2) == pytest.approx(expected, rel=1e-6)


def test_known_values_1d() -> None:
    # P = N(0, 1), Q = N(1, 1): KL = ½, χ² = e - 1 both ways, Hellinger = 2 (1 - e^{-1/8}).
    assert gaussian_divergence("kl", 0.0, 1.0, 1.0, 1.0) == pytest.approx(0.5, rel=1e-14)
    assert gaussian_divergence("jeffrey", 0.0, 1.0, 1.0, 1.0) == pytest.approx(1.0, rel=1e-14)
    assert gaussian_divergence("pearson", 0.0, 1.0, 1.0, 1.0) == pytest.approx(math.e - 1.0, rel=1e-14)
    assert gaussian_divergence("neyman", 0.0, 1.0, 1.0, 1.0) == pytest.approx(math.e - 1.0, rel=1e-14)
    assert gaussian_divergence("hellinger", 0.0, 1.0, 1.0, 1.0) == pytest.approx(2.0 * -math.expm1(-0.125), rel=1e-14)
    # Unequal variances: χ²(N(0,1)||N(0,σ²)) = σ² / sqrt(2σ² - 1) - 1.
    assert gaussian_divergence("pearson", 0.0, 1.0, 0.0, 4.0) == pytest.approx(4.0 / math.sqrt(7.0) - 1.0, rel=1e-14)


# --- Monte Carlo (d = 2, 5) ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[2, 5], ids=lambda d: f"d{d}")
def monte_carlo_terms(request: pytest.FixtureRequest) -> tuple[tuple[np.ndarray, ...], torch.Tensor]:
    """A random pair (m1, S1, m2, S2) and the density ratios p/q at 400k draws from Q."""
    d = request.param
    rng = np.random.default_rng(1234 + d)
    m1, s1, m2, s2 = _random_pair(rng, d)
    x = Gaussian(m2, s2).sample(MC_SAMPLES, rng)
    log_ratio = multivariate_normal(m1, s1).logpdf(x) - multivariate_normal(m2, s2).logpdf(x)
    return (m1, s1, m2, s2), torch.from_numpy(np.exp(log_ratio))


@pytest.mark.parametrize("name", NAMES)
def test_matches_monte_carlo(name: str, monte_carlo_terms: tuple[tuple[np.ndarray, ...], torch.Tensor]) -> None:
    params, ratio = monte_carlo_terms
    terms = get_divergence(name).f(ratio).numpy()  # D_f = E_Q[f(p/q)]
    estimate = float(terms.mean())
    standard_error = float(terms.std(ddof=1)) / math.sqrt(terms.size)
    exact = gaussian_divergence(name, *params)
    assert standard_error < 0.02 * exact  # the check is sharp enough to mean something
    assert abs(estimate - exact) < 4.0 * standard_error


def test_gaussian_log_prob_and_sample() -> None:
    rng = np.random.default_rng(7)
    m, s = rng.standard_normal(3), _random_spd(rng, 3)
    gaussian = Gaussian(m, s)
    x = rng.standard_normal((4, 5, 3))
    np.testing.assert_allclose(gaussian.log_prob(x), multivariate_normal(m, s).logpdf(x), rtol=1e-12)
    assert gaussian.log_prob(x[0, 0]).shape == ()
    draws = gaussian.sample(200_000, rng)
    assert draws.shape == (200_000, 3)
    np.testing.assert_allclose(draws.mean(axis=0), m, atol=0.02)
    np.testing.assert_allclose(np.cov(draws.T), s, atol=0.03)
    assert Gaussian(0.5, 2.0).log_prob(np.array([[0.5]])) == pytest.approx(-0.5 * math.log(4.0 * math.pi))
    with pytest.raises(UsageError):
        gaussian.log_prob(np.zeros((4, 2)))


# --- identities ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 3, 6])
@pytest.mark.parametrize("name", NAMES)
def test_zero_when_equal(name: str, d: int) -> None:
    rng = np.random.default_rng(d)
    m, s = rng.standard_normal(d), _random_spd(rng, d)
    assert gaussian_divergence(name, m, s, m, s) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_direction_identities(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    m1, s1, m2, s2 = _random_pair(rng, 4, spread=(0.6, 1.8), shift=1.0)
    forward = gaussian_divergence("kl", m1, s1, m2, s2)
    backward = gaussian_divergence("reverse-kl", m1, s1, m2, s2)
    assert forward > 0.0 and backward > 0.0 and forward != pytest.approx(backward)
    assert gaussian_divergence("reverse-kl", m2, s2, m1, s1) == pytest.approx(forward, rel=1e-10)
    assert gaussian_divergence("kl", m2, s2, m1, s1) == pytest.approx(backward, rel=1e-10)
    assert gaussian_divergence("jeffrey", m1, s1, m2, s2) == pytest.approx(forward + backward, rel=1e-12)
    assert gaussian_divergence("neyman", m1, s1, m2, s2) == pytest.approx(
        gaussian_divergence("pearson", m2, s2, m1, s1), rel=1e-10
    )
    assert gaussian_divergence("hellinger", m1, s1, m2, s2) == pytest.approx(
        gaussian_divergence("hellinger", m2, s2, m1, s1), rel=1e-10
    )


def test_hellinger_between_zero_and_two() -> None:
    rng = np.random.default_rng(5)
    m1, s1, m2, s2 = _random_pair(rng, 3, spread=(0.1, 10.0), shift=1.0)
    values = [gaussian_divergence("hellinger", m1, s1, m1 + t * (m2 - m1), s2) for t in (0.0, 1.0, 5.0, 50.0)]
    assert all(0.0 <= value <= 2.0 for value in values)
    assert values == sorted(values) and values[0] > 0.0  # grows with the mean shift at fixed covariances
    assert values[-1] == pytest.approx(2.0, abs=1e-12)
    assert gaussian_divergence("hellinger", 0.0, 1.0, 1e6, 1.0) == 2.0


def test_pearson_and_neyman_boundary_1d() -> None:
    # ∫ p²/q diverges iff s1² >= 2 s2²; ∫ q²/p iff s2² >= 2 s1².
    assert gaussian_divergence("pearson", 0.0, 2.0, 0.0, 1.0) == math.inf
    assert gaussian_divergence("pearson", 0.3, 3.0, 0.0, 1.0) == math.inf
    assert gaussian_divergence("neyman", 0.0, 1.0, 0.0, 2.0) == math.inf
    assert gaussian_divergence("neyman", 0.0, 1.0, 0.0, 2.5) == math.inf
    # Just inside: finite, and equal to σ² / sqrt(2σ² - 1) - 1 with σ² = s2²/s1².
    for var in (2.0 * (1.0 - 1e-6), 1.9, 1.5):
        sigma2 = 1.0 / var
        expected = sigma2 / math.sqrt(2.0 * sigma2 - 1.0) - 1.0
        assert gaussian_divergence("pearson", 0.0, var, 0.0, 1.0) == pytest.approx(expected, rel=1e-9)
        assert gaussian_divergence("neyman", 0.0, 1.0, 0.0, var) == pytest.approx(expected, rel=1e-9)
    # The other χ² and the rest stay finite where one diverges.
    for name in ("kl", "reverse-kl", "jeffrey", "hellinger", "neyman"):
        assert math.isfinite(gaussian_divergence(name, 0.0, 3.0, 0.0, 1.0))


def test_pearson_and_neyman_boundary_multivariate() -> None:
    rng = np.random.default_rng(11)
    s2 = _random_spd(rng, 3)
    chol = np.linalg.cholesky(s2)
    # S1 = L diag(e) Lᵀ: 2 S2 - S1 ≻ 0 iff every e < 2.
    # (A mean shift Δ adds Δᵀ (2 S2 - S1)⁻¹ Δ to ln ∫ p²/q: near the boundary the value is huge, not infinite.)
    for e, finite in (((0.5, 1.0, 1.999), True), ((0.5, 1.0, 2.0), False), ((0.5, 2.5, 1.0), False)):
        s1 = chol @ np.diag(e) @ chol.T
        for shift in (0.0, 0.01):
            pearson = gaussian_divergence("pearson", np.zeros(3), s1, np.full(3, shift), s2)
            neyman = gaussian_divergence("neyman", np.zeros(3), s2, np.full(3, shift), s1)
            assert math.isfinite(pearson) is finite and math.isfinite(neyman) is finite
            assert pearson == pytest.approx(neyman, rel=1e-9) or not finite


def test_product_of_independent_dimensions() -> None:
    rng = np.random.default_rng(3)
    m1, m2 = rng.standard_normal(4), rng.standard_normal(4)
    v1, v2 = rng.uniform(0.6, 1.5, 4), rng.uniform(0.6, 1.5, 4)

    def per_dim(name: str) -> list[float]:
        return [gaussian_divergence(name, m1[i], v1[i], m2[i], v2[i]) for i in range(4)]

    for name in ("kl", "reverse-kl", "jeffrey"):
        assert gaussian_divergence(name, m1, v1, m2, np.diag(v2)) == pytest.approx(sum(per_dim(name)), rel=1e-12)
    # ∫ sqrt(pq), ∫ p²/q and ∫ q²/p factorise: 1 - H/2 and 1 + χ² are products.
    hellinger = gaussian_divergence("hellinger", m1, v1, m2, v2)
    assert 1.0 - hellinger / 2.0 == pytest.approx(math.prod(1.0 - h / 2.0 for h in per_dim("hellinger")), rel=1e-12)
    for name in ("pearson", "neyman"):
        chi2 = gaussian_divergence(name, m1, v1, m2, v2)
        assert 1.0 + chi2 == pytest.approx(math.prod(1.0 + c for c in per_dim(name)), rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_invariant_under_affine_maps(name: str) -> None:
    rng = np.random.default_rng(21)
    m1, s1, m2, s2 = _random_pair(rng, 3, spread=(0.7, 1.6), shift=0.8)
    a, b = rng.standard_normal((3, 3)) + 2.0 * np.eye(3), rng.standard_normal(3)
    mapped = (a @ m1 + b, a @ s1 @ a.T, a @ m2 + b, a @ s2 @ a.T)
    assert gaussian_divergence(name, *mapped) == pytest.approx(gaussian_divergence(name, m1, s1, m2, s2), rel=1e-9)


def test_covariance_forms_and_names() -> None:
    m1, m2 = np.array([0.1, -0.2, 0.3]), np.zeros(3)
    v = np.array([0.5, 1.0, 2.0])
    full = gaussian_divergence("kl", m1, np.diag(v), m2, 1.5 * np.eye(3))
    assert gaussian_divergence("kl", m1, v, m2, 1.5) == pytest.approx(full, rel=1e-15)
    assert gaussian_divergence(" KL ", list(m1), v.tolist(), m2, [1.5, 1.5, 1.5]) == pytest.approx(full, rel=1e-15)
    assert gaussian_divergence(get_divergence("kl"), m1, v, m2, 1.5) == pytest.approx(full, rel=1e-15)
    assert gaussian_divergence("kl", [0.0], [[1.0]], 1.0, [1.0]) == pytest.approx(0.5)
    assert isinstance(gaussian_divergence("kl", m1, v, m2, 1.5), float)


# --- bad input ----------------------------------------------------------------------------------------------------

GOOD = {"mean_p": np.zeros(2), "cov_p": np.eye(2), "mean_q": np.ones(2), "cov_q": np.eye(2)}
BAD_INPUTS = {
    "mean matrix": {"mean_p": np.zeros((2, 1))},
    "empty mean": {"mean_p": np.zeros(0), "mean_q": np.zeros(0)},
    "length mismatch": {"mean_q": np.ones(3)},
    "cov wrong shape": {"cov_p": np.eye(3)},
    "cov 3-D": {"cov_q": np.ones((2, 2, 2))},
    "variances wrong length": {"cov_p": np.ones(3)},
    "non-symmetric": {"cov_p": np.array([[1.0, 0.5], [0.0, 1.0]])},
    "not positive definite": {"cov_q": np.array([[1.0, 2.0], [2.0, 1.0]])},
    "singular": {"cov_q": np.ones((2, 2))},
    "negative variance": {"cov_p": -1.0},
    "zero variance": {"cov_q": np.array([1.0, 0.0])},
    "nan mean": {"mean_p": np.array([0.0, np.nan])},
    "inf mean": {"mean_q": np.array([np.inf, 0.0])},
    "nan cov": {"cov_p": np.array([[1.0, np.nan], [np.nan, 1.0]])},
    "text": {"mean_p": ["a", "b"]},
    "ragged": {"cov_p": [[1.0, 0.0], [0.0]]},
    "complex": {"mean_q": np.array([1j, 0.0])},
}


@pytest.mark.parametrize("change", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input(change: dict[str, object]) -> None:
    with pytest.raises(UsageError) as info:
        gaussian_divergence("kl", **{**GOOD, **change})
    assert "\n" not in str(info.value) and str(info.value)


@pytest.mark.parametrize("name", ["js", "tv", "gan", "alpha:2", "nonsense", ""])
def test_unsupported_name(name: str) -> None:
    with pytest.raises(UsageError) as info:
        gaussian_divergence(name, **GOOD)
    message = str(info.value)
    assert "\n" not in message
    assert all(supported in message for supported in GAUSSIAN_CLOSED_FORMS)


def test_gaussian_validates() -> None:
    with pytest.raises(UsageError):
        Gaussian(np.zeros(2), np.array([[1.0, 0.0], [0.0, -1.0]]))
    with pytest.raises(UsageError):
        Gaussian(np.zeros(2), np.eye(2)).sample(-1, np.random.default_rng(0))
    gaussian = Gaussian([1.0, 2.0], [1.0, 4.0])
    np.testing.assert_array_equal(gaussian.cov, np.diag([1.0, 4.0]))
    assert gaussian.dim == 2
    with pytest.raises(ValueError, match="read-only"):
        gaussian.mean[0] = 3.0
