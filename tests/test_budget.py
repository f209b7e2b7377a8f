"""fgan.budget: training in segments under a step or time budget, and a killed run that continues where it stopped."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from fgan import budget
from fgan.budget import BUDGET_FILE, read_spent, train_within_budget
from fgan.runner import ModelConfig, RunConfig, train_run
from fgan.runs import read_metrics
from fgan.training import TrainConfig


def digits_run(steps: int) -> RunConfig:
    train = TrainConfig(steps=steps, batch_size=16, device="cpu", quiet=True, seed=3)
    return RunConfig(data="digits", divergence="gan", model=ModelConfig(model="mnist-mlp"), train=train)


def parameters(module: torch.nn.Module) -> list[torch.Tensor]:
    return [value.detach().clone() for value in module.state_dict().values()]


def assert_same(first: list[torch.Tensor], second: list[torch.Tensor]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


@pytest.fixture
def uninterrupted(tmp_path: Path) -> list[torch.Tensor]:
    """The generator of a 4-step run trained in one go."""
    return parameters(train_run(digits_run(4), tmp_path / "once").generator)


def test_a_run_in_many_segments_ends_as_the_run_in_one(tmp_path, monkeypatch, uninterrupted) -> None:
    monkeypatch.setattr(budget, "SEGMENT_SECONDS", 1e-9)  # a step or so per segment
    trainer, seconds = train_within_budget(digits_run(4), tmp_path / "segments", None)
    assert trainer.step == 4 and seconds > 0
    assert_same(parameters(trainer.generator), uninterrupted)
    assert [row["step"] for row in read_metrics(tmp_path / "segments")] == list(range(1, 5))
    spent = read_spent(tmp_path / "segments")
    assert spent is not None and spent.step == 4 and spent.seconds == pytest.approx(seconds)


def test_a_killed_run_continues_from_its_last_segment(tmp_path, monkeypatch, uninterrupted) -> None:
    monkeypatch.setattr(budget, "SEGMENT_SECONDS", 1e-9)
    calls = []

    def killed(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies in its third segment, before that segment's checkpoint
        return resume_run(*args, **kwargs)

    resume_run = budget.resume_run
    monkeypatch.setattr(budget, "resume_run", killed)
    out = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        train_within_budget(digits_run(4), out, None)
    before = read_spent(out)
    assert before is not None and 0 < before.step < 4
    monkeypatch.setattr(budget, "resume_run", resume_run)
    trainer, seconds = train_within_budget(digits_run(4), out, None, resume=True)
    assert trainer.step == 4 and seconds > before.seconds
    assert_same(parameters(trainer.generator), uninterrupted)  # continued, not started again
    assert [row["step"] for row in read_metrics(out)] == list(range(1, 5))


def test_a_time_budget_is_spent_in_segments(tmp_path, monkeypatch) -> None:
    clock = iter(0.15 * index for index in range(1000))  # every segment takes 0.15 s by the budget's clock
    monkeypatch.setattr(budget, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    monkeypatch.setattr(budget, "SEGMENT_SECONDS", 0.2)
    limits = []
    resume_run = budget.resume_run
    monkeypatch.setattr(budget, "resume_run", lambda *a, **k: limits.append(k["time_limit"]) or resume_run(*a, **k))
    trainer, seconds = train_within_budget(digits_run(10**9), tmp_path / "timed", 0.5)
    assert limits == pytest.approx([0.2, 0.2, 0.05])  # what is left of the budget, at most a segment
    assert seconds == pytest.approx(0.6) and trainer.step > 0
    assert json.loads((tmp_path / "timed" / BUDGET_FILE).read_text()) == {"step": trainer.step, "seconds": seconds}


def test_without_resume_or_without_a_checkpoint_a_run_starts_afresh(tmp_path, uninterrupted) -> None:
    out = tmp_path / "fresh"
    out.mkdir()
    (out / BUDGET_FILE).write_text(json.dumps({"step": 5, "seconds": 1.0}))  # but no checkpoint
    assert read_spent(out) is None
    trainer, _ = train_within_budget(digits_run(4), out, None, resume=True)
    assert_same(parameters(trainer.generator), uninterrupted)
    again, _ = train_within_budget(digits_run(4), out, None)  # resume=False: trained again from step 0
    assert again.step == 4 and [row["step"] for row in read_metrics(out)] == list(range(1, 5))
