"""fgan.memory and the sizes checked with it: refused in one line before allocation (issue 19, item 7)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from fgan import memory
from fgan.bench import batch_sweep
from fgan.cli import main
from fgan.data import ring
from fgan.errors import UsageError
from fgan.estimation import EstimateConfig, estimate_divergence, load_samples
from fgan.image_models import build_image_models
from fgan.images import load_digits_dataset
from fgan.memory import available_memory, byte_text, check_fits
from fgan.models import MLPCritic, MLPGenerator
from fgan.training import TrainConfig, Trainer
from tests.helpers import quick_run


def _one_line(caught: pytest.ExceptionInfo[UsageError]) -> str:
    message = str(caught.value)
    assert "\n" not in message and "of memory needed" in message
    return message


def test_available_memory_is_positive_and_a_size_beyond_it_is_refused() -> None:
    assert available_memory() > 0
    check_fits(1024, "a small array")
    with pytest.raises(UsageError) as caught:
        check_fits(available_memory() * 2, "--n 5")
    assert _one_line(caught).startswith("--n 5: ")
    assert byte_text(3 << 30) == "3.0 GiB" and byte_text(12) == "12 bytes"


@pytest.mark.parametrize(
    "build",
    [
        lambda: MLPGenerator(2, latent_dim=10**9),
        lambda: MLPGenerator(2, hidden=10**8),
        lambda: MLPCritic(2, hidden=3 * 10**6),
        lambda: MLPCritic(2, depth=10**11),
        lambda: build_image_models("dcgan", (3, 32, 32), latent_dim=10**9),
        lambda: build_image_models("mnist-mlp", (3, 10**5, 10**5)),
    ],
)
def test_networks_too_large_for_memory_are_refused_before_allocation(build) -> None:
    """--hidden, --latent-dim and --image-size ended in allocation tracebacks."""
    with pytest.raises(UsageError) as caught:
        build()
    assert "weights" in _one_line(caught)


def test_resizing_images_beyond_memory_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        load_digits_dataset("train").resized(100_000)
    assert _one_line(caught).startswith("--image-size 100000: ")


def test_a_sweep_batch_beyond_memory_is_refused_before_measuring() -> None:
    with pytest.raises(UsageError) as caught:
        batch_sweep("gaussian-mixture", ["fp32"], [16, 10**12], steps=1, rounds=1)
    assert _one_line(caught).startswith("--sweep 1000000000000: ")


def _fake_npy(path: Path, shape: tuple[int, ...]) -> None:
    with path.open("wb") as file:
        npy_format.write_array_header_1_0(file, {"descr": "<f8", "fortran_order": False, "shape": shape})
        file.write(bytes(64))


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_an_npy_header_claiming_a_huge_shape_is_refused_naming_the_file(tmp_path: Path, suffix: str) -> None:
    """numpy allocated the claimed 7.28 TiB first: a traceback."""
    npy = tmp_path / "huge.npy"
    _fake_npy(npy, (10**12, 1))
    path = npy
    if suffix == ".npz":
        path = tmp_path / "huge.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(npy, "samples.npy")
    with pytest.raises(UsageError, match=r"the header claims shape \(1000000000000, 1\)") as caught:
        load_samples(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_an_honest_header_beyond_memory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "fine.npy"
    np.save(path, np.zeros((1000, 2)))
    assert load_samples(path).shape == (1000, 2)
    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    with pytest.raises(UsageError) as caught:
        load_samples(path)
    assert _one_line(caught).startswith(f"{path}: an array of shape (1000, 2)")


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "ring"
    assert main(["train", "--data", "ring", "--out", str(run), *quick_run(steps=3, batch_size=16)]) == 0
    return run


def test_sample_n_beyond_memory_is_one_line(ring_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """sample --n 99999999999 did not stop in 60 s."""
    assert main(["sample", str(ring_run), "--n", "99999999999999", "--out", str(tmp_path / "s.npy")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fgan: error:")]
    assert len(errors) == 1 and "--n 99999999999999: samples of 2 values" in errors[0]
    assert not (tmp_path / "s.npy").exists()


def test_a_batch_size_beyond_memory_is_refused_before_training() -> None:
    """--batch-size 10**12 was an allocation traceback in train and estimate."""
    with pytest.raises(UsageError) as caught:
        Trainer(MLPGenerator(2), MLPCritic(2), ring(), "kl", TrainConfig(batch_size=10**12, steps=1, quiet=True))
    assert _one_line(caught).startswith("--batch-size 1000000000000: ")
    samples = np.random.default_rng(0).normal(size=(200, 1))
    with pytest.raises(UsageError) as caught:
        estimate_divergence(samples, samples + 1, "kl", EstimateConfig(batch_size=10**12))
    assert _one_line(caught).startswith("--batch-size 1000000000000: ")
