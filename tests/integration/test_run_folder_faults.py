"""Faults around a run folder, through the command line: two writers, file-system errors, hand-edited or foreign
files, Ctrl-C and a kill before the first checkpoint. Each ends in one line (exit code 2, or 130 for Ctrl-C) and
leaves the folder's finished work as it was."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from fgan.cli import main
from fgan.runs import checkpoint_files, read_metrics
from tests.helpers import quick_run, run_state, sigint_as_in_a_terminal

SMALL = ["--data", "ring", "--batch-size", "64", "--generator-hidden", "16", "--critic-hidden", "16"]
QUICK = quick_run()
#: Runs ``fgan``; with ``FGAN_TEST_LOAD_UNTIL`` set to a path, ``fgan.runner.load_data`` first prints ``loading``
#: and waits (up to 2 minutes) until that file exists (data that takes long to load); with ``FGAN_TEST_TRAIN_UNTIL``,
#: ``fgan.training.Trainer.train`` prints ``training`` and waits (a first step that takes long).
SLOW = """
import os, sys, time
import fgan.runner as runner, fgan.training as training
load, train = runner.load_data, training.Trainer.train
def slow(wrapped, marker, variable):
    def call(*args, **kwargs):
        if variable in os.environ:
            print(marker, file=sys.stderr, flush=True)
            deadline = time.monotonic() + 120
            while not os.path.exists(os.environ[variable]) and time.monotonic() < deadline:
                time.sleep(0.05)
        return wrapped(*args, **kwargs)
    return call
runner.load_data = slow(load, "loading", "FGAN_TEST_LOAD_UNTIL")
training.Trainer.train = slow(train, "training", "FGAN_TEST_TRAIN_UNTIL")
from fgan.cli import main
sys.exit(main())
"""


def fgan(args: list[str], cwd: Path, **environment: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SLOW, *args],
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1", **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )


def error_line(capsys) -> str:
    """The one line a command printed on stderr (asserting there is exactly one)."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def steps_logged(run: Path) -> list[int]:
    return [row["step"] for row in read_metrics(run)]


def wait_for(process: subprocess.Popen, marker: str) -> None:
    """Read the process's stderr up to the line ``marker``."""
    assert process.stderr is not None
    for line in process.stderr:
        if line.strip() == marker:
            return
    pytest.fail(f"the process ended without {marker!r}")


def finish(process: subprocess.Popen) -> tuple[int, str]:
    _, err = process.communicate(timeout=240)
    return process.returncode, err


def test_two_writers_started_together_one_is_refused_in_one_line_and_each_step_is_logged_once(tmp_path) -> None:
    train = ["train", *SMALL, "--steps", "400", "--out", "run", *QUICK]
    first, second = fgan(train, tmp_path), fgan(train, tmp_path)
    outcomes = sorted([finish(first), finish(second)])
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    refused = outcomes[1][1].strip()
    assert "\n" not in refused and refused.startswith("fgan: error: ")
    assert "in use by another fgan process" in refused or "already holds a run" in refused
    assert steps_logged(tmp_path / "run") == list(range(1, 401))


def test_a_second_writer_and_a_second_resume_are_refused_while_one_runs(tmp_path) -> None:
    run = tmp_path / "run"
    assert main(["train", *SMALL, "--steps", "20", "--out", str(run), *QUICK]) == 0
    go = tmp_path / "go"
    slow = {"FGAN_TEST_TRAIN_UNTIL": str(go)}
    resumed = fgan(["train", "--resume", "run", "--steps", "40", "--quiet"], tmp_path, **slow)
    wait_for(resumed, "training")  # it holds the lock, and sleeps
    for args in (["train", "--resume", "run", "--steps", "60", "--quiet"], ["train", *SMALL, "--out", "run", *QUICK]):
        other = fgan(args, tmp_path)
        code, err = finish(other)
        assert code == 2 and err.strip().splitlines()[-1].startswith(
            f"fgan: error: run folder run is in use by another fgan process (process {resumed.pid})"
        ), err
    go.touch()
    assert finish(resumed)[0] == 0
    assert steps_logged(run) == list(range(1, 41))


def test_two_resumes_started_together_log_each_step_once(tmp_path) -> None:
    run = tmp_path / "run"
    assert main(["train", *SMALL, "--steps", "20", "--out", str(run), *QUICK]) == 0
    resume = ["train", "--resume", "run", "--steps", "300", "--quiet"]
    outcomes = sorted([finish(fgan(resume, tmp_path)), finish(fgan(resume, tmp_path))])
    assert outcomes[0][0] == 0 and outcomes[1][0] in (0, 2), outcomes  # the second may come after the first ended
    assert steps_logged(run) == list(range(1, 301))


