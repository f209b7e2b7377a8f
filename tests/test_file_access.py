"""File-system errors of the environment as one line naming the path; other OSErrors stay bugs."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import fgan
from fgan.file_access import FileAccessError, environment_error_message, file_access, make_folder
from fgan.runs import atomic_write


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_an_environment_error_names_the_path_and_another_passes_through(tmp_path) -> None:
    with pytest.raises(FileAccessError, match=rf"^cannot write {tmp_path}/x: No space left on device$"):
        with file_access(tmp_path / "x"):
            no_space()
    with pytest.raises(FileAccessError, match=r"^cannot read /proc/nothing/here: No such file or directory$"):
        with file_access("ignored", "read"):
            Path("/proc/nothing/here").read_text()
    with pytest.raises(OSError, match="Bad file descriptor"):  # a bug, not the user's file system
        with file_access(tmp_path):
            os.close(987654)


def test_a_full_disk_during_an_atomic_write_names_the_target_and_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    target = tmp_path / "config.json"
    target.write_text("old")
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(FileAccessError, match=rf"^cannot write {target}: No space left on device$"):
        atomic_write(target, lambda file: file.write(b"new"))
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["config.json"]


def test_the_boundary_message_needs_a_file_outside_fgan_and_an_environment_errno(tmp_path) -> None:
    missing = OSError(errno.ENOENT, "No such file or directory", str(tmp_path / "nodir" / "r.npy"))
    assert (
        environment_error_message(missing) == f"cannot write or read {tmp_path}/nodir/r.npy: No such file or directory"
    )
    assert environment_error_message(OSError(errno.ENOSPC, "No space left on device")) is None  # names no file
    assert environment_error_message(OSError(errno.EBADF, "Bad file descriptor", "x")) is None
    own = Path(fgan.__file__).parent / "missing-resource.json"
    assert environment_error_message(OSError(errno.ENOENT, "No such file or directory", str(own))) is None


def test_make_folder_refuses_a_file_in_the_way_and_a_folder_it_cannot_write(tmp_path, monkeypatch) -> None:
    (tmp_path / "checkpoints").write_text("")
    with pytest.raises(FileAccessError, match=r"cannot create folder .*checkpoints: a file of that name is in the way"):
        make_folder(tmp_path / "checkpoints")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(FileAccessError, match=r"cannot create folder .*loop/x: Too many levels of symbolic links"):
        make_folder(tmp_path / "loop" / "x")
    assert make_folder(tmp_path / "a" / "b").is_dir() and os.listdir(tmp_path / "a" / "b") == []  # probe removed
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(FileAccessError, match=rf"^cannot write into folder {tmp_path}/a: No space left on device$"):
        make_folder(tmp_path / "a")
    assert os.listdir(tmp_path / "a") == ["b"]
