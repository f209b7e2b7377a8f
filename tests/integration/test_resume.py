"""Resumable runs: bit-for-bit resume, SIGKILL at random moments, SIGINT, damaged checkpoints."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from fgan.data import ring
from fgan.errors import UsageError
from fgan.models import MLPCritic, MLPGenerator
from fgan.runner import RunConfig, load_generator, resume_run, train_run
from fgan.runs import load_checkpoint, load_latest_checkpoint, prepare_run_dir, read_metrics
from fgan.training import TrainConfig, Trainer, seed_everything
from tests.helpers import sigint_as_in_a_terminal

CONFIG = TrainConfig(
    steps=60,
    batch_size=64,
    lr_generator=1e-3,
    lr_critic=1e-3,
    lr_schedule="linear",
    checkpoint_every=20,
    device="cpu",
    quiet=True,
)


def make_trainer(config: TrainConfig, run_dir: Path) -> Trainer:
    seed_everything(config.seed)
    return Trainer(MLPGenerator(2, latent_dim=3, hidden=16), MLPCritic(2, hidden=16), ring(), "js", config, run_dir)


def parameters(*modules: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for module in modules for p in module.parameters()]


def assert_bitwise_equal(first: list[torch.Tensor], second: list[torch.Tensor]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "change",
    [{}, {"update": "alternating", "critic_steps": 2}, {"optimizer": "sgd", "generator_objective": "alternative"}],
)
def test_resumed_run_ends_bit_for_bit_as_an_uninterrupted_one(tmp_path, change: dict) -> None:
    config = replace(CONFIG, **change)
    whole = make_trainer(config, prepare_run_dir(tmp_path / "whole"))
    whole.train()

    first = make_trainer(config, prepare_run_dir(tmp_path / "cut"))
    first.train(steps=33)  # checkpoints at 20 and, at the end of this call, 33
    second = make_trainer(replace(config, seed=99), tmp_path / "cut")  # other initial weights and RNG state
    path, state = load_latest_checkpoint(tmp_path / "cut")
    assert path.name == "step-00000033.pt"
    second.load_state_dict(state)
    second.train()
    assert second.step == 60
    assert_bitwise_equal(parameters(second.generator, second.critic), parameters(whole.generator, whole.critic))
    assert second.history.bound[-10:] == whole.history.bound[-10:]


def _run(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fgan", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
        **kwargs,
    )


TRAIN = [
    "train",
    "--data",
    "ring",
    "--steps",
    "1500",
    "--batch-size",
    "64",
    "--generator-hidden",
    "32",
    "--critic-hidden",
    "32",
    "--checkpoint-every",
    "50",
    "--device",
    "cpu",
    "--quiet",
]


def _checkpoint_steps(run: Path) -> list[int]:
    return sorted(int(p.stem.split("-")[1]) for p in (run / "checkpoints").glob("step-*.pt"))


def _wait_for_checkpoint(run: Path, process: subprocess.Popen, after: int) -> None:
    """Wait until the run has a checkpoint beyond step ``after`` (or the process ended)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any(step > after for step in _checkpoint_steps(run)):
            return
        time.sleep(0.02)


def test_sigkill_at_random_moments_then_resume_loses_only_the_steps_since_the_last_checkpoint(tmp_path) -> None:
    reference = tmp_path / "reference"
    finished = _run([*TRAIN, "--out", str(reference)])
    assert finished.wait(timeout=120) == 0, finished.stderr.read()

    run = tmp_path / "killed"
    rng = random.Random(1234)
    process = _run([*TRAIN, "--out", str(run)])
    kills, last_step = 0, 0
    while True:
        _wait_for_checkpoint(run, process, last_step)
        time.sleep(rng.uniform(0.0, 0.4))  # a random moment: mid-step, mid-write or mid-flush
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1
        # every file that looks like a checkpoint is whole; the resumed run starts from the newest one
        steps = _checkpoint_steps(run)
        for path in (run / "checkpoints").glob("step-*.pt"):
            assert load_checkpoint(path)["step"] == int(path.stem.split("-")[1])
        assert steps and steps[-1] >= last_step
        last_step = steps[-1]
        process = _run(["train", "--resume", str(run), "--quiet"])
    assert process.wait(timeout=120) == 0, process.stderr.read()
    assert kills >= 3
    metrics = read_metrics(run)
    assert [row["step"] for row in metrics] == list(range(1, 1501))  # each step once: no gap, no repeat
    assert metrics == read_metrics(reference)
    assert_bitwise_equal(parameters(load_generator(run, "cpu")), parameters(load_generator(reference, "cpu")))
    assert not list((run / "checkpoints").glob(".*.tmp"))


def test_sigint_saves_a_checkpoint_and_exits_cleanly(tmp_path) -> None:
    run = tmp_path / "run"
    process = _run([*TRAIN, "--steps", "100000", "--out", str(run)])
    _wait_for_checkpoint(run, process, 0)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    stderr = process.stderr.read()
    assert stderr.count("\n") == 1 and "checkpoint saved" in stderr and "--resume" in stderr, stderr
    saved = _checkpoint_steps(run)[-1]
    assert read_metrics(run)[-1]["step"] == saved  # the checkpoint is of the last finished step
    resumed = _run(["train", "--resume", str(run), "--steps", str(saved + 10), "--quiet"])
    assert resumed.wait(timeout=60) == 0, resumed.stderr.read()
    assert read_metrics(run)[-1]["step"] == saved + 10


