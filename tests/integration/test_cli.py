"""The command line: each command end to end, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from fgan.cli import main
from fgan.report import final_estimate
from fgan.runner import load_generator
from fgan.runs import read_metrics
from tests.helpers import quick_run

QUICK = quick_run(steps=20, batch_size=64)


def test_divergences_prints_every_name_form(capsys) -> None:
    assert main(["divergences"]) == 0
    out = capsys.readouterr().out
    for name in (
        "tv",
        "kl",
        "reverse-kl",
        "pearson",
        "neyman",
        "hellinger",
        "jeffrey",
        "jeffrey-ratio",
        "js",
        "gan",
        "js-weighted:PI",
        "alpha:A",
    ):
        assert f"\n{name} " in "\n" + out  # each name starts a line
    assert "W(e^{1-t})" in out


def test_train_writes_a_run_folder_and_sample_reads_it(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", "grid", "--divergence", "tv", "--out", str(run), *QUICK]) == 0
    out = capsys.readouterr().out
    bound = np.array([row["bound"] for row in read_metrics(run)], dtype=float)
    assert f"trained 20 steps of tv; final F (mean of the last 10% of steps) = {final_estimate(bound):.4f};" in out
    assert "μ̂" not in out  # an MLP generator has no location and scale
    config = json.loads((run / "config.json").read_text())
    assert config["divergence"] == "tv" and config["train"]["critic_penalty"] == 0.01
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 20
    assert (run / "plots" / "training.png").stat().st_size > 0
    assert (run / "plots" / "samples.png").stat().st_size > 0
    assert main(["sample", str(run), "--n", "37", "--out", str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (37, 2) and np.isfinite(samples).all()
    assert main(["sample", str(run), "--n", "500", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_train_on_a_1d_mixture_with_location_scale_generator(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                "mixture:0.5:-1:0.5,0.5:1:0.5",
                "--generator",
                "location-scale",
                "--divergence",
                "alpha:2",
                "--update",
                "alternating",
                "--critic-steps",
                "2",
                "--out",
                str(run),
                *QUICK,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["generator"] == "location-scale" and config["train"]["critic_steps"] == 2
    generator = load_generator(run, "cpu")
    assert f"; μ̂ = {generator.mu.item():.6f}, σ̂ = {generator.sigma.item():.6f};" in out
    assert main(["sample", str(run), "--n", "5", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (5, 1)


def test_reproduce_gaussian_mixture_json_and_outputs(tmp_path, capsys) -> None:
    out = tmp_path / "repro"
    code = main(
        [
            "reproduce",
            "gaussian-mixture",
            "--divergence",
            "kl",
            "--divergence",
            "js",
            "--steps",
            "200",
            "--json",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["divergence"] for row in rows] == ["kl", "js"]
    for key in (
        "divergence",
        "objective_hat",
        "divergence_star",
        "divergence_at_hat",
        "mu_hat",
        "mu_star",
        "sigma_hat",
        "sigma_star",
    ):
        assert key in rows[0]
    assert rows[0]["mu_star"] == pytest.approx(1.01, abs=1e-3)
    assert (out / "table.md").read_text().startswith("| divergence |")
    assert json.loads((out / "table.json").read_text())[1]["divergence"] == "js"
    assert (out / "fits.png").stat().st_size > 0


BAD_INPUTS = [
    (["train", "--divergence", "kl2"], "unknown divergence 'kl2'"),
    (["train", "--divergence", "alpha:1"], "A not 0 or 1"),
    (["train", "--data", "mixture:1:2"], "malformed mixture"),
    (["train", "--data", "moons"], "unknown data"),
    (["train", "--steps", "-5"], "--steps"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--optimizer", "lbfgs"], "--optimizer"),
    (["train", "--critic-penalty", "-1", "--steps", "1"], "penalty"),
    (["reproduce", "gaussian-mixture", "--divergence", "nope"], "unknown divergence"),
    (["reproduce", "gaussian-mixture", "--mixture", "0.5:0:1,x"], "malformed mixture"),
    (["reproduce", "gaussian-mixture", "--steps", "-1"], "--steps"),
    (["reproduce", "cifar"], "invalid choice"),
    (["sample", "/nonexistent/run", "--out", "x.npy"], "not a run folder"),
    (["frobnicate"], "invalid choice"),
    (["trian"], "invalid choice: 'trian' (choose from 'divergences', 'train',"),
    (["trian"], "; did you mean 'train'? (see fgan --help)"),
    (["reproduce", "gausian-mixture"], "did you mean 'gaussian-mixture'?"),
    (["train", "--optimizer", "adamw"], "did you mean 'adam'?"),
    ([], "required"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_code_2(argv: list[str], message: str, capsys, tmp_path) -> None:
    assert main([*argv, *([] if not argv or argv[0] != "train" else ["--out", str(tmp_path / "r")])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fgan: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not (tmp_path / "r").exists()


def test_an_occupied_output_folder_is_refused_and_kept(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *QUICK]) == 0
    before = (run / "metrics.jsonl").read_text()
    assert main(["train", "--out", str(run), *QUICK]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (run / "metrics.jsonl").read_text() == before
    assert main(["reproduce", "gaussian-mixture", "--out", str(run), "--steps", "1"]) == 2
    assert main(["train", "--out", str(run), "--force", *QUICK]) == 0


def test_sample_rejects_an_unknown_output_format(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *QUICK]) == 0
    assert main(["sample", str(run), "--out", str(tmp_path / "x.txt")]) == 2
    assert ".npy or .png" in capsys.readouterr().err


def test_module_entry_point_runs_without_traceback() -> None:
    ok = subprocess.run([sys.executable, "-m", "fgan", "--help"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "reproduce" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "fgan", "train", "--divergence", "x"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1


def test_data_smaller_than_one_batch_is_a_one_line_warning_before_training(tmp_path, capsys) -> None:
    samples = tmp_path / "few.npy"
    np.save(samples, np.random.default_rng(0).standard_normal((10, 2)))
    run = tmp_path / "run"
    assert main(["train", "--data", f"file:{samples}", "--out", str(run), *QUICK]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        f"fgan: warning: file:{samples} holds 10 samples, fewer than one minibatch of 64: every batch repeats "
        "samples (try --batch-size 10 or less)"
    ]
    assert main(["train", "--data", f"file:{samples}", "--out", str(run), "--force", *QUICK, "--batch-size", "10"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_divergences_fit_100_columns_unless_wide(capsys) -> None:
    assert main(["divergences"]) == 0
    records = capsys.readouterr().out
    assert max(map(len, records.splitlines())) <= 100
    assert "\nkl              f(u) = u log u;  f'(1) = 1\n                g_f(v) = v\n" in records
    assert main(["divergences", "--wide"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("name ") and "g_f(v)" in table.splitlines()[0]
    assert max(map(len, table.splitlines())) > 100


def test_device_help_names_the_default_without_contradicting_it(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "--device {auto,cpu,cuda,mps} where to train: cpu, cuda, mps, or auto for the first of cuda, mps, cpu" in text
    )
    assert "that is available (default: auto)" in text and "auto: cuda, then" not in text
