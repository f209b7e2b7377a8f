"""The ``fgan`` program's one error boundary (a bug: a traceback and exit code 1) and its version."""

from __future__ import annotations

import subprocess
import sys

import pytest

import fgan
from fgan.cli import divergences as divergences_command
from fgan.cli import main


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_code:
        main(["--version"])
    assert exit_code.value.code == 0 and capsys.readouterr().out == f"fgan {fgan.__version__}\n"


@pytest.mark.parametrize("error", [RuntimeError("internal"), ValueError("not the user's fault"), KeyError("x")])
def test_an_internal_error_is_a_traceback_and_exit_code_1(monkeypatch, capsys, error: Exception) -> None:
    def broken() -> None:
        raise error

    monkeypatch.setattr(divergences_command, "describe_divergences", broken)
    assert main(["divergences"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "in broken" in err
    assert f"{type(error).__name__}: " in err and "please report it" in err.splitlines()[-1]


def test_the_fgan_program_prints_a_traceback_for_a_bug(tmp_path) -> None:
    """In a fresh process: an exception that is not a UsageError escapes no handler but the boundary's."""
    script = (
        "import sys\n"
        "from fgan.cli import divergences\n"
        "divergences.describe_divergences = lambda: 1 / 0\n"
        "from fgan.cli import main\n"
        "sys.exit(main(['divergences']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "ZeroDivisionError" in done.stderr and "Traceback" in done.stderr
