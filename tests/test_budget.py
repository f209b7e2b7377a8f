"""fgan.budget: training in segments under a step or time budget, and a killed run that continues where it stopped.

The trainer's clock is replaced by one that advances a second per reading, so that a segment of 2.5 seconds is two
steps, whatever the machine's load."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from fgan import budget, training
from fgan.budget import BUDGET_FILE, read_spent, train_within_budget
from fgan.runner import ModelConfig, RunConfig, train_run
from fgan.runs import read_metrics
from fgan.training import TrainConfig

pytestmark = pytest.mark.usefixtures("two_steps_a_segment")


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
def two_steps_a_segment(monkeypatch) -> None:
    """Segments of 2.5 s by a trainer's clock that advances 1 s per reading: each segment takes two steps."""
    clock = itertools.count()
    monkeypatch.setattr(
        training,
        "time",
        SimpleNamespace(monotonic=lambda: float(next(clock)), strftime=time.strftime, perf_counter=time.perf_counter),
    )
    monkeypatch.setattr(budget, "SEGMENT_SECONDS", 2.5)


@pytest.fixture
def uninterrupted(tmp_path: Path) -> list[torch.Tensor]:
    """The generator of a 6-step run trained in one go."""
    return parameters(train_run(digits_run(6), tmp_path / "once").generator)


def test_a_run_in_many_segments_ends_as_the_run_in_one(tmp_path, monkeypatch, uninterrupted) -> None:
    segments = []
    resume_run = budget.resume_run
    monkeypatch.setattr(budget, "resume_run", lambda *a, **k: segments.append(k) or resume_run(*a, **k))
    trainer, seconds = train_within_budget(digits_run(6), tmp_path / "segments", None)
    assert trainer.step == 6 and seconds > 0
    assert_same(parameters(trainer.generator), uninterrupted)
    assert [call["time_limit"] for call in segments] == [2.5, 2.5]  # steps 1-2 trained by train_run, then 3-4, 5-6
    assert [row["step"] for row in read_metrics(tmp_path / "segments")] == list(range(1, 7))
    spent = read_spent(tmp_path / "segments")
    assert spent is not None and spent.step == 6 and spent.seconds == pytest.approx(seconds)


def test_a_killed_run_continues_from_its_last_segment(tmp_path, monkeypatch, uninterrupted) -> None:
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
        train_within_budget(digits_run(6), out, None)
    before = read_spent(out)
    assert before is not None and before.step == 4  # two segments of two steps, checkpointed
    monkeypatch.setattr(budget, "resume_run", resume_run)
    trainer, seconds = train_within_budget(digits_run(6), out, None, resume=True)
    assert trainer.step == 6 and seconds > before.seconds
    assert_same(parameters(trainer.generator), uninterrupted)  # continued, not started again
    assert [row["step"] for row in read_metrics(out)] == list(range(1, 7))


def test_a_time_budget_is_spent_in_segments(tmp_path, monkeypatch) -> None:
    clock = itertools.count()  # every segment takes 1 s by the budget's clock
    monkeypatch.setattr(budget, "time", SimpleNamespace(perf_counter=lambda: float(next(clock))))
    limits = []
    resume_run = budget.resume_run
    monkeypatch.setattr(budget, "resume_run", lambda *a, **k: limits.append(k["time_limit"]) or resume_run(*a, **k))
    trainer, seconds = train_within_budget(digits_run(10**9), tmp_path / "timed", 3.5)
    # segments of 2.5 s (2 steps), 1.5 s (1 step) and 0.5 s (no step: the run stops there, the budget spent)
    assert limits == [2.5, 1.5, 0.5] and trainer.step == 5 and seconds == 4.0
    assert json.loads((tmp_path / "timed" / BUDGET_FILE).read_text()) == {"step": 5, "seconds": 4.0}


def test_without_resume_or_without_a_checkpoint_a_run_starts_afresh(tmp_path, uninterrupted) -> None:
    out = tmp_path / "fresh"
    out.mkdir()
    (out / BUDGET_FILE).write_text(json.dumps({"step": 5, "seconds": 1.0}))  # but no checkpoint
    assert read_spent(out) is None
    trainer, _ = train_within_budget(digits_run(6), out, None, resume=True)
    assert_same(parameters(trainer.generator), uninterrupted)
    again, _ = train_within_budget(digits_run(6), out, None)  # resume=False: trained again from step 0
    assert again.step == 6 and [row["step"] for row in read_metrics(out)] == list(range(1, 7))