def symlink_loop(tmp_path: Path) -> str:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    return str(tmp_path / "loop" / "x")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("finished") / "run"
    assert main(["train", *SMALL, "--steps", "20", "--checkpoint-every", "10", "--out", str(run), *QUICK]) == 0
    return run


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["train", *SMALL, "--steps", "5", "--out", "/proc/x", *QUICK], "/proc/x"),
        (["train", *SMALL, "--steps", "5", "--out", "LOOP", *QUICK], "loop/x"),
        (["sample", "RUN", "--n", "10", "--out", "/proc/x/s.npy"], "/proc/x"),
        (["sample", "RUN", "--n", "10", "--out", "LOOP/s.png"], "loop/x"),
        (["report", "RUN", "--out", "/proc/x.html"], "/proc/x.html"),
        (["plot", "conjugate", "--divergence", "tv", "--out", "/proc/x.svg"], "/proc/x.svg"),
        (["reproduce", "gaussian-mixture", "--divergence", "kl", "--out", "/proc/x"], "/proc/x"),
        (["estimate", "--p", "P", "--q", "P", "--max-steps", "20", "--ratio-out", "nodir/r.npy"], "nodir/r.npy"),
    ],
)
def test_a_file_system_error_is_one_line_naming_the_path_for_every_command(
    args, named, finished_run, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "p.npy", np.random.default_rng(0).normal(size=(200, 1)))
    replaced = {"RUN": str(finished_run), "LOOP": symlink_loop(tmp_path), "P": str(tmp_path / "p.npy")}
    args = [replaced.get(word, word.replace("LOOP", replaced["LOOP"])) for word in args]
    assert main(args) == 2
    line = error_line(capsys)
    assert line.startswith("fgan: error: cannot ") and named in line, line