def test_a_damaged_newest_checkpoint_and_stray_temporaries_are_passed_over(tmp_path) -> None:
    run = prepare_run_dir(tmp_path / "run")
    make_trainer(CONFIG, run).train(steps=40)  # checkpoints at 20 and 40
    folder = run / "checkpoints"
    (folder / "step-00000040.pt").write_bytes((folder / "step-00000040.pt").read_bytes()[:100])  # cut short
    (folder / ".step-00000060.pt.abc.tmp").write_bytes(b"half a checkpoint")
    path, state = load_latest_checkpoint(run)
    assert path.name == "step-00000020.pt" and state["step"] == 20
    assert not (folder / ".step-00000060.pt.abc.tmp").exists()


def _cli_run(tmp_path: Path) -> Path:
    from fgan.cli import main

    run = tmp_path / "run"
    assert main([*TRAIN, "--steps", "60", "--out", str(run)]) == 0
    return run


def test_resume_refuses_a_checkpoint_of_another_model_in_one_line(tmp_path) -> None:
    run = _cli_run(tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["model"]["generator_hidden"] = 48
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(UsageError, match="does not match") as error:
        resume_run(run, steps=80)
    assert "\n" not in str(error.value)


def test_resume_refuses_a_checkpoint_of_another_divergence(tmp_path) -> None:
    run = _cli_run(tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["divergence"] = "kl"
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(UsageError, match="trained with divergence 'js'"):
        resume_run(run, steps=80)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "0.1"], "cannot change: lr"),
        (["--divergence", "kl"], "cannot change: divergence"),
        (["--steps", "10"], "beyond the 10 steps"),
    ],
)
def test_bad_resume_options_are_one_line_errors(tmp_path, capsys, argv: list[str], message: str) -> None:
    from fgan.cli import main

    run = _cli_run(tmp_path)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_resume_of_a_folder_without_a_run_is_a_one_line_error(tmp_path, capsys) -> None:
    from fgan.cli import main

    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    os.makedirs(tmp_path / "empty" / "checkpoints")
    (tmp_path / "empty" / "config.json").write_text("{not json")
    assert main(["train", "--resume", str(tmp_path / "empty")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_resume_run_changes_only_resumable_options(tmp_path) -> None:
    """What a resumed run may change comes from the options' declarations, not from a list in resume_run."""
    run = tmp_path / "run"
    train_run(RunConfig(data="ring", train=TrainConfig(steps=4, batch_size=16, quiet=True, device="cpu")), run)
    with pytest.raises(UsageError, match="cannot change: batch_size"):
        resume_run(run, batch_size=32)
    trainer = resume_run(run, steps=6, logger="none", device=None)
    assert trainer.step == 6 and trainer.config.batch_size == 16


def _learning_rates(run: Path) -> list[float]:
    """The critic's step size in each checkpoint of ``run``, oldest first."""
    paths = sorted((run / "checkpoints").glob("step-*.pt"))
    return [load_checkpoint(path)["critic_optimizer"]["param_groups"][0]["lr"] for path in paths]


def test_extending_a_finished_linear_run_keeps_its_schedule_and_says_so(tmp_path, capsys) -> None:
    from fgan.cli import main

    run = tmp_path / "run"
    linear = [*TRAIN, "--steps", "40", "--lr-schedule", "linear", "--lr", "1e-3", "--checkpoint-every", "10"]
    assert main([*linear, "--out", str(run)]) == 0
    finished = parameters(load_generator(run, "cpu"))
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "60"]) == 0
    err = capsys.readouterr().err
    assert "the linear schedule keeps its end, so the step sizes stay at their final value, 0, until step 60" in err
    assert json.loads((run / "config.json").read_text())["train"]["lr_schedule_span"] == [0, 40]
    assert _learning_rates(run)[-1] == 0.0
    assert_bitwise_equal(parameters(load_generator(run, "cpu")), finished)  # a rate of 0 moves nothing


def test_a_warm_restart_restarts_the_linear_decay_to_the_new_end(tmp_path, capsys) -> None:
    from fgan.cli import main

    run = tmp_path / "run"
    linear = [*TRAIN, "--steps", "40", "--lr-schedule", "linear", "--lr", "1e-3", "--checkpoint-every", "10"]
    assert main([*linear, "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "60", "--warm-restart", "--checkpoint-every", "10"]) == 2
    assert "cannot change: checkpoint_every" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--steps", "80", "--warm-restart"]) == 0
    assert "warm restart at step 40: the step sizes restart at their full value" in capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["train"]["lr_schedule_span"] == [40, 80]
    steps = sorted(int(p.stem.split("-")[1]) for p in (run / "checkpoints").glob("step-*.pt"))
    expected = {step: 1e-3 * min(1.0, max(0.0, 1 - (step - 40) / 40)) for step in (40, 50, 60, 70, 80)}
    assert _learning_rates(run) == pytest.approx([expected[step] for step in steps[-3:]], abs=1e-12)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr-schedule", "constant"], "this run's is constant"),
        ([], "needs --resume RUN"),
    ],
)
def test_a_warm_restart_needs_a_resumed_linear_run(tmp_path, capsys, argv: list[str], message: str) -> None:
    from fgan.cli import main

    run = tmp_path / "run"
    if argv:
        assert main([*TRAIN, "--steps", "20", *argv, "--out", str(run)]) == 0
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--steps", "30", "--warm-restart"]) == 2
    else:
        assert main([*TRAIN, "--steps", "20", "--warm-restart", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
