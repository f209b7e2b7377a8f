"""--logger tensorboard: every step's scalars once (also across a resume), sample grids, evaluation numbers, and a
one-line error without the extra."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fgan.cli import main
from fgan.data import ring
from fgan.errors import UsageError
from fgan.loggers import MISSING_EXTRA, SCALAR_TAGS, TENSORBOARD_DIR, TensorBoardLogger
from fgan.models import MLPCritic, build_generator
from fgan.runner import RunConfig, train_run
from fgan.training import TrainConfig, Trainer
from tests.helpers import quick_run

QUICK = quick_run(batch_size=32)
TAGS = {*SCALAR_TAGS.values(), "lr/critic", "lr/generator"}


def events(folder: Path) -> EventAccumulator:
    """Everything TensorBoard shows of ``folder`` (no sampling: every scalar and image kept)."""
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def scalar_steps(accumulator: EventAccumulator, tag: str) -> list[int]:
    return [event.step for event in accumulator.Scalars(tag)]


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def assert_matches_metrics(run: Path, steps: int) -> None:
    """Each tag holds steps 1..steps once, with metrics.jsonl's values (TensorBoard keeps float32)."""
    accumulator = events(run / TENSORBOARD_DIR)
    assert set(accumulator.Tags()["scalars"]) == TAGS
    rows = metrics(run)
    assert [row["step"] for row in rows] == list(range(1, steps + 1))
    for name, tag in SCALAR_TAGS.items():
        logged = accumulator.Scalars(tag)
        assert [event.step for event in logged] == list(range(1, steps + 1)), tag
        assert [event.value for event in logged] == [float(np.float32(row[name])) for row in rows], tag


def test_a_synthetic_run_logs_every_step_once_with_metrics_jsonl_values(tmp_path) -> None:
    run = tmp_path / "run"
    # log_every is 50: written at steps 50 and 100, the rest at the end; checkpoints flush the metrics in between
    command = ["train", "--data", "ring", "--steps", "120", "--checkpoint-every", "30", "--out", str(run), *QUICK]
    assert main([*command, "--logger", "tensorboard"]) == 0
    assert json.loads((run / "config.json").read_text())["logger"] == "tensorboard"
    assert_matches_metrics(run, 120)
    learning_rates = events(run / TENSORBOARD_DIR).Scalars("lr/critic")  # linear: 1e-3 falling to 0 at step 120
    assert [event.value for event in learning_rates[::30]] == [
        pytest.approx(1e-3 * (1 - (step - 1) / 120), rel=1e-6) for step in (1, 31, 61, 91)
    ]


def test_rows_are_written_at_each_log_step_and_the_rest_on_close_without_non_finite_values(tmp_path) -> None:
    generator, critic = build_generator("mlp", 2, 4, 8, 1), MLPCritic(2, 8, 1, "tanh")
    trainer = Trainer(
        generator,
        critic,
        ring(),
        "js",
        TrainConfig(steps=10, batch_size=16, log_every=3, quiet=True),
    )
    logger = TensorBoardLogger(trainer, tmp_path)
    written = []
    trainer.add_callback(1, lambda trainer: written.append((trainer.step, logger._written)))
    trainer.train()
    assert written == [(1, 0), (2, 0), (3, 3), (4, 3), (5, 3), (6, 6), (7, 6), (8, 6), (9, 9), (10, 9)]
    nan_row = {"step": 11, "bound": None, "critic_loss": 0.5, "generator_loss": float("nan")}
    trainer.history.append(nan_row)
    logger.close()
    accumulator = events(tmp_path)
    assert scalar_steps(accumulator, "divergence/bound") == list(range(1, 11))
    assert scalar_steps(accumulator, "loss/critic") == list(range(1, 12))
    assert scalar_steps(accumulator, "loss/generator") == list(range(1, 11))


def test_an_image_run_logs_its_sample_grids_and_evaluate_its_numbers(tmp_path) -> None:
    run = tmp_path / "run"
    command = ["train", "--data", "digits", "--steps", "12", "--sample-every", "5", "--out", str(run), *QUICK]
    assert main([*command, "--logger", "tensorboard"]) == 0
    accumulator = events(run / TENSORBOARD_DIR)
    grids = accumulator.Images("samples")
    assert [grid.step for grid in grids] == [5, 10, 12]  # every --sample-every steps and at the end
    assert (grids[0].width, grids[0].height) == (82, 82)  # 8x8 tiles of 8x8 digits, 2 pixels apart
    assert scalar_steps(accumulator, "divergence/bound") == list(range(1, 13))
    assert main(["evaluate", str(run), "--n", "300", "--validation", "200", "--device", "cpu"]) == 0
    kde = json.loads((run / "evaluation.json").read_text())["kde"]
    logged = events(run / TENSORBOARD_DIR).Scalars("eval/kde/mean")
    assert [(event.step, event.value) for event in logged] == [(12, pytest.approx(kde["mean"], rel=1e-6))]


def test_a_resumed_run_continues_the_step_sequence_without_duplicates(tmp_path) -> None:
    run = tmp_path / "run"
    options = tmp_path / "options.toml"
    options.write_text('data = "ring"\nlogger = "tensorboard"\ncheckpoint-every = 20\n')
    assert main(["train", "--config", str(options), "--steps", "60", "--out", str(run), *QUICK]) == 0
    for checkpoint in ("step-00000040.pt", "step-00000060.pt"):  # a crash after step 60, with only step 20 saved
        (run / "checkpoints" / checkpoint).unlink()
    assert main(["train", "--resume", str(run), "--steps", "70", "--quiet"]) == 0
    assert len(list((run / TENSORBOARD_DIR).iterdir())) == 2  # the same folder, one event file per session
    assert_matches_metrics(run, 70)  # steps 21..60 logged twice, shown once


def test_logger_none_writes_no_tensorboard_folder_and_a_resume_may_turn_it_on(tmp_path) -> None:
    run = tmp_path / "run"
    assert (
        main(["train", "--data", "ring", "--steps", "20", "--checkpoint-every", "10", "--out", str(run), *QUICK]) == 0
    )
    assert not (run / TENSORBOARD_DIR).exists()
    config = json.loads((run / "config.json").read_text())
    assert config.pop("logger") == "none"
    (run / "config.json").write_text(json.dumps(config))  # as saved before the option existed
    assert RunConfig.from_dict(config).logger == "none"
    assert main(["train", "--resume", str(run), "--steps", "30", "--logger", "tensorboard", "--quiet"]) == 0
    assert json.loads((run / "config.json").read_text())["logger"] == "tensorboard"
    assert scalar_steps(events(run / TENSORBOARD_DIR), "divergence/bound") == list(range(21, 31))


def test_without_the_extra_asking_for_tensorboard_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # what `import` sees when it is missing
    options = tmp_path / "options.toml"
    options.write_text('logger = "tensorboard"\n')
    assert main(["train", "--config", str(options), "--steps", "2", "--out", str(tmp_path / "run"), *QUICK]) == 2
    assert capsys.readouterr().err == f"fgan: error: {MISSING_EXTRA}\n"
    assert not (tmp_path / "run").exists()
    with pytest.raises(UsageError, match="unknown logger 'wandb'; valid: none, tensorboard"):
        train_run(RunConfig(logger="wandb"), tmp_path / "other")
    assert not (tmp_path / "other").exists()
