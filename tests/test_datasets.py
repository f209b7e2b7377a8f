"""The data-set registry: one spec per data set, names with and without a prefix, the unknown-name message, and
training on the user's own samples (``--data file:PATH``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from fgan.cli import main
from fgan.data import PAPER_MIXTURE, TensorSampler, parse_mixture
from fgan.datasets import (
    DATASETS,
    IMAGE_DATA,
    VECTOR_DATA,
    find_dataset,
    load_split,
    load_training_data,
    synthetic_mixture,
)
from fgan.errors import UsageError
from tests.helpers import quick_run

QUICK = quick_run(steps=12, batch_size=32)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("fgan: error: ") and err.count("\n") == 1, err
    return err


def test_synthetic_mixture_names() -> None:
    assert synthetic_mixture("ring").means.shape == (8, 2)
    assert synthetic_mixture("grid").means.shape == (25, 2)
    paper = synthetic_mixture(" mixture ")
    assert_close(paper.means, parse_mixture(PAPER_MIXTURE).means)
    assert_close(paper.stds, parse_mixture(PAPER_MIXTURE).stds)
    custom = synthetic_mixture("mixture:1:3:0.5")
    assert_close(custom.means, torch.tensor([[3.0]], dtype=torch.float64))
    assert_close(custom.stds, torch.tensor([0.5], dtype=torch.float64))


@pytest.mark.parametrize("name", ["moons", "", "mixture:", "mixture:1:2", "Ring", "digits", "file:x.npy"])
def test_synthetic_mixture_refuses_other_names(name: str) -> None:
    with pytest.raises(UsageError):
        synthetic_mixture(name)


def test_every_name_is_one_spec_and_every_spec_is_listed() -> None:
    prefixes = [spec.name for spec in DATASETS if spec.argument is not None]
    assert all(prefix.endswith(":") for prefix in prefixes)
    assert [spec.label for spec in DATASETS] == [*VECTOR_DATA, *IMAGE_DATA]
    for name, kind, model, split in [
        ("ring", "synthetic", "mlp", False),
        ("mixture", "synthetic", "mlp", False),
        ("mixture:1:0:1", "synthetic", "mlp", False),
        ("file:x.csv", "samples", "mlp", False),
        ("mnist", "images", "mnist-mlp", True),
        ("digits", "images", "mnist-mlp", True),
        ("folder:/x", "images", "dcgan", False),
    ]:
        spec = find_dataset(name)
        assert (spec.kind, spec.default_model, spec.has_test_split) == (kind, model, split), name
    assert [spec.name for spec in DATASETS if spec.snapshots] == ["mixture", "mixture:"]


@pytest.mark.parametrize("name", ["ring", "grid", "mixture", "mixture:1:0:1", "digits"])
def test_a_loaded_data_set_has_the_shape_of_its_spec(name: str) -> None:
    sampler, _ = load_training_data(name)
    assert tuple(sampler.sample(3).shape[1:]) == find_dataset(name).shape


@pytest.mark.parametrize(("name", "suggestion"), [("rnig", "ring"), ("mnsit", "mnist"), ("foldr:x", "folder")])
def test_an_unknown_name_lists_every_valid_one_and_the_closest(name: str, suggestion: str, capsys, tmp_path) -> None:
    assert main(["train", "--data", name, "--out", str(tmp_path / "run"), *QUICK]) == 2
    error = _error_line(capsys)
    assert f"unknown data {name!r} (did you mean {suggestion!r}?); valid: " in error
    assert all(label in error for label in (*VECTOR_DATA, *IMAGE_DATA))
    assert not (tmp_path / "run").exists()
    with pytest.raises(UsageError, match="unknown data 'zzzz'; valid: ring"):
        find_dataset("zzzz")


def test_only_data_sets_with_a_test_split_load_one() -> None:
    assert load_split("digits", "test").shape == (1, 8, 8)
    with pytest.raises(UsageError, match="ring has no train and test splits; data sets with them: mnist, fashion"):
        load_split("ring", "test")


def _write_samples(path, samples: np.ndarray) -> None:
    if path.suffix == ".npy":
        np.save(path, samples)
    elif path.suffix == ".npz":
        np.savez(path, samples=samples)
    else:
        path.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in samples))


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv"])
def test_train_on_the_samples_of_a_file(suffix: str, tmp_path, capsys) -> None:
    samples = np.random.default_rng(0).normal([3.0, -2.0], 0.1, size=(200, 2)).astype(np.float32)
    path = tmp_path / f"mine{suffix}"
    _write_samples(path, samples)
    run = tmp_path / "run"
    assert main(["train", "--data", f"file:{path}", "--divergence", "kl", "--out", str(run), *QUICK]) == 0
    assert f"training on 200 samples of dimension 2 from {path}" in capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert config["data"] == f"file:{path}" and config["data_shape"] == [2] and config["model"]["model"] == "mlp"
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 12
    assert (run / "plots" / "samples.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["sample", str(run), "--n", "7", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (7, 2)
    assert main(["train", "--resume", str(run), "--steps", "15", "--quiet"]) == 0
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 15


def test_a_file_sampler_draws_rows_of_the_file(tmp_path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("1.5\n-2.5\n")
    sampler, _ = load_training_data(f"file:{path}")
    assert isinstance(sampler, TensorSampler) and sampler.dim == 1
    assert set(sampler.sample(50).flatten().tolist()) == {1.5, -2.5}


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (None, "file:", "file: needs a path"),
        (None, "file:{tmp}/absent.npy", "absent.npy: cannot read samples"),
        ("1,2\n3,x\n", "file:{tmp}/bad.csv", "bad.csv"),
        ("1,2\n", "file:{tmp}/mine.txt", "samples must be a .npy, .npz or .csv file"),
        ("1,nan\n", "file:{tmp}/nan.csv", "NaN or infinite"),
    ],
)
def test_a_bad_samples_file_is_one_line_and_writes_nothing(content, name, expected, tmp_path, capsys) -> None:
    name = name.format(tmp=tmp_path)
    if content is not None:
        (tmp_path / name.removeprefix(f"file:{tmp_path}/")).write_text(content)
    assert main(["train", "--data", name, "--out", str(tmp_path / "run"), *QUICK]) == 2
    assert expected in _error_line(capsys)
    assert not (tmp_path / "run").exists()
