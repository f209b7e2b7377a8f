"""The mode-seeking experiment (``fgan reproduce modes``, :mod:`fgan.experiments.mode_coverage`)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from fgan.data import grid
from fgan.errors import UsageError
from fgan.experiments.mode_coverage import (
    ModeCoverage,
    ModeRow,
    ModesOptions,
    check_names,
    default_config,
    format_table,
    plot_modes,
    run_modes,
    summarise,
    train_one,
    write_outputs,
)
from fgan.training import NonFiniteError, Trainer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tiny_config():
    return replace(default_config(steps=30), batch_size=64)


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


def test_a_stabilized_reproduction_shows_plain_and_stabilized_side_by_side(tmp_path: Path) -> None:
    """``--stabilizer`` trains every run twice, plain first: the table has a stabiliser column, each pair adjacent,
    and the figure a panel of each."""
    options = ModesOptions(
        datasets=("ring",), divergences=("kl", "gan"), seeds=(0,), samples=500, train=replace(tiny_config(), steps=5)
    )
    options.train.stabilizer = ("r1",)
    result = ModeCoverage().run(options, tmp_path / "modes")
    assert [(row.divergence, row.stabilizer) for row in result.rows] == [
        ("kl", "none"),
        ("kl", "r1"),
        ("gan", "none"),
        ("gan", "r1"),
    ]
    table = (tmp_path / "modes" / "table.md").read_text()
    assert "| dataset | divergence | stabilizer | modes covered |" in table
    assert table.index("| ring | kl | none |") < table.index("| ring | kl | r1 |") < table.index("| ring | gan |")
    assert (tmp_path / "modes" / "modes-ring.png").read_bytes().startswith(PNG_MAGIC)
    plain = format_table(summarise(result.rows[::2]))
    assert "stabilizer" not in plain  # the plain table keeps its columns
