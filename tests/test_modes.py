"""Mode-coverage metrics on the ring and grid, and the mode-seeking experiment (``fgan reproduce modes``)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from fgan import modes
from fgan.data import grid, ring
from fgan.errors import UsageError
from fgan.experiments.mode_coverage import (
    ModeRow,
    check_names,
    default_config,
    format_table,
    plot_modes,
    run_modes,
    summarise,
    train_one,
    write_outputs,
)
from fgan.modes import min_count_for, mode_coverage
from fgan.training import NonFiniteError, Trainer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: The mass of a 2-D isotropic Gaussian within 3σ of its mean.
MASS_WITHIN_3_SIGMA = 1.0 - math.exp(-4.5)


def tiny_config():
    return replace(default_config(steps=30), batch_size=64)


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


def test_default_config_is_the_synthetic_training_in_memory() -> None:
    config = default_config(steps=123, seed=4)
    assert (config.steps, config.seed, config.batch_size, config.lr_generator, config.lr_critic) == (
        123,
        4,
        512,
        1e-3,
        1e-3,
    )
    assert config.lr_schedule == "linear" and config.device == "cpu" and config.quiet
    assert config.checkpoint_every == 0  # no run folder to write checkpoints to


def test_train_one_returns_a_scored_row_and_the_samples() -> None:
    row, samples = train_one("ring", "kl", tiny_config(), samples=2000)
    assert (row.dataset, row.divergence, row.seed, row.steps, row.status, row.n_modes) == (
        "ring",
        "kl",
        0,
        30,
        "trained",
        8,
    )
    assert 0 <= row.modes_covered <= 8 and 0.0 <= row.high_quality_share <= 1.0 and row.seconds > 0
    assert samples.shape == (2000, 2) and torch.isfinite(samples).all()


def test_unknown_names_are_usage_errors() -> None:
    assert check_names(["grid"], ["KL", "gan"]) == ["kl", "gan"]
    with pytest.raises(UsageError, match="unknown data set 'moons'"):
        check_names(["moons"], ["kl"])
    with pytest.raises(UsageError, match="nope"):
        check_names(["ring"], ["nope"])
    with pytest.raises(UsageError, match="no seeds"):
        run_modes(["ring"], ["kl"], [], tiny_config())


def test_a_diverging_run_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    train = Trainer.train

    def diverge_under_pearson(self: Trainer, *args, **kwargs):
        if self.divergence.name == "pearson":
            self.step = 7
            raise NonFiniteError("non-finite bound F at step 8 with divergence pearson")
        return train(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train", diverge_under_pearson)
    messages: list[str] = []
    rows, samples = run_modes(["ring", "grid"], ["kl", "pearson"], [0], tiny_config(), 2000, messages.append)
    assert len(messages) == len(rows) == 4 and messages[0] == "[1/4] ring, kl, seed 0: 30 steps"
    assert [(row.dataset, row.divergence, row.status) for row in rows] == [
        ("ring", "kl", "trained"),
        ("ring", "pearson", "diverged at step 8"),
        ("grid", "kl", "trained"),
        ("grid", "pearson", "diverged at step 8"),
    ]
    assert rows[1].modes_covered is None and rows[1].steps == 7 and rows[3].n_modes == 25
    assert samples["ring"]["pearson"] is None and samples["grid"]["kl"].shape == (2000, 2)

    summaries = summarise(rows)
    assert [(s.dataset, s.divergence, s.runs, s.diverged) for s in summaries] == [
        ("ring", "kl", 1, 0),
        ("ring", "pearson", 1, 1),
        ("grid", "kl", 1, 0),
        ("grid", "pearson", 1, 1),
    ]
    assert summaries[1].modes_mean is None
    table = format_table(summaries, rows)
    assert table.count("\n| ring |") == 2 and "| ring | pearson | — of 8 | — | — | 1/1 |" in table
    assert "grid, pearson, seed 0: diverged at step 8" in table

    write_outputs(rows, samples, tmp_path, meta={"experiment": "modes"})
    for name in ("modes-ring.png", "modes-grid.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC
    saved = json.loads((tmp_path / "table.json").read_text())
    assert saved["experiment"] == "modes" and len(saved["rows"]) == 4 and len(saved["summaries"]) == 4
    assert (tmp_path / "table.md").read_text().startswith("| dataset | divergence | modes covered |")


def row(seed: int, modes_covered: int | None, quality: float | None, status: str = "trained") -> ModeRow:
    return ModeRow("ring", "js", seed, 100, 1.0, status, modes_covered, 8, quality, None if quality is None else 0.1)


def test_summaries_average_over_the_seeds_that_trained() -> None:
    rows = [row(0, 8, 0.95), row(1, 6, 0.75), row(2, None, None, "diverged at step 3")]
    (summary,) = summarise(rows)
    assert (summary.runs, summary.diverged, summary.modes_mean) == (3, 1, 7.0)
    assert summary.quality_mean == pytest.approx(0.85)
    assert summary.modes_std == pytest.approx(math.sqrt(2)) and summary.quality_std == pytest.approx(math.sqrt(0.02))
    table = format_table([summary])
    assert "| ring | js | 7.0 ± 1.4 of 8 | 0.850 ± 0.141 | 0.100 | 1/3 |" in table
    (single,) = summarise([row(0, 8, 0.9)])
    assert single.modes_std is None and "| 8.0 of 8 | 0.900 |" in format_table([single])


def test_plot_modes_draws_a_panel_per_divergence(tmp_path: Path) -> None:
    mixture = grid()
    torch.manual_seed(0)
    path = tmp_path / "figure" / "modes.png"
    plot_modes({"kl": mixture.sample(500), "tv": None, "js": mixture.sample(500)}, mixture, path, "grid")
    assert path.read_bytes()[:8] == PNG_MAGIC
