"""The Pareto-k̂ against scipy's generalised Pareto fits and samples of known tail index."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import genpareto

from fgan.estimation.psis import generalized_pareto_shape, k_hat_threshold, pareto_k_hat, size_biased_k_hat, tail_size


@pytest.mark.parametrize("shape", [0.1, 0.4, 0.8])
def test_shape_agrees_with_scipy_and_the_truth(shape: float) -> None:
    exceedances = genpareto.rvs(shape, size=3000, random_state=np.random.default_rng(0))
    fitted = generalized_pareto_shape(exceedances)
    scipy_fit = genpareto.fit(exceedances, floc=0)[0]
    assert fitted == pytest.approx(scipy_fit, abs=0.05)
    assert fitted == pytest.approx(shape, abs=0.08)


@pytest.mark.parametrize(("alpha", "expected"), [(1.25, 0.8), (2.0, 0.5), (4.0, 0.25)])
def test_k_hat_of_pareto_samples_is_one_over_the_tail_index(alpha: float, expected: float) -> None:
    samples = np.random.default_rng(1).pareto(alpha, 40_000)  # Lomax: P(X > x) = (1 + x)^-alpha
    assert pareto_k_hat(samples) == pytest.approx(expected, abs=0.1)


def test_light_tails_have_small_k_hat_and_heavy_weights_a_large_one() -> None:
    rng = np.random.default_rng(2)
    assert pareto_k_hat(rng.standard_normal(5000)) < 0.15
    assert pareto_k_hat(rng.exponential(size=5000)) == pytest.approx(0.0, abs=0.12)
    assert pareto_k_hat(np.exp(3.0 * rng.standard_normal(2000))) > 0.9


def test_tail_size_threshold_and_degenerate_samples() -> None:
    assert tail_size(100) == 20 and tail_size(10_000) == 300
    assert k_hat_threshold(100) == pytest.approx(0.5) and k_hat_threshold(10**6) == 0.7
    assert math.isnan(pareto_k_hat(np.ones(1000))) and math.isnan(pareto_k_hat(np.arange(10.0)))


@pytest.mark.parametrize("shape", [0.3, 0.6, 0.8])
def test_size_biased_k_hat_reads_the_weights_tail_under_q_from_samples_of_p(shape: float) -> None:
    """Weights r Pareto under Q (Q(r > t) = t^(-1/k), t >= 1); under P, whose density is r times Q's, they are
    Pareto of index 1/k - 1 (drawn here by the inverse CDF): read from those, k̂ is k."""
    index_under_p = 1.0 / shape - 1.0
    weights_on_p = np.random.default_rng(5).uniform(size=40_000) ** (-1.0 / index_under_p)
    assert size_biased_k_hat(np.log(weights_on_p)) == pytest.approx(shape, abs=0.06)


def test_size_biased_k_hat_of_bounded_weights_is_zero() -> None:
    assert size_biased_k_hat(np.log(np.random.default_rng(6).uniform(0.1, 2.0, 5000))) == 0.0
    assert math.isnan(size_biased_k_hat(np.zeros(1000)))
