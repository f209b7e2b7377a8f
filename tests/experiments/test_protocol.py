"""The experiments of ``fgan reproduce`` behind one protocol: the registry, options declared as fields, the output
folder (refused when it holds something else, resumed only with the same settings) and Table 3's run folders."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass, replace

import numpy as np
import pytest
import torch

from fgan.cli import build, main
from fgan.data import parse_mixture
from fgan.errors import UsageError
from fgan.experiments import EXPERIMENTS
from fgan.experiments.protocol import open_experiment_folder
from fgan.experiments.table3_mixture import default_config, fit_one
from fgan.options import option_fields

MIXTURE = "0.5:-1:0.5,0.5:1:0.5"


def test_the_registry_holds_the_four_subcommands() -> None:
    assert list(EXPERIMENTS) == ["gaussian-mixture", "estimation", "mnist", "modes"]
    assert all(name == experiment.name and experiment.summary for name, experiment in EXPERIMENTS.items())


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_option_is_a_declared_field_with_a_flag(name: str) -> None:
    options_class = EXPERIMENTS[name].Options
    declared = {f.name for f, _ in option_fields(options_class)}
    defaults = options_class()
    nested = [f.name for f in fields(defaults) if f.name not in declared]
    assert all(is_dataclass(getattr(defaults, field)) for field in nested), nested  # a config, such as TrainConfig
    assert all(spec.help for _, spec in option_fields(options_class))
    options = build()[1][f"reproduce {name}"].options
    for f, spec in option_fields(options_class):
        assert options[f.name].flag == "--" + (spec.flag or f.name.replace("_", "-")), f.name


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("gaussian-mixture", {"snapshots": 0}, "snapshots must be >= 1, got 0"),
        ("modes", {"datasets": ("ring", "moons")}, "unknown datasets 'moons'; valid: ring, grid"),
        ("estimation", {"pairs": ("far", "near")}, "unknown pairs 'near'"),
        ("mnist", {"n_samples": 0}, "n samples must be >= 1"),
    ],
)
def test_options_out_of_range_are_refused_before_anything_is_written(name, change, message, tmp_path) -> None:
    experiment = EXPERIMENTS[name]
    with pytest.raises(UsageError, match=message):
        experiment.run(replace(experiment.Options(), **change), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_experiment_folder_is_refused_to_another_and_resumed_only_as_it_was(tmp_path) -> None:
    out = tmp_path / "out"
    settings = {"divergences": ["kl"], "samples": 10, "train": {"steps": 5, "quiet": True}}
    assert open_experiment_folder("modes", out, settings) == out
    assert json.loads((out / "config.json").read_text()) == {"experiment": "modes", **settings}
    with pytest.raises(UsageError, match="already holds a run"):
        open_experiment_folder("modes", out, settings)
    with pytest.raises(UsageError, match="holds the modes experiment, not mnist"):
        open_experiment_folder("mnist", out, settings, resume=True)
    with pytest.raises(UsageError, match=r"other settings \(samples\)"):
        open_experiment_folder("modes", out, {**settings, "samples": 11}, resume=True)
    grown = {**settings, "divergences": ["kl", "js"], "train": {"steps": 5, "quiet": False}}
    assert open_experiment_folder("modes", out, grown, resume=True) == out
    with pytest.raises(UsageError, match="--resume needs the --out folder"):
        open_experiment_folder("modes", None, settings, resume=True)
    run = tmp_path / "run"
    assert main(["train", "--steps", "2", "--batch-size", "16", "--quiet", "--out", str(run)]) == 0
    with pytest.raises(UsageError, match="holds a training run, not modes"):
        open_experiment_folder("modes", run, settings, resume=True)


def test_table3_keeps_each_fit_as_a_run_folder_with_the_row_of_fit_one(tmp_path, capsys) -> None:
    experiment = EXPERIMENTS["gaussian-mixture"]
    config = replace(default_config(steps=30), batch_size=64)
    options = replace(experiment.Options(), divergences=("kl", "js"), mixture=MIXTURE, snapshots=2, train=config)
    out = tmp_path / "table3"
    result = experiment.run(options, out)
    assert [row.divergence for row in result.rows] == ["kl", "js"] and result.out == out
    torch.manual_seed(1)  # whatever the process drew before, a fit starts from its seed
    alone = fit_one(parse_mixture(MIXTURE), "kl", config)
    assert (result.rows[0].objective_hat, result.rows[0].mu_hat) == (alone.objective_hat, alone.mu_hat)
    assert "| kl |" in experiment.format(result) and experiment.to_json(result)[1]["divergence"] == "js"
    run = out / "runs" / "kl"
    saved = json.loads((run / "config.json").read_text())
    assert saved["data"] == f"mixture:{MIXTURE}" and saved["model"]["generator"] == "location-scale"
    assert json.loads((run / "score.json").read_text())["mu_hat"] == result.rows[0].mu_hat
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 30
    assert (run / "plots" / "samples.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["sample", str(run), "--n", "5", "--seed", "0", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (5, 1)
    assert main(["report", str(out)]) == 0
    text = (out / "report.html").read_text()
    assert "<th>μ̂</th>" in text and '<section id="run-2"><h2>js</h2>' in text
