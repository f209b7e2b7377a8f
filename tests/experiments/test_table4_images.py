"""fgan reproduce mnist (Table 4) end to end on small MNIST-format data: the rows (divergences, the VAE, real
images), the Parzen protocol in table.json and the caption, resuming (kept rows, a divergence killed mid-run that
continues), and the defaults at the paper's scale."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fgan import budget
from fgan.cli import main
from fgan.cli.app import EXIT_INTERRUPTED
from fgan.divergences import get_divergence
from fgan.experiments import table4_images
from fgan.experiments.table4_images import REFERENCE, TABLE4_DIVERGENCES, Table4Options
from fgan.runs import read_metrics
from tests.helpers import quick_run, write_fake_mnist

QUICK = quick_run(batch_size=32)
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture
def fake_mnist(tmp_path):
    return write_fake_mnist(tmp_path / "mnist", 1200, 200)


def _error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_the_defaults_are_the_papers_scale() -> None:
    options = Table4Options()
    assert options.train.batch_size == 4096 and options.protocol == "paper" and options.vae
    paper_order = "kl reverse-kl pearson neyman hellinger jeffrey js gan".split()
    assert list(options.divergences) == list(TABLE4_DIVERGENCES) == [*paper_order, "tv"]
    assert options.train.precision == table4_images.preferred_precision() in ("fp32", "bf16")
    assert options.variants == ("plain", "recommended")


def test_reproduce_mnist_writes_every_row_under_the_paper_protocol(fake_mnist, tmp_path, capsys) -> None:
    out = tmp_path / "table4"
    command = ["reproduce", "mnist", "--data-dir", str(fake_mnist), "--steps", "10", "--n-samples", "300"]
    arguments = ["--divergence", "gan", "--divergence", "kl", "--variant", "plain", "--out", str(out), *QUICK]
    assert main([*command, *arguments]) == 0
    table = (out / "table.md").read_text()
    assert table.startswith("Parzen protocol paper: isotropic Gaussian kernel density of 300 samples, σ by 3-fold")
    for name in ("| gan | plain | 10 |", "| kl | plain | 10 |", "| vae | — | 10 |", "| real training images | — |"):
        assert name in table
    saved = json.loads((out / "table.json").read_text())
    assert saved["protocol"] == "paper" and saved["n_samples"] == 300
    assert saved["protocol_description"] == table.splitlines()[0]
    rows = saved["rows"]
    assert [row["divergence"] for row in rows] == ["gan", "kl", "vae", REFERENCE]
    assert rows[-1]["status"] == "200 images"  # as many training images as samples: here all 200 outside validation
    assert all(np.isfinite(row["parzen_mean"]) and row["parzen_stderr"] > 0 for row in rows)
    assert (out / "grids.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "runs" / "gan" / "plots" / "samples.png").exists() and (out / "vae" / "vae.pt").exists()
    assert main([*command, *arguments, "--divergence", "js", "--resume"]) == 0
    resumed = json.loads((out / "table.json").read_text())["rows"]
    assert [row["divergence"] for row in resumed] == ["gan", "kl", "js", "vae", REFERENCE]
    assert resumed[:2] == rows[:2] and resumed[3] == rows[2]  # kept, not trained again (the wall times would differ)
    assert main([*command, *arguments, "--resume", "--lr", "0.001"]) == 2
    assert "other settings (train)" in _error_line(capsys)
    assert main([*command, *arguments, "--resume", "--protocol", "goodfellow"]) == 2
    assert "other settings (protocol)" in _error_line(capsys)
    assert main([*command, "--minutes", "1", "--out", str(tmp_path / "other"), *QUICK]) == 2
    assert "not both" in _error_line(capsys)


def test_the_recommended_variant_trains_with_the_divergences_stabiliser(fake_mnist, tmp_path) -> None:
    out = tmp_path / "table4"
    command = ["reproduce", "mnist", "--data-dir", str(fake_mnist), "--steps", "3", "--n-samples", "300", "--no-vae"]
    command += ["--divergence", "neyman", "--out", str(out), *QUICK]
    assert main([*command, "--variant", "plain"]) == 0
    plain_rows = json.loads((out / "table.json").read_text())["rows"]
    assert main([*command, "--resume"]) == 0  # the default variants: plain, kept, and recommended, added
    rows = json.loads((out / "table.json").read_text())["rows"]
    assert [(row["divergence"], row["variant"]) for row in rows[:2]] == [("neyman", "plain"), ("neyman", "recommended")]
    assert rows[0] == plain_rows[0]
    runs = out / "runs"
    plain, recommended = (
        json.loads((runs / name / "config.json").read_text()) for name in ("neyman", "neyman-recommended")
    )
    assert plain["train"]["stabilizer"] == ["none"]
    assert recommended["train"]["stabilizer"] == list(get_divergence("neyman").recommended_stabilizer.stabilizers)
    assert recommended["train"]["stabilizer"] != ["none"]
    assert "| neyman | recommended | 3 |" in (out / "table.md").read_text()


def test_stabilizers_given_are_added_to_both_variants_and_named_in_their_rows(fake_mnist, tmp_path) -> None:
    out = tmp_path / "table4"
    command = ["reproduce", "mnist", "--data-dir", str(fake_mnist), "--steps", "3", "--n-samples", "300", "--no-vae"]
    assert main([*command, "--divergence", "js", "--stabilizer", "ema", "--out", str(out), *QUICK]) == 0
    rows = json.loads((out / "table.json").read_text())["rows"]
    assert [row["variant"] for row in rows[:2]] == ["plain+ema", "recommended+ema"]
    runs = out / "runs"
    names = ("js-plain+ema", "js-recommended+ema")
    plain, recommended = (json.loads((runs / name / "config.json").read_text()) for name in names)
    assert plain["train"]["stabilizer"] == ["ema"]
    assert recommended["train"]["stabilizer"] == [*get_divergence("js").recommended_stabilizer.stabilizers, "ema"]
    assert recommended["train"]["ema_decay"] == plain["train"]["ema_decay"] == 0.999
    table = (out / "table.md").read_text()
    assert "| js | plain+ema | 3 |" in table and "| js | recommended+ema | 3 |" in table


def test_the_goodfellow_protocol_chooses_sigma_on_validation_images(fake_mnist, tmp_path) -> None:
    out = tmp_path / "goodfellow"
    command = ["reproduce", "mnist", "--data-dir", str(fake_mnist), "--steps", "3", "--protocol", "goodfellow"]
    assert main([*command, "--divergence", "js", "--variant", "plain", "--no-vae", "--out", str(out), *QUICK]) == 0
    saved = json.loads((out / "table.json").read_text())
    assert saved["protocol"] == "goodfellow" and saved["n_samples"] == 10_000
    assert [row["divergence"] for row in saved["rows"]] == ["js", REFERENCE]
    assert saved["rows"][-1]["status"] == "200 images"  # all the training images outside the 1,000 of validation
    assert (out / "table.md").read_text().startswith("Parzen protocol goodfellow: isotropic Gaussian kernel density")


def test_a_divergence_killed_mid_run_continues_on_resume(fake_mnist, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(budget, "SEGMENT_SECONDS", 1.0)
    resume_run = budget.resume_run

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies in the divergence's second segment

    monkeypatch.setattr(budget, "resume_run", killed)
    out = tmp_path / "killed"
    command = ["reproduce", "mnist", "--data-dir", str(fake_mnist), "--minutes", "0.05", "--n-samples", "300"]
    arguments = ["--divergence", "gan", "--variant", "plain", "--no-vae", "--out", str(out), *QUICK]
    assert main([*command, *arguments]) == EXIT_INTERRUPTED
    run = out / "runs" / "gan"
    spent = budget.read_spent(run)
    assert spent is not None and spent.step > 0 and not (run / "score.json").exists()
    monkeypatch.setattr(budget, "resume_run", resume_run)
    assert main([*command, *arguments, "--resume"]) == 0
    row = json.loads((run / "score.json").read_text())
    assert row["steps"] > spent.step and row["seconds"] >= 3.0  # the budget is 0.05 minutes over both processes
    steps = [metric["step"] for metric in read_metrics(run)]
    assert steps == list(range(1, row["steps"] + 1))  # one run, continued from its checkpoint
