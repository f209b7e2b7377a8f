"""The README's examples stay true: its Python blocks run as written, its command lines parse."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from fgan.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_python_examples_run(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    examples = blocks("python")
    assert examples
    for code in examples:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert "divergence estimate F =" in capsys.readouterr().out


#: Every ``fgan`` command line of the README's shell blocks, a command continued with a trailing backslash joined
#: into one line, comments dropped.
COMMANDS = [
    line.split("#")[0].strip()
    for block in blocks("bash")
    for line in block.replace("\\\n", " ").splitlines()
    if line.startswith("fgan ")
]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_lines_parse(command: str) -> None:
    build_parser().parse_args(shlex.split(command)[1:])


def test_readme_shows_both_make_commands() -> None:
    assert "make demo" in README and "make test" in README
    assert len(COMMANDS) >= 5


START_HERE = README.split("\n## Start here\n", 1)[1]
#: The lines a new user types first, in order: the first shell block under "Start here", comments dropped.
FIRST_STEPS = [
    line.split("#")[0].strip()
    for line in re.search(r"```bash\n(.*?)```", START_HERE, flags=re.DOTALL).group(1).splitlines()
    if line.strip()
]


def test_the_first_screen_says_what_to_type_in_order() -> None:
    assert README.index("\n## Start here\n") < README.index("\n## Command line\n")
    assert README[: README.index("\n## Start here\n")].count("\n") < 20  # on the first screen
    assert FIRST_STEPS[:2] == ["make demo", "source .venv/bin/activate"]
    assert len(FIRST_STEPS) >= 3 and all(line.startswith("fgan ") for line in FIRST_STEPS[2:])
    assert ".venv/bin/fgan" in START_HERE.split("```")[1]  # the other way, on the activate line


#: The demo's options in the test: one divergence, 40 steps, 2 snapshots (the full demo takes 47 s of 2 cores).
SHORT_DEMO = "--steps 40 --divergence kl --snapshots 2"


def _fresh_venv(clone: Path) -> Path:
    """``clone/.venv`` as ``make demo`` leaves it, made offline: a new virtual environment that sees this
    interpreter's packages (a .pth file adding its site-packages, which ``--system-site-packages`` would not: that
    is the base interpreter's), with fgan installed into it by pip (``-e``, no index, no build isolation), and the
    Makefile's stamp, so that ``make demo`` finds it installed and skips its own, networked, pip install."""
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "_fgan_test_parent.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n"
    )
    install = ["install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", "-e", str(ROOT)]
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), *install], check=True)
    (venv / "bin" / ".installed").touch()
    return venv


@pytest.mark.slow
def test_the_first_steps_run_in_order_in_a_fresh_virtual_environment(tmp_path) -> None:
    """The first shell block of "Start here", typed line by line into one bash in a new clone's folder.

    Only the demo is shortened (:data:`SHORT_DEMO`, through the Makefile's ``DEMO_OPTIONS``), and the install step
    of ``make demo`` is done offline beforehand (see :func:`_fresh_venv`); ``fgan`` is on no PATH until the README's
    ``source .venv/bin/activate``."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("the test reuses the packages of a virtual environment (make test's .venv)")
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy2(ROOT / name, clone / name)  # older than the stamp, as after an install
    _fresh_venv(clone)
    venv_bins = {str(Path(sys.executable).parent), os.path.join(os.environ.get("VIRTUAL_ENV", "/nonexistent"), "bin")}
    path = os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if d not in venv_bins)
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env |= {"PATH": path, "DEMO_OPTIONS": SHORT_DEMO, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    assert shutil.which("fgan", path=path) is None, "fgan is on the PATH before the README says to activate"
    script = "set -e\n" + "\n".join(FIRST_STEPS) + "\n"
    done = subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| divergence |" in done.stdout  # the demo's table
    assert "\nnames: " in done.stdout  # fgan divergences
    assert (clone / "runs" / "demo" / "report.html").stat().st_size > 0
