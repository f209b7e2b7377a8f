"""Mode-coverage metrics on the ring and grid (:mod:`fgan.modes`)."""

from __future__ import annotations

import math

import pytest
import torch

from fgan import modes
from fgan.data import grid, ring
from fgan.errors import UsageError
from fgan.modes import min_count_for, mode_coverage

#: The mass of a 2-D isotropic Gaussian within 3σ of its mean.
MASS_WITHIN_3_SIGMA = 1.0 - math.exp(-4.5)


@pytest.mark.parametrize("mixture", [ring(), grid()], ids=["ring", "grid"])
def test_samples_of_the_mixture_cover_every_mode_evenly_and_sharply(mixture) -> None:
    torch.manual_seed(0)
    coverage = mode_coverage(mixture.sample(20_000), mixture)
    assert coverage.modes_covered == coverage.n_modes == len(mixture.means)
    assert coverage.high_quality_share == pytest.approx(MASS_WITHIN_3_SIGMA, abs=0.004)
    assert sum(coverage.per_mode_counts) == round(coverage.high_quality_share * 20_000)
    assert coverage.min_count == 40
    assert 0.0 <= coverage.kl_to_uniform < 0.01


def test_samples_of_three_ring_modes_cover_exactly_three() -> None:
    mixture = ring()
    torch.manual_seed(0)
    means, component = mixture.means.float(), torch.randint(3, (6000,))
    samples = means[component] + 0.02 * torch.randn(6000, 2)
    coverage = mode_coverage(samples, mixture)
    assert coverage.modes_covered == 3
    assert coverage.per_mode_counts[3:] == [0] * 5
    assert coverage.kl_to_uniform == pytest.approx(math.log(8 / 3), abs=0.01)


def test_samples_spread_over_a_big_square_are_mostly_low_quality() -> None:
    torch.manual_seed(0)
    coverage = mode_coverage(12.0 * torch.rand(10_000, 2) - 6.0, ring())
    assert coverage.high_quality_share < 0.01
    assert coverage.modes_covered == 0


def test_a_sample_counts_within_three_sigma_and_not_beyond() -> None:
    mixture = ring()  # mode 0 at (2, 0), σ = 0.02; mode 2 at (0, 2)
    samples = torch.tensor([[2.0 + 2.9 * 0.02, 0.0], [2.0 + 3.1 * 0.02, 0.0], [0.0, 2.0 - 2.9 * 0.02]])
    coverage = mode_coverage(samples, mixture, min_share=0.0)
    assert coverage.per_mode_counts == [1, 0, 1, 0, 0, 0, 0, 0]
    assert coverage.high_quality_share == pytest.approx(2 / 3)
    assert coverage.modes_covered == 2
    assert mode_coverage(samples, mixture, sigmas=3.2).per_mode_counts[0] == 2


def test_a_mode_needs_min_share_of_all_samples_to_be_covered() -> None:
    assert min_count_for(10_000, 0.002) == 20 and min_count_for(10, 0.002) == 1 and min_count_for(5, 0.0) == 1
    mixture = ring()
    far = torch.full((10_000, 2), 100.0)
    far[:20] = mixture.means[0].float()  # 20 of 10,000 on mode 0: covered
    far[20:39] = mixture.means[1].float()  # 19 on mode 1: not
    coverage = mode_coverage(far, mixture)
    assert coverage.per_mode_counts[:2] == [20, 19] and coverage.modes_covered == 1


def test_non_finite_samples_are_never_high_quality() -> None:
    mixture = ring()
    samples = torch.tensor([[math.nan, 0.0], [math.inf, 0.0], [-math.inf, math.nan], [2.0, 0.0]])
    coverage = mode_coverage(samples, mixture, min_share=0.0)
    assert coverage.per_mode_counts == [1, 0, 0, 0, 0, 0, 0, 0] and coverage.high_quality_share == 0.25


def test_no_high_quality_sample_has_no_histogram_kl() -> None:
    coverage = mode_coverage(torch.full((5, 2), 50.0), grid())
    assert coverage.kl_to_uniform is None and coverage.modes_covered == 0 and coverage.high_quality_share == 0.0


def test_chunks_give_the_same_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    mixture = grid()
    torch.manual_seed(1)
    samples = mixture.sample(30_000) * 1.05  # some samples pushed beyond 3σ
    whole = mode_coverage(samples, mixture)
    monkeypatch.setattr(modes, "CHUNK", 777)
    assert mode_coverage(samples, mixture) == whole


@pytest.mark.parametrize(
    ("samples", "options", "message"),
    [
        (torch.zeros(10, 3), {}, r"shape \(n, 2\)"),
        (torch.zeros(10), {}, r"shape \(n, 2\)"),
        (torch.zeros(0, 2), {}, "no samples"),
        (torch.zeros(10, 2), {"sigmas": 0.0}, "sigmas"),
        (torch.zeros(10, 2), {"min_share": 1.5}, "min share"),
    ],
)
def test_bad_input_is_a_usage_error(samples, options, message) -> None:
    with pytest.raises(UsageError, match=message):
        mode_coverage(samples, ring(), **options)
