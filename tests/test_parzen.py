"""Parzen-window log-likelihood: agreement with a direct reference, blocks, bandwidth choice (on validation points or
by cross-validation on the samples), results, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import norm

from fgan.errors import UsageError
from fgan.parzen import (
    CV_SIGMAS,
    DEFAULT_SIGMAS,
    ParzenResult,
    cross_validated_bandwidth,
    parzen_evaluate,
    parzen_evaluate_cv,
    parzen_log_density,
    select_bandwidth,
)

SIGMAS = [0.05, 0.2, 0.7, 3.0]


def reference(points: np.ndarray, samples: np.ndarray, sigma: float) -> np.ndarray:
    """log p̂(x) from the full array of pairwise differences, in float64."""
    x, s = np.asarray(points, np.float64), np.asarray(samples, np.float64)
    squared = ((x[:, None, :] - s[None]) ** 2).sum(axis=-1)
    dim = s.shape[1]
    return logsumexp(-squared / (2 * sigma**2), axis=1) - math.log(len(s)) - dim / 2 * math.log(2 * math.pi * sigma**2)


def mnist_like(n_points: int, n_samples: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n_points, dim)), rng.random((n_samples, dim))


def test_matches_the_reference_with_small_blocks_and_one_big_block() -> None:
    points, samples = mnist_like(150, 200, 20)
    expected = np.stack([reference(points, samples, sigma) for sigma in SIGMAS])
    small = parzen_log_density(points, samples, SIGMAS, chunk_size=7, sample_chunk=13)
    big = parzen_log_density(points, samples, SIGMAS, chunk_size=1000, sample_chunk=1000)
    assert small.dtype == big.dtype == torch.float64 and small.shape == (len(SIGMAS), 150)
    np.testing.assert_allclose(small.numpy(), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(small.numpy(), big.numpy(), rtol=0, atol=1e-9)


def test_matches_the_reference_in_784_dimensions() -> None:
    points, samples = mnist_like(5, 300, 784, seed=1)
    expected = np.stack([reference(points, samples, sigma) for sigma in DEFAULT_SIGMAS])
    values = parzen_log_density(points, samples, DEFAULT_SIGMAS, chunk_size=2, sample_chunk=64)
    np.testing.assert_allclose(values.numpy(), expected, rtol=0, atol=1e-6)


def test_float32_tensors_and_images_give_float64_results() -> None:
    points, samples = mnist_like(40, 90, 36, seed=2)
    points32, samples32 = points.astype(np.float32), samples.astype(np.float32)
    images = torch.from_numpy(points32).reshape(40, 1, 6, 6)
    values = parzen_log_density(images, torch.from_numpy(samples32).requires_grad_(), 0.3, sample_chunk=17)
    assert values.dtype == torch.float64 and values.shape == (1, 40)
    np.testing.assert_allclose(values[0].numpy(), reference(points32, samples32, 0.3), rtol=0, atol=1e-6)


def test_points_far_from_every_sample_keep_a_finite_density() -> None:
    rng = np.random.default_rng(3)
    samples = rng.random((50, 10))
    points = samples[:4] + 1e3 * np.eye(10)[:4]  # at distance 1e3 from their sample, farther from the rest
    values = parzen_log_density(points, samples, [0.1, 1.0], sample_chunk=8).numpy()
    expected = np.stack([reference(points, samples, sigma) for sigma in (0.1, 1.0)])
    assert np.isfinite(values).all() and values[0].max() < -4.9e7
    np.testing.assert_allclose(values, expected, rtol=1e-10)


def test_select_bandwidth_takes_the_argmax_of_the_mean_scores() -> None:
    validation, samples = mnist_like(60, 120, 15, seed=4)
    sigma, scores = select_bandwidth(validation, samples, sample_chunk=50)
    expected = parzen_log_density(validation, samples, DEFAULT_SIGMAS).mean(dim=1).numpy()
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9)
    assert sigma == DEFAULT_SIGMAS[int(np.argmax(expected))]


def test_the_bandwidth_chosen_for_a_narrow_gaussian_is_below_its_scale() -> None:
    rng = np.random.default_rng(5)
    samples, validation = 0.3 * rng.standard_normal((2000, 2)), 0.3 * rng.standard_normal((500, 2))
    grid = np.logspace(-2, 0, 15)
    sigma, scores = select_bandwidth(validation, samples, grid)
    assert grid[0] < sigma < grid[-1] and 0.03 < sigma < 0.3  # interior; Silverman's rule gives about 0.09
    assert scores[0] < max(scores) and scores[-1] < max(scores)


def test_mean_log_likelihood_of_a_standard_normal_is_close_to_the_truth() -> None:
    rng = np.random.default_rng(6)
    samples, test, validation = (rng.standard_normal(n) for n in (10_000, 3000, 1000))
    result = parzen_evaluate(samples, test, validation, np.logspace(-1.5, 0, 6))
    assert result.mean == pytest.approx(-0.5 * math.log(2 * math.pi * math.e), abs=0.05)
    assert result.mean == pytest.approx(norm.logpdf(test).mean(), abs=0.02)  # the same points' exact mean
    assert result.dim == 1 and 0.03 < result.sigma < 1.0


def test_result_holds_the_mean_and_standard_error_of_the_per_point_values() -> None:
    test, samples = mnist_like(80, 100, 12, seed=7)
    validation = mnist_like(30, 1, 12, seed=8)[0]
    result = parzen_evaluate(samples, test, validation, chunk_size=9, sample_chunk=31)
    values = parzen_log_density(test, samples, result.sigma)[0].numpy()
    assert isinstance(result, ParzenResult)
    assert result.mean == pytest.approx(values.mean(), abs=1e-9)
    assert result.stderr == pytest.approx(values.std(ddof=1) / math.sqrt(len(values)), rel=1e-9)
    sigma, scores = select_bandwidth(validation, samples)
    assert result.sigma == sigma and result.validation_scores == pytest.approx(scores, abs=1e-9)
    assert (result.n_samples, result.n_test, result.dim) == (100, 80, 12)
    assert result.sigmas == pytest.approx(DEFAULT_SIGMAS.tolist())
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["sigma"] == result.sigma


def brute_force_cv(samples: np.ndarray, sigma: float, folds: list[np.ndarray]) -> float:
    """CV(σ) from the full pairwise differences: each fold scored under the other folds' density, averaged."""
    total = 0.0
    for index, held_out in enumerate(folds):
        kept = np.concatenate([fold for other, fold in enumerate(folds) if other != index])
        total += reference(samples[held_out], samples[kept], sigma).sum()
    return total / len(samples)


