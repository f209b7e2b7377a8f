"""Random command lines built from the option metadata of every command, with random bytes for the files they read:
bad input never gives a traceback (issue 19). Exit code 0, 2 with one ``fgan: error:`` line, or 1 only for a
training run that stopped on a non-finite value, never the bug report.

Each example is cheap: sizes that cost time (steps, batch sizes, critic steps, image sizes) are capped, the memory
available is taken to be 512 MiB (so that every size beyond it is refused, as it would be beyond the real memory),
and ``bench`` and ``reproduce`` are parsed and completed but not run.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fgan import memory
from fgan.cli import app, build, main
from fgan.cli.arguments import Command, Option
from tests.helpers import quick_run

COMMANDS: dict[str, Command] = build()[1]
#: Commands parsed and completed but not run (each run trains or measures for minutes).
PARSE_ONLY = ("bench", "reproduce")
#: Options never given: they fetch from the network or compile for minutes.
LEFT_OUT = {"download", "compile"}
#: Options whose value is capped so that an example stays cheap: (command, option) -> the cap.
CAPS = {
    "steps": 2,
    "batch_size": 64,
    "critic_steps": 3,
    "image_size": 48,
    "max_steps": 20,
    "eval_every": 10,
    "bootstrap_samples": 50,
    "folds": 4,
    "hidden": 32,
    "depth": 3,
    "lines": 60,
}
EDGE_INTS = [-(2**63), -1, 0, 1, 2, 3, 8, 2**31, 2**63, 10**20]
EDGE_FLOATS = ["nan", "inf", "-inf", "0", "-0.0", "1e-320", "1e300", "1e39", "0.5", "1", "2", "-1"]
NAMES = ["kl", "js", "alpha:0.5", "alpha:1.0000001", "js-weighted:0.3", "f:u*log(u)", "f:(u-1)**2/(u+1)", "gan"]
TEXTS = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
CONTENT = st.one_of(
    st.binary(max_size=64),
    st.just(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 1), }  \n"),
    st.just(b"1,2\n3,4\nnan,1\n"),
    st.just(b'{"data": "ring"}'),
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny finished run, a small sample file and a folder for each example's outputs."""
    root = tmp_path_factory.mktemp("hypothesis-cli")
    run = root / "ring-run"
    assert main(["train", "--data", "ring", "--out", str(run), *quick_run(steps=3, batch_size=16)]) == 0
    samples = root / "samples.npy"
    np.save(samples, np.random.default_rng(0).normal(size=(120, 2)))
    return {"root": root, "run": run, "samples": samples}


def _scalar(option: Option, draw: Any, world: dict[str, Path], files: st.SearchStrategy[Path]) -> str:
    """One random value of ``option``'s element type, as command-line text."""
    if option.choices is not None and draw(st.integers(0, 3)):
        return str(draw(st.sampled_from(option.choices)))
    if option.element is int:
        return str(draw(st.one_of(st.integers(1, 40), st.integers(1, 40), st.sampled_from(EDGE_INTS))))
    if option.element is float:
        return draw(
            st.one_of(
                st.sampled_from(["1e-3", "0.01", "0.5"]), st.sampled_from(EDGE_FLOATS), st.floats(-10, 10).map(repr)
            )
        )
    if option.element is Path:
        return str(draw(st.one_of(files, st.sampled_from([world["run"], world["samples"], world["root"] / "none"]))))
    if option.dest in ("divergence", "divergences"):
        return draw(st.one_of(st.sampled_from(NAMES), TEXTS))
    if option.dest == "data":
        spec = ["ring", "grid", "mixture", "mixture:1:0:1e-300", "mixture:1:50:1", "digits", "mnist", "file:none.npy"]
        return draw(st.one_of(st.sampled_from(spec), files.map(lambda path: f"file:{path}"), TEXTS))
    return draw(TEXTS)


def _value_words(option: Option, draw: Any, world: dict[str, Path], files: st.SearchStrategy[Path]) -> list[str]:
    if option.element is bool:
        return (
            [option.flag]
            if option.default is False
            else [draw(st.sampled_from([option.flag, "--no-" + option.flag[2:]]))]
        )
    count = option.count if isinstance(option.count, int) else (draw(st.integers(1, 3)) if option.count else 1)
    values = [_scalar(option, draw, world, files) for _ in range(count)]
    if option.dest in CAPS and option.element is int:
        values = [str(min(int(value), CAPS[option.dest])) for value in values]
    return [option.flag, *values]


@st.composite
def command_lines(draw: Any, world: dict[str, Path]) -> list[str]:
    """``fgan COMMAND [options]`` with random options of that command and random files."""
    counter = itertools.count()
    root = world["root"]

    def random_file(content: bytes, suffix: str) -> Path:
        path = root / f"input-{next(counter)}-{draw(st.integers(0, 10**9))}{suffix}"
        path.write_bytes(content)
        return path

    files = st.builds(random_file, CONTENT, st.sampled_from([".npy", ".npz", ".csv", ".toml", ".png", ".json", ""]))
    name = draw(st.sampled_from(sorted(COMMANDS)))
    command = COMMANDS[name]
    argv = name.split()
    chosen = draw(st.lists(st.sampled_from(sorted(set(command.options) - LEFT_OUT)), max_size=6, unique=True))
    for dest in chosen:
        argv += _value_words(command.options[dest], draw, world, files)
    if not draw(st.integers(0, 4)):
        argv += ["--config", str(draw(files))]
    if name in ("sample", "evaluate", "report"):
        argv.append(str(draw(st.sampled_from([world["run"], root / "none", draw(files)]))))
    if name in ("train", "sample", "report", "plot conjugate") and "out" not in chosen:
        argv += ["--out", str(root / f"out-{draw(st.integers(0, 10**9))}{'.npy' if name == 'sample' else ''}")]
    if name in ("train", "estimate"):
        capped = [f"--{dest.replace('_', '-')}" for dest in CAPS if dest in command.options and dest not in chosen]
        argv += [word for flag in capped for word in (flag, str(CAPS[flag[2:].replace("-", "_")]))]
    if name == "train":
        argv += ["--quiet", "--data-dir", str(root)]
    return argv


def _one_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err and app.REPORT_BUG not in err, (argv, err)
    lines = err.splitlines()
    assert all(line.startswith("fgan: ") for line in lines), (argv, err)
    if code == 2:
        assert lines and lines[-1].startswith("fgan: error: "), (argv, err)
        assert sum(line.startswith("fgan: error: ") for line in lines) == 1, (argv, err)
    elif code == 1:  # only a training run stopped on a non-finite loss or gradient
        assert "non-finite" in err, (argv, err)
    else:
        assert code == 0, (argv, err)


def test_random_command_lines_never_give_a_traceback(
    world: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory, "available_memory", lambda: 512 << 20)
    for module in PARSE_ONLY:
        monkeypatch.setattr(f"fgan.cli.{module}.cmd_{module}", lambda args: None)
    monkeypatch.chdir(world["root"])

    @settings(
        max_examples=int(os.environ.get("FGAN_CLI_EXAMPLES", "80")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(command_lines(world))
    def check(argv: list[str]) -> None:
        _one_run(argv, capsys)

    check()
