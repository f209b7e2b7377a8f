"""The ``fgan`` program's one error boundary (a bug: a traceback and exit code 1) and its version."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import fgan
from fgan.cli import app, main
from fgan.cli import divergences as divergences_command
from fgan.errors import UsageError


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


def test_a_library_warning_is_one_line_and_the_filters_are_restored(monkeypatch, capsys) -> None:
    """Pillow's decompression-bomb warning and numpy's overflow warning printed two lines each (issue 19, 14)."""

    def warns(argv: list[str]) -> None:
        warnings.warn("first line\n  second line", RuntimeWarning, stacklevel=1)

    monkeypatch.setattr(app, "_run", warns)
    before = warnings.showwarning
    assert main(["divergences"]) == 0
    assert capsys.readouterr().err == "fgan: warning: RuntimeWarning: first line second line\n"
    assert warnings.showwarning is before


def test_control_characters_of_an_error_are_escaped_on_one_line(monkeypatch, capsys) -> None:
    def refuses() -> list[dict[str, str]]:
        raise UsageError("photos/bad\nname\t.png: cannot read image")

    monkeypatch.setattr(divergences_command, "describe_divergences", refuses)
    assert main(["divergences"]) == 2
    assert capsys.readouterr().err == "fgan: error: photos/bad\\nname\\t.png: cannot read image\n"
