"""The run folder: refusal to overwrite, atomic writes, safe checkpoint loading, checkpoints ordered by step."""

from __future__ import annotations

import os

import pytest
import torch

from fgan.errors import UsageError
from fgan.runs import (
    atomic_write,
    checkpoint_files,
    load_checkpoint,
    load_latest_checkpoint,
    prepare_run_dir,
    save_checkpoint,
    write_json,
)
from tests.helpers import run_state


def test_prepare_refuses_a_folder_holding_a_run_unless_forced(tmp_path) -> None:
    run = prepare_run_dir(tmp_path / "run")
    write_json(run / "config.json", {"a": 1})
    (run / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(UsageError, match="already holds a run"):
        prepare_run_dir(run)
    prepare_run_dir(run, force=True)
    assert not (run / "metrics.jsonl").exists()


def test_prepare_refuses_a_file(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        prepare_run_dir(tmp_path / "file")


def test_atomic_write_leaves_the_old_file_and_no_temporary_on_failure(tmp_path) -> None:
    target = tmp_path / "value.json"
    write_json(target, {"old": True})

    def failing(file) -> None:
        file.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, failing)
    assert target.read_text().strip().startswith("{")
    assert os.listdir(tmp_path) == ["value.json"]


def test_checkpoints_keep_the_newest(tmp_path) -> None:
    for step in (1, 2, 3, 4):
        save_checkpoint(tmp_path, step, run_state(step), keep=2)
    path, state = load_latest_checkpoint(tmp_path)
    assert path.name == "step-00000004.pt" and state["step"] == 4
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 2


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_a_checkpoint_that_runs_code_on_unpickling_is_refused(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"generator": _RunsCode()}, path)
    with pytest.raises(UsageError, match=r"refused checkpoint .* could run code") as error:
        load_checkpoint(path)
    assert "\n" not in str(error.value) and "weights_only` set to `False`" not in str(error.value)
    assert not (tmp_path / "pwned.txt").exists() and not os.path.exists("pwned.txt")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04truncated"])
def test_a_corrupt_checkpoint_is_a_one_line_usage_error(tmp_path, content: bytes) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(UsageError) as error:
        load_checkpoint(path)
    assert "\n" not in str(error.value)


def test_no_checkpoint_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(UsageError, match="no checkpoint"):
        load_latest_checkpoint(tmp_path)


def test_checkpoints_past_step_99999999_are_ordered_by_their_step_not_their_name(tmp_path) -> None:
    for step in (99_999_998, 99_999_999, 100_000_000, 100_000_001):  # 8 digits, then 9: "1000..." < "9999..."
        save_checkpoint(tmp_path, step, run_state(step), keep=2)
    assert [step for step, _ in checkpoint_files(tmp_path)] == [100_000_000, 100_000_001]
    path, state = load_latest_checkpoint(tmp_path)
    assert path.name == "step-100000001.pt" and state["step"] == 100_000_001


def test_a_folder_named_like_a_checkpoint_is_no_checkpoint_and_does_not_stop_rotation(tmp_path) -> None:
    (tmp_path / "checkpoints" / "step-00000009.pt").mkdir(parents=True)
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, run_state(step), keep=1)
    assert [step for step, _ in checkpoint_files(tmp_path)] == [3]
    assert load_latest_checkpoint(tmp_path)[1]["step"] == 3
    prepare_run_dir(tmp_path, force=True)  # removes the checkpoints, passes over the folder
    assert checkpoint_files(tmp_path) == [] and (tmp_path / "checkpoints" / "step-00000009.pt").is_dir()


def test_the_checkpoint_taken_and_a_newer_one_that_does_not_load_are_said_in_one_line(tmp_path) -> None:
    save_checkpoint(tmp_path, 10, run_state(10), keep=3)
    (tmp_path / "checkpoints" / "step-00000020.pt").write_bytes(b"damaged")
    lines: list[str] = []
    path, state = load_latest_checkpoint(tmp_path, notify=lines.append)
    assert state["step"] == 10 and len(lines) == 1 and "\n" not in lines[0]
    assert f"using checkpoint {path} (step 10)" in lines[0]
    assert "passed over 1 newer" in lines[0] and "step-00000020.pt" in lines[0]


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        (3, "it holds an int, not a dict"),
        ([1, 2], "it holds a list"),
        (None, "it holds a NoneType"),
        (torch.zeros(2), "it holds a Tensor"),
        ({"generator": {}}, "no entry 'step'"),
        (run_state(-5), "entry 'step' is -5, below 0"),
        ({**run_state(5), "step": 5.0}, "entry 'step' is a float, not an int"),
        ({**run_state(5), "step": True}, "entry 'step' is a bool"),
        (run_state(5, generator=[1]), "entry 'generator' is a list, not a dict"),
        (run_state(5, skipped_steps=-1), "entry 'skipped_steps' is -1"),
    ],
)
def test_a_weights_only_checkpoint_that_is_not_run_state_is_refused_naming_the_file(tmp_path, state, problem) -> None:
    path = tmp_path / "step-00000005.pt"
    torch.save(state, path)
    with pytest.raises(UsageError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"refused checkpoint {path}: not the run state of fgan")
    assert problem in message and "\n" not in message
