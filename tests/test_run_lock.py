"""The run folder's lock: one holder at a time, refused in one line, a killed holder's lock taken over."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest

from fgan.errors import UsageError
from fgan.run_lock import LOCK_FILE, run_lock

HOLD = "import sys, time; from pathlib import Path; from fgan.run_lock import run_lock\n" + (
    "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(120)\n"
)


def test_a_second_holder_is_refused_in_one_line_while_the_first_holds_it(tmp_path) -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with run_lock(tmp_path):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        with pytest.raises(UsageError) as error, run_lock(tmp_path):
            pass
        message = str(error.value)
        assert f"run folder {tmp_path} is in use by another fgan process" in message and "\n" not in message
    finally:
        release.set()
        holder.join()
    with run_lock(tmp_path):  # released at the end of the block
        assert (tmp_path / LOCK_FILE).is_file()


def test_the_lock_of_a_killed_process_is_taken_over_and_a_live_one_is_named(tmp_path) -> None:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        with pytest.raises(UsageError, match=rf"in use by another fgan process \(process {process.pid}\)"):
            with run_lock(tmp_path):
                pass
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    with run_lock(tmp_path):  # a SIGKILL left the file, not the lock
        assert (tmp_path / LOCK_FILE).read_text().strip().isdigit()
