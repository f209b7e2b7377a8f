"""One writer per run folder: an advisory lock (``fcntl.flock``) on ``RUN/.lock``, held for the run's whole life.

``fgan train --out RUN``, ``fgan train --resume RUN`` (rank 0 of a torchrun job) hold it from before they touch
the folder until their last plot is written. A second writer on the same folder is refused in one line instead
of interleaving its metrics and checkpoints with the first's. The kernel drops the lock when its process ends,
however it ends (a SIGKILL included), so a stale lock is never in the way. The file itself stays (removing it
would race with a writer that has just opened it); it holds the process id of the last holder.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fgan.errors import UsageError
from fgan.file_access import file_access

LOCK_FILE = ".lock"


def _holder(path: Path) -> str:
    """`` (process N)`` for the process id in the lock file, when it holds one."""
    try:
        text = path.read_text().strip()
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the lock of the existing folder ``run_dir`` for the block.

    Raises:
        UsageError: when another process holds it (one line naming the folder and the holder).
    """
    path = run_dir / LOCK_FILE
    with file_access(path, "open the lock file"):
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"run folder {run_dir} is in use by another fgan process{_holder(path)}; wait for it to end, or "
                "choose another --out"
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)  # releases the lock
