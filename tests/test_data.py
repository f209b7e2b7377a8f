"""Tests of fgan.data: Gaussian mixtures, the mixture spec parser, ring/grid, TensorSampler and data names."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from torch.testing import assert_close

from fgan.data import (
    PAPER_MIXTURE,
    GaussianMixture,
    Sampler,
    TensorSampler,
    grid,
    parse_mixture,
    ring,
)
from fgan.errors import UsageError


def _two_d_mixture() -> GaussianMixture:
    return GaussianMixture([1.0, 3.0, 2.0], [[0.0, 0.0], [1.5, -2.0], [-3.0, 1.0]], [0.5, 1.0, 2.0])


def _scipy_mixture_log_prob(mixture: GaussianMixture, x: np.ndarray) -> np.ndarray:
    weights = mixture.weights.numpy()
    means = mixture.means.numpy()
    stds = mixture.stds.numpy()
    per_component = [
        np.log(w) + stats.multivariate_normal(mean=m, cov=s**2 * np.eye(mixture.dim)).logpdf(x)
        for w, m, s in zip(weights, means, stds, strict=True)
    ]
    return logsumexp(np.stack(per_component, axis=1), axis=1)


# --- GaussianMixture -------------------------------------------------------------------------------------------


def test_sample_shape_dtype_device() -> None:
    mixture = _two_d_mixture()
    samples = mixture.sample(17)
    assert samples.shape == (17, 2)
    assert samples.dtype == torch.float32
    assert samples.device == torch.device("cpu")
    assert mixture.sample(5, device="cpu", dtype=torch.float64).dtype == torch.float64
    assert isinstance(mixture, Sampler)


def test_one_d_means_are_promoted_to_columns() -> None:
    mixture = GaussianMixture([1.0, 1.0], [-1.0, 2.0], [1.0, 1.0])
    assert mixture.dim == 1
    assert mixture.means.shape == (2, 1)
    assert mixture.sample(4).shape == (4, 1)


def test_weights_are_normalised() -> None:
    mixture = _two_d_mixture()
    assert_close(mixture.weights, torch.tensor([1.0, 3.0, 2.0], dtype=torch.float64) / 6.0)
    assert_close(mixture.weights.sum(), torch.tensor(1.0, dtype=torch.float64))


@pytest.mark.parametrize(
    ("weights", "means", "stds"),
    [
        ([1.0, 1.0], [0.0], [1.0]),
        ([], [], []),
        ([1.0], [0.0], [0.0]),
        ([-1.0], [0.0], [1.0]),
        ([1.0], [math.inf], [1.0]),
    ],
)
def test_invalid_mixture_is_a_usage_error(weights: list[float], means: list[float], stds: list[float]) -> None:
    with pytest.raises(UsageError):
        GaussianMixture(weights, means, stds)


@pytest.mark.parametrize("make", [lambda: parse_mixture(PAPER_MIXTURE), _two_d_mixture])
def test_empirical_moments_match_mean_and_std(make: Callable[[], GaussianMixture]) -> None:
    torch.manual_seed(0)
    mixture = make()
    samples = mixture.sample(200_000, dtype=torch.float64)
    assert_close(samples.mean(0), mixture.mean(), atol=0.02, rtol=0.0)
    assert_close(samples.std(0), mixture.std(), atol=0.02, rtol=0.0)


def test_mean_and_std_closed_form_for_paper_mixture() -> None:
    mixture = parse_mixture(PAPER_MIXTURE)
    mean = 0.33 * -1.0 + 0.67 * 2.0
    second = 0.33 * (1.0 + 0.25**2) + 0.67 * (4.0 + 2.0)
    assert_close(mixture.mean(), torch.tensor([mean], dtype=torch.float64))
    assert_close(mixture.std(), torch.tensor([math.sqrt(second - mean**2)], dtype=torch.float64))


def test_one_d_log_prob_integrates_to_one() -> None:
    mixture = parse_mixture(PAPER_MIXTURE)
    x = torch.linspace(-20.0, 20.0, 400_001, dtype=torch.float64)
    total = torch.trapezoid(torch.exp(mixture.log_prob(x)), x)
    assert_close(total, torch.tensor(1.0, dtype=torch.float64), atol=1e-9, rtol=0.0)


def test_one_d_log_prob_matches_direct_formula() -> None:
    mixture = parse_mixture(PAPER_MIXTURE)
    x = np.linspace(-6.0, 8.0, 1001)
    density = 0.33 * stats.norm.pdf(x, -1.0, 0.25) + 0.67 * stats.norm.pdf(x, 2.0, math.sqrt(2.0))
    log_prob = mixture.log_prob(torch.from_numpy(x))
    assert_close(log_prob, torch.from_numpy(np.log(density)), rtol=1e-10, atol=1e-12)
    # (n, 1) input gives the same as (n,)
    assert_close(mixture.log_prob(torch.from_numpy(x)[:, None]), log_prob)


def test_log_prob_is_computed_in_input_dtype() -> None:
    mixture = parse_mixture(PAPER_MIXTURE)
    x = torch.linspace(-3.0, 3.0, 7)
    log_prob = mixture.log_prob(x)
    assert log_prob.dtype == torch.float32
    assert_close(log_prob, mixture.log_prob(x.double()).float())


@pytest.mark.parametrize("make", [_two_d_mixture, ring, grid])
def test_two_d_log_prob_matches_scipy(make: Callable[[], GaussianMixture]) -> None:
    torch.manual_seed(1)
    mixture = make()
    x = torch.cat([mixture.sample(200, dtype=torch.float64), 3.0 * torch.randn(50, 2, dtype=torch.float64)])
    expected = _scipy_mixture_log_prob(mixture, x.numpy())
    assert_close(mixture.log_prob(x), torch.from_numpy(expected), rtol=1e-10, atol=1e-10)


# --- parse_mixture ---------------------------------------------------------------------------------------------


def test_parse_paper_mixture() -> None:
    mixture = parse_mixture(PAPER_MIXTURE)
    assert mixture.dim == 1
    assert_close(mixture.weights, torch.tensor([0.33, 0.67], dtype=torch.float64))
    assert_close(mixture.means, torch.tensor([[-1.0], [2.0]], dtype=torch.float64))
    assert_close(mixture.stds, torch.tensor([0.25, math.sqrt(2.0)], dtype=torch.float64), rtol=1e-15, atol=0.0)


def test_parse_tolerates_whitespace_and_normalises() -> None:
    mixture = parse_mixture(" 1 : 0 : 1 ,  3:4:0.5 ")
    assert_close(mixture.weights, torch.tensor([0.25, 0.75], dtype=torch.float64))
    assert_close(mixture.means[:, 0], torch.tensor([0.0, 4.0], dtype=torch.float64))


@pytest.mark.parametrize(
    "spec",
    ["", "1:2", "a:b:c", "0:1:1", "1:0:-1", "1:0:0", "1:nan:1", "1:0:inf", "1:0:1,,", "1:0:1:2", "1:0:1,x"],
)
def test_malformed_spec_raises_usage_error(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_mixture(spec)
    message = str(info.value)
    assert message
    assert "\n" not in message


def test_huge_weights_are_normalised_or_rejected() -> None:
    # Each weight is finite, but their sum overflows to inf in float64.
    spec = "1e308:0:1,1e308:1:1"
    try:
        mixture = parse_mixture(spec)
    except UsageError:
        return
    assert torch.isfinite(mixture.weights).all()
    assert_close(mixture.weights, torch.tensor([0.5, 0.5], dtype=torch.float64))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_mixture_fuzz_returns_mixture_or_usage_error(spec: str) -> None:
    try:
        mixture = parse_mixture(spec)
    except UsageError as err:
        assert "\n" not in str(err)
        return
    assert isinstance(mixture, GaussianMixture)
    assert mixture.dim == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True), st.floats(allow_nan=True)),
        min_size=1,
        max_size=4,
    )
)
def test_parse_mixture_fuzz_numeric_fields(components: list[tuple[float, float, float]]) -> None:
    spec = ",".join(f"{w!r}:{m!r}:{s!r}" for w, m, s in components)
    try:
        mixture = parse_mixture(spec)
    except UsageError:
        return
    assert isinstance(mixture, GaussianMixture)
    assert len(mixture.weights) == len(components)


# --- ring and grid ---------------------------------------------------------------------------------------------


def test_ring_has_eight_modes_on_radius_two_circle() -> None:
    mixture = ring()
    assert mixture.dim == 2
    assert mixture.means.shape == (8, 2)
    assert_close(mixture.means.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    angles = torch.sort(torch.remainder(torch.atan2(mixture.means[:, 1], mixture.means[:, 0]), 2 * math.pi)).values
    assert_close(angles, torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8))
    assert_close(mixture.weights, torch.full((8,), 1.0 / 8, dtype=torch.float64))
    assert_close(mixture.stds, torch.full((8,), 0.02, dtype=torch.float64))


def test_grid_has_twenty_five_modes() -> None:
    mixture = grid()
    assert mixture.dim == 2
    assert mixture.means.shape == (25, 2)
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=torch.float64)
    expected = {(float(a), float(b)) for a in axis for b in axis}
    assert {tuple(row.tolist()) for row in mixture.means} == expected
    assert_close(mixture.mean(), torch.zeros(2, dtype=torch.float64), atol=1e-12, rtol=0.0)
    assert_close(mixture.weights.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_ring_samples_lie_near_the_circle() -> None:
    torch.manual_seed(2)
    radii = ring().sample(2000).norm(dim=1)
    assert ((radii - 2.0).abs() < 0.15).all()


# --- TensorSampler ---------------------------------------------------------------------------------------------


def test_tensor_sampler_draws_rows_of_the_tensor() -> None:
    torch.manual_seed(3)
    data = torch.arange(30, dtype=torch.float32).reshape(10, 3)
    sampler = TensorSampler(data)
    assert sampler.dim == 3
    assert isinstance(sampler, Sampler)
    batch = sampler.sample(500)
    assert batch.shape == (500, 3)
    matches = (batch[:, None, :] == data[None]).all(-1)
    assert (matches.sum(1) == 1).all()
    assert len({int(row[0]) for row in batch}) == 10  # all rows get drawn over 500 draws


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), (0, 2), ()])
def test_tensor_sampler_rejects_bad_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(UsageError, match="shape"):
        TensorSampler(torch.zeros(shape))
