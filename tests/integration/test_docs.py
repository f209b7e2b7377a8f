"""The tutorial's examples stay true: its Python blocks run as written, its command lines parse.

docs/tutorial.md states how its Python blocks run: in order, sequentially in ONE namespace (one Python session),
in one working folder, so that later blocks use the names and files of earlier ones. The test does exactly that,
in a temporary folder, with the divergence registry restored afterwards (the tutorial registers "triangular"; the
autouse fixture of tests/conftest.py restores it).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from fgan.cli import build_parser
from fgan.divergences import get_divergence

TUTORIAL_PATH = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
TUTORIAL = TUTORIAL_PATH.read_text()

SECTIONS = (
    "## 1. Train with a new divergence",
    "## 2. Plug in your own generator and critic",
    "## 3. Estimate a divergence between two sample sets",
    "## 4. Reproduce the paper",
)


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", TUTORIAL, flags=re.DOTALL)


def shell_lines() -> list[str]:
    return [line.strip() for block in blocks("bash") for line in block.splitlines() if line.strip()]


COMMANDS = [line.split("#")[0].strip() for line in shell_lines() if line.startswith("fgan ")]


def test_sections_exist_in_order() -> None:
    headings = re.findall(r"^## .*$", TUTORIAL, flags=re.MULTILINE)
    assert [heading for heading in headings if heading in SECTIONS] == list(SECTIONS)


def test_python_examples_run_in_one_session(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FGAN_CACHE_DIR", str(tmp_path / "cache"))  # nothing written to the user's cache
    examples = blocks("python")
    assert len(examples) >= 10
    namespace: dict[str, object] = {"__name__": "tutorial"}
    for index, code in enumerate(examples, start=1):
        exec(compile(code, f"docs/tutorial.md, Python block {index}", "exec"), namespace)
    out = capsys.readouterr().out
    for expected in (
        "refused:",
        "closed-form f* vs derived f*",
        "bound at T* =",
        "best fit mu* =",
        "identical to the uninterrupted run: True",
        "kl ",
        "truth",
        "Parzen log-likelihood of the digits test set",
    ):
        assert expected in out, expected
    for written in (
        "conjugate-triangular.png",
        "runs/triangular-expr/config.json",
        "runs/triangular-cli/checkpoints",
        "runs/moons/metrics.jsonl",
        "moons.png",
        "p.npy",
        "q.npy",
        "points.npy",
        "p.csv",
        "runs/t3-tiny/table.md",
        "runs/digits-tiny/plots/samples.png",
    ):
        assert (tmp_path / written).exists(), written
    rows = (tmp_path / "runs/moons/metrics.jsonl").read_text().splitlines()
    assert len(rows) == 400  # each step once, after the resume


@pytest.mark.parametrize("command", COMMANDS)
def test_command_lines_parse(command: str) -> None:
    args = build_parser().parse_args(shlex.split(command)[1:])
    # A divergence on the command line must be one a fresh `fgan` process knows (no registered names).
    names = getattr(args, "divergence", None)
    for name in [names] if isinstance(names, str) else names or []:
        if name != "all":  # reproduce gaussian-mixture --divergence all
            get_divergence(name)


def test_shell_blocks_hold_only_fgan_commands() -> None:
    assert all(line.startswith("fgan ") for line in shell_lines())
    assert len(COMMANDS) >= 15
    for command in ("train", "sample", "estimate", "evaluate"):
        assert any(line.startswith(f"fgan {command} ") for line in COMMANDS), command
    for experiment in ("gaussian-mixture", "estimation", "mnist", "modes"):
        assert any(line.startswith(f"fgan reproduce {experiment}") for line in COMMANDS), experiment
