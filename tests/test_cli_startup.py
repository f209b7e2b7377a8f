"""``fgan --help``, ``--version`` and a misspelt command answer without importing a command module (torch, scipy,
matplotlib); the static table of commands they use says what the command modules register."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from fgan.cli.app import COMMANDS, build

HEAVY = ("torch", "scipy", "matplotlib", "fgan.cli.train", "fgan.cli.common")
PROBE = """
import contextlib, io, json, sys
from fgan.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
heavy = [name for name in {heavy!r} if name in sys.modules]
print(json.dumps({{"code": code, "out": out.getvalue(), "err": err.getvalue(), "heavy": heavy}}))
"""


def _probe(*argv: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_the_static_table_lists_the_registered_commands_in_order_with_their_summaries() -> None:
    parser, _ = build()
    subcommands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert {choice.dest: choice.help for choice in subcommands._choices_actions} == COMMANDS
    assert [choice.dest for choice in subcommands._choices_actions] == list(COMMANDS)


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        (["--help"], 0, "  train         train a generator on synthetic data or images\n"),
        (["--version"], 0, "fgan 0.1.0"),
        (["trian"], 2, "did you mean 'train'?"),
        ([], 2, "the following arguments are required: COMMAND"),
    ],
)
def test_help_version_and_a_misspelt_command_import_no_command_module(
    argv: list[str], code: int, expected: str
) -> None:
    result = _probe(*argv)
    assert result["code"] == code
    assert expected in result["out"] + result["err"]
    assert result["heavy"] == []


def test_a_command_imports_its_own_module_only() -> None:
    result = _probe("divergences")
    assert result["code"] == 0 and "torch" in result["heavy"]
    assert "fgan.cli.train" not in result["heavy"] and "matplotlib" not in result["heavy"]
