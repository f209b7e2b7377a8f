"""The README's examples stay true: its Python blocks run as written, its command lines parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from fgan.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_python_examples_run(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    examples = blocks("python")
    assert examples
    for code in examples:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert "divergence estimate F =" in capsys.readouterr().out


COMMANDS = [
    line.split("#")[0].strip() for block in blocks("bash") for line in block.splitlines() if line.startswith("fgan ")
]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_lines_parse(command: str) -> None:
    build_parser().parse_args(shlex.split(command)[1:])


def test_readme_shows_both_make_commands() -> None:
    assert "make demo" in README and "make test" in README
    assert len(COMMANDS) >= 5
