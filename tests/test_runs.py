"""The run folder: refusal to overwrite, atomic writes, safe checkpoint loading."""

from __future__ import annotations

import os

import pytest
import torch

from fgan.errors import UsageError
from fgan.runs import (
    atomic_write,
    load_checkpoint,
    load_latest_checkpoint,
    prepare_run_dir,
    save_checkpoint,
    write_json,
)


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
        save_checkpoint(tmp_path, step, {"step": step}, keep=2)
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