def test_cross_validated_bandwidth_matches_a_brute_force_computation() -> None:
    samples = mnist_like(1, 61, 9, seed=9)[1]
    grid = [0.08, 0.15, 0.3, 0.6]
    sigma, scores = cross_validated_bandwidth(samples, grid, folds=3, seed=4, chunk_size=5, sample_chunk=7)
    order = torch.randperm(61, generator=torch.Generator().manual_seed(4)).numpy()
    folds = np.array_split(order, 3)  # the same partition: torch's tensor_split cuts as numpy's array_split
    expected = [brute_force_cv(samples, value, folds) for value in grid]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9)
    assert sigma == grid[int(np.argmax(expected))]
    unchunked = cross_validated_bandwidth(samples, grid, folds=3, seed=4, chunk_size=1000, sample_chunk=1000)
    np.testing.assert_allclose(unchunked[1], scores, rtol=0, atol=1e-9)


def test_cross_validation_chooses_a_bandwidth_near_the_best_for_held_out_data() -> None:
    rng = np.random.default_rng(10)
    samples, test = 0.3 * rng.standard_normal((3000, 2)), 0.3 * rng.standard_normal((3000, 2))
    grid = np.logspace(-2, 0, 15)
    sigma, scores = cross_validated_bandwidth(samples, grid)
    best_on_test = grid[int(parzen_log_density(test, samples, grid).mean(dim=1).argmax())]
    assert grid[0] < sigma < grid[-1] and abs(math.log(sigma / best_on_test)) < math.log(1.5)
    assert scores[0] < max(scores) and scores[-1] < max(scores)


def test_parzen_evaluate_cv_scores_the_test_set_under_all_samples_at_the_chosen_bandwidth() -> None:
    test, samples = mnist_like(50, 90, 12, seed=11)
    result = parzen_evaluate_cv(samples, test, chunk_size=8, sample_chunk=20)
    sigma, scores = cross_validated_bandwidth(samples)
    values = reference(test, samples, sigma)
    assert result.sigma == sigma and result.validation_scores == pytest.approx(scores, abs=1e-9)
    assert result.mean == pytest.approx(values.mean(), abs=1e-6)
    assert result.stderr == pytest.approx(values.std(ddof=1) / math.sqrt(len(values)), rel=1e-6)
    assert result.sigmas == pytest.approx(CV_SIGMAS.tolist()) and result.selection == "3-fold cross-validation"
    assert (result.n_samples, result.n_test) == (90, 50)
    assert parzen_evaluate(samples, test, test).selection == "validation"


GOOD = np.zeros((4, 3))
BAD_CALLS = {
    "empty points": lambda: parzen_log_density(np.zeros((0, 3)), GOOD, 0.1),
    "empty samples": lambda: parzen_log_density(GOOD, np.zeros((5, 0)), 0.1),
    "scalar points": lambda: parzen_log_density(np.float64(1.0), GOOD, 0.1),
    "mismatched dimension": lambda: parzen_log_density(np.zeros((4, 2)), GOOD, 0.1),
    "nan point": lambda: parzen_log_density(np.array([[0.0, np.nan, 0.0]]), GOOD, 0.1),
    "infinite sample": lambda: parzen_log_density(GOOD, torch.tensor([[0.0, 0.0, math.inf]]), 0.1),
    "complex points": lambda: parzen_log_density(GOOD.astype(complex), GOOD, 0.1),
    "boolean samples": lambda: parzen_log_density(GOOD, torch.zeros(4, 3, dtype=torch.bool), 0.1),
    "zero sigma": lambda: parzen_log_density(GOOD, GOOD, [0.1, 0.0]),
    "negative sigma": lambda: parzen_log_density(GOOD, GOOD, -1.0),
    "nan sigma": lambda: select_bandwidth(GOOD, GOOD, [math.nan]),
    "no sigmas": lambda: select_bandwidth(GOOD, GOOD, []),
    "zero chunk": lambda: parzen_log_density(GOOD, GOOD, 0.1, chunk_size=0),
    "zero sample chunk": lambda: select_bandwidth(GOOD, GOOD, sample_chunk=0),
    "validation dimension": lambda: parzen_evaluate(GOOD, GOOD, np.zeros((4, 5))),
    "one test point": lambda: parzen_evaluate(GOOD, GOOD[:1], GOOD),
    "one fold": lambda: cross_validated_bandwidth(GOOD, folds=1),
    "more folds than samples": lambda: cross_validated_bandwidth(GOOD, folds=5),
    "cv test dimension": lambda: parzen_evaluate_cv(GOOD, np.zeros((4, 5))),
    "cv one test point": lambda: parzen_evaluate_cv(GOOD, GOOD[:1]),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_bad_input_is_a_one_line_usage_error(call) -> None:
    with pytest.raises(UsageError) as error:
        call()
    assert str(error.value) and "\n" not in str(error.value)
