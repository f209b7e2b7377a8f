"""The pictures from the command line: fgan plot conjugate, fgan train --snapshots, the reproduction's dynamics and
fgan reproduce modes; bad input as one line and exit code 2, with nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from fgan.cli import main
from tests.helpers import quick_run

QUICK = quick_run()


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("fgan: error: ") and "\n" not in err
    return err


@pytest.mark.parametrize(("divergence", "suffix"), [("kl", "png"), ("tv", "svg"), ("gan", "png")])
def test_plot_conjugate_writes_the_figure_and_reports_the_gap(tmp_path, capsys, divergence, suffix) -> None:
    out = tmp_path / "figures" / f"{divergence}.{suffix}"
    assert main(["plot", "conjugate", "--divergence", divergence, "--out", str(out)]) == 0
    gap = float(capsys.readouterr().out.rsplit(":", 1)[1])
    assert gap < 2e-3
    content = out.read_bytes()
    assert content.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in content


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--divergence", "f:u*log(u)"], "no closed-form conjugate"),
        (["--divergence", "nonsense"], "unknown divergence"),
        (["--out", "figure.jpg"], ".png or .svg"),
    ],
)
def test_plot_conjugate_bad_input(tmp_path, capsys, monkeypatch, arguments, expected) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "conjugate", *arguments]) == 2
    assert expected in _error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_train_with_snapshots_writes_strip_gif_and_arrays(tmp_path) -> None:
    run = tmp_path / "run"
    arguments = ["--data", "mixture", "--snapshots", "4", "--steps", "30", "--batch-size", "64", "--out", str(run)]
    assert main(["train", *arguments, *QUICK]) == 0
    with Image.open(run / "plots" / "dynamics.gif") as gif:
        assert gif.n_frames == 4
    arrays = np.load(run / "plots" / "snapshots.npz")
    assert arrays["steps"].tolist() == [0, 10, 20, 30] and arrays["critic"].shape == (4, len(arrays["x"]))
    assert (run / "plots" / "dynamics.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((run / "config.json").read_text())["snapshots"] == 4


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--data", "mixture", "--snapshots", "0"], "--snapshots: must be >= 1, got 0"),
        (["--data", "ring", "--snapshots", "3"], "1-D data"),
    ],
)
def test_train_snapshots_bad_input(tmp_path, capsys, arguments, expected) -> None:
    assert main(["train", *arguments, "--steps", "5", "--out", str(tmp_path / "run"), *QUICK]) == 2
    assert expected in _error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_gaussian_mixture_reproduction_draws_the_dynamics(tmp_path) -> None:
    out = tmp_path / "table3"
    arguments = ["--divergence", "kl", "--steps", "20", "--batch-size", "64", "--snapshots", "3", "--out", str(out)]
    assert main(["reproduce", "gaussian-mixture", *arguments, *QUICK]) == 0
    with Image.open(out / "dynamics" / "kl" / "dynamics.gif") as gif:
        assert gif.n_frames == 3
    assert (
        main(["reproduce", "gaussian-mixture", *arguments[:-2], "--snapshots", "0", "--out", str(tmp_path / "x")]) == 2
    )
    assert not (tmp_path / "x").exists()


def test_reproduce_modes_writes_table_and_figures(tmp_path, capsys) -> None:
    out = tmp_path / "modes"
    arguments = ["--divergence", "kl", "--divergence", "reverse-kl", "--seeds", "0", "1", "--steps", "10"]
    assert (
        main(["reproduce", "modes", *arguments, "--samples", "500", "--batch-size", "64", "--out", str(out), *QUICK])
        == 0
    )
    table = capsys.readouterr().out
    for line in ("| ring | kl |", "| ring | reverse-kl |", "| grid | kl |"):
        assert line in table
    rows = json.loads((out / "table.json").read_text())["rows"]
    assert len(rows) == 2 * 2 * 2 and {row["seed"] for row in rows} == {0, 1}
    for dataset in ("ring", "grid"):
        assert (out / f"modes-{dataset}.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["reproduce", "modes", "--divergence", "nonsense", "--out", str(tmp_path / "x")]) == 2
    assert "nonsense" in _error_line(capsys)