def test_an_output_folder_that_cannot_take_files_is_refused_before_training(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "file-run").mkdir()
    (tmp_path / "file-run" / "checkpoints").write_text("")
    assert main(["train", *SMALL, "--out", str(tmp_path / "file-run"), *QUICK]) == 2
    assert "file-run/checkpoints: a file of that name is in the way" in error_line(capsys)
    assert not (tmp_path / "file-run" / "metrics.jsonl").exists()  # not one step trained

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), kwargs.get("dir"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    assert main(["train", *SMALL, "--out", str(tmp_path / "ro"), *QUICK]) == 2
    assert error_line(capsys) == f"fgan: error: cannot write into folder {tmp_path / 'ro'}: Read-only file system"


def test_a_disk_full_at_the_first_checkpoint_stops_the_run_after_its_first_step(tmp_path, monkeypatch, capsys) -> None:
    run, save = tmp_path / "run", torch.save

    def no_space(value, file, *args, **kwargs):
        if isinstance(value, dict) and "generator" in value:  # a checkpoint
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        save(value, file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", no_space)
    assert main(["train", *SMALL, "--steps", "3000", "--out", str(run), *QUICK]) == 2
    assert error_line(capsys) == (
        f"fgan: error: cannot write {run}/checkpoints/step-00000001.pt: No space left on device"
    )
    assert steps_logged(run) == [1]  # not 3,000 steps lost at the end
    assert not list((run / "checkpoints").iterdir())  # no temporary left


def replace_checkpoints(run: Path, state: object) -> Path:
    for _, path in checkpoint_files(run):
        path.unlink()
    path = run / "checkpoints" / "step-00000020.pt"
    torch.save(state, path)
    return path


@pytest.mark.parametrize(
    "state", [7, [1, 2], None, torch.ones(3), {"generator": {}}, run_state(-5), run_state(5, schedulers={})]
)
def test_a_checkpoint_that_is_not_run_state_is_refused_and_the_metrics_kept(tmp_path, state, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", *SMALL, "--steps", "20", "--out", str(run), *QUICK]) == 0
    capsys.readouterr()
    path, metrics = replace_checkpoints(run, state), (run / "metrics.jsonl").read_text()
    for args in (
        ["train", "--resume", str(run), "--steps", "30", "--quiet"],
        ["sample", str(run), "--out", str(tmp_path / "s.npy")],
    ):
        assert main(args) == 2
        assert error_line(capsys).startswith(f"fgan: error: refused checkpoint {path}: not the run state of fgan")
    assert (run / "metrics.jsonl").read_text() == metrics


def edit_json(path: Path, edit) -> None:
    value = json.loads(path.read_text())
    edit(value)
    path.write_text(json.dumps(value))


def test_hand_edited_run_files_are_refused_naming_the_file_and_the_key(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", *SMALL, "--steps", "20", "--out", str(run), *QUICK]) == 0
    capsys.readouterr()
    config, metrics = run / "config.json", run / "metrics.jsonl"
    kept = config.read_text()
    edit_json(config, lambda value: value["train"].update(betas=[0.5]))
    for args in (
        ["train", "--resume", str(run), "--steps", "30"],
        ["sample", str(run), "--out", str(tmp_path / "s.npy")],
    ):
        assert main(args) == 2
        assert error_line(capsys) == (f"fgan: error: {config}: key train.betas must be a list of 2 numbers, got [0.5]")
    config.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["report", str(run)]) == 2
    assert error_line(capsys) == f"fgan: error: cannot read {config}: JSON nested too deep"
    config.write_text(kept)
    for text in ("[1, 2]", "[" * 100_000 + "]" * 100_000):
        (run / "evaluation.json").write_text(text)
        assert main(["report", str(run)]) == 2
        assert error_line(capsys).startswith(f"fgan: error: cannot read {run / 'evaluation.json'}: ")
    (run / "evaluation.json").unlink()
    metrics.write_text(metrics.read_text() + '{"step": 1e400, "bound": 0.1}\n')
    refusal = f"fgan: error: {metrics} line 21: key step must be an integer >= 1, got inf"
    assert main(["report", str(run)]) == 2
    assert error_line(capsys) == refusal
    assert main(["train", "--resume", str(run), "--steps", "30", "--quiet"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == refusal  # after the line naming the checkpoint taken


def test_ctrl_c_while_the_data_loads_claims_no_checkpoint_and_a_second_one_keeps_exit_code_130(tmp_path) -> None:
    for extra_interrupts in (0, 40):
        process = fgan(
            ["train", *SMALL, "--out", "run", *QUICK], tmp_path, FGAN_TEST_LOAD_UNTIL=str(tmp_path / "never")
        )
        wait_for(process, "loading")
        process.send_signal(signal.SIGINT)
        for _ in range(extra_interrupts):  # Ctrl-C held down: the next ones land while fgan ends
            time.sleep(0.01)
            if process.poll() is not None:
                break
            process.send_signal(signal.SIGINT)
        code, err = finish(process)
        assert code == 130, err
        assert err.strip().splitlines()[-1] == (
            "fgan: interrupted before the first checkpoint: run holds no finished work, and the same command "
            "starts the run afresh (no --force needed)"
        )


def test_a_run_killed_before_its_first_checkpoint_restarts_without_force_saying_so(tmp_path, capsys) -> None:
    train = ["train", *SMALL, "--steps", "20", "--out", "run", *QUICK]
    run = tmp_path / "run"
    for again in (train, ["train", "--resume", "run", "--quiet"]):
        shutil.rmtree(run, ignore_errors=True)
        process = fgan(train, tmp_path, FGAN_TEST_TRAIN_UNTIL=str(tmp_path / "never"))
        wait_for(process, "training")  # config.json written, no step taken
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert (run / "config.json").is_file() and checkpoint_files(run) == []
        code, err = finish(fgan(again, tmp_path))
        assert code == 0, err
        notes = [line for line in err.splitlines() if "first checkpoint" in line or "no checkpoint" in line]
        assert len(notes) == 1, err
        assert steps_logged(run) == list(range(1, 21))


def test_sample_says_which_checkpoint_it_took_and_the_newer_one_it_passed_over(finished_run, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "metrics.jsonl"):
        (run / name).write_bytes((finished_run / name).read_bytes())
    (run / "checkpoints").mkdir()
    taken = run / "checkpoints" / "step-00000020.pt"
    taken.write_bytes((finished_run / "checkpoints" / "step-00000020.pt").read_bytes())
    (run / "checkpoints" / "step-100000000.pt").write_bytes(b"damaged")  # the newest by its step, not its name
    assert main(["sample", str(run), "--n", "5", "--out", str(tmp_path / "s.npy")]) == 0
    line = error_line(capsys)
    assert line.startswith(f"fgan: using checkpoint {taken} (step 20); passed over 1 newer that did not load: ")
    assert "step-100000000.pt" in line
