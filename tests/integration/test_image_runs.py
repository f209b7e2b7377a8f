"""Image runs end to end through the command line: training on digits, MNIST-format IDX files and image folders,
grids, sampling, resuming and evaluation (the Table 4 reproduction is in tests/experiments/test_table4_images.py);
bad input as one line and exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from fgan.cli import main
from fgan.runner import load_generator
from fgan.training import TrainConfig, Trainer
from tests.helpers import quick_run, write_fake_mnist

QUICK = quick_run(batch_size=32)
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture
def fake_mnist(tmp_path):
    """A folder of MNIST-format files: a 1,200-image training split and a 200-image test split."""
    return write_fake_mnist(tmp_path / "mnist", 1200, 200)


@pytest.fixture
def image_folder(tmp_path):
    """Twelve PNG and JPEG images of various sizes and modes."""
    folder = tmp_path / "pictures"
    (folder / "nested").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(12):
        size = (40 + 3 * index, 36 + 2 * index)
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        target = folder / ("nested" if index % 2 else "") / f"image{index}.{'png' if index % 3 else 'jpg'}"
        (image.convert("L") if index % 4 == 0 else image).save(target)
    return folder


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_digits_run_writes_grids_and_samples_as_grid_and_array(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", "digits", "--steps", "20", "--sample-every", "10", "--out", str(run), *QUICK]) == 0
    assert "trained 20 steps of js" in capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["data_shape"] == [1, 8, 8] and config["model"]["model"] == "mnist-mlp"
    assert config["train"]["lr_generator"] == 2e-4 and config["train"]["betas"] == [0.5, 0.999]
    assert sorted(path.name for path in (run / "samples").iterdir()) == ["step-0000010.png", "step-0000020.png"]
    with Image.open(run / "plots" / "samples.png") as grid:
        assert grid.mode == "L" and grid.size[0] >= 8 * 8 * 8
    assert main(["sample", str(run), "--n", "16", "--out", str(tmp_path / "grid.png")]) == 0
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.mode == "L"
    assert main(["sample", str(run), "--n", "16", "--out", str(tmp_path / "samples.npy")]) == 0
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (16, 1, 8, 8) and samples.min() >= 0.0 and samples.max() <= 1.0


def test_resumed_image_run_matches_an_uninterrupted_one(tmp_path) -> None:
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = ["--data", "digits", "--sample-every", "3", *QUICK]
    assert main(["train", *common, "--steps", "12", "--out", str(straight)]) == 0
    assert main(["train", *common, "--steps", "7", "--checkpoint-every", "7", "--out", str(split)]) == 0
    assert main(["train", "--resume", str(split), "--steps", "12", "--quiet"]) == 0
    for one, other in zip(
        load_generator(straight, "cpu").state_dict().values(),
        load_generator(split, "cpu").state_dict().values(),
        strict=True,
    ):
        assert torch.equal(one, other)


def test_mnist_from_a_data_dir_with_only_the_subset_says_so(tmp_path, fake_mnist, capsys) -> None:
    subset = tmp_path / "subset"
    subset.mkdir()
    for kind in ("images-idx3", "labels-idx1"):
        (fake_mnist / f"train-{kind}-ubyte.gz").rename(subset / f"train5k-{kind}-ubyte.gz")
    run = tmp_path / "run"
    assert main(["train", "--data", "mnist", "--data-dir", str(subset), "--steps", "2", "--out", str(run), *QUICK]) == 0
    assert "training split was not found; using the 1,200-image subset" in capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["data_shape"] == [1, 28, 28]


def test_missing_mnist_says_where_it_looked_and_how_to_get_it(tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "--data", "mnist", "--data-dir", str(empty), "--out", str(tmp_path / "r"), *QUICK]) == 2
    error = _error_line(capsys)
    assert str(empty) in error and "--download" in error


def test_corrupt_idx_file_is_one_line_naming_it(fake_mnist, tmp_path, capsys) -> None:
    images = fake_mnist / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:500])
    assert main(["train", "--data", "mnist", "--data-dir", str(fake_mnist), "--out", str(tmp_path / "r"), *QUICK]) == 2
    assert str(images) in _error_line(capsys)


def test_dcgan_on_an_image_folder_at_32_pixels(image_folder, tmp_path) -> None:
    run = tmp_path / "run"
    arguments = ["--data", f"folder:{image_folder}", "--image-size", "32", "--steps", "2", "--batch-size", "4"]
    assert main(["train", *arguments, *quick_run(), "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["model"] == "dcgan" and config["data_shape"] == [3, 32, 32]
    with Image.open(run / "plots" / "samples.png") as grid:
        assert grid.mode == "RGB"
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (4, 3, 32, 32)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--image-size", "48"], "32, 64 or 96 pixels"),
        (["--image-size", "4"], "image size"),
        (["--image-size", "32", "--model", "mlp"], "synthetic"),
        ([], "--image-size"),
    ],
)
def test_bad_image_folder_options_are_one_line(image_folder, tmp_path, capsys, arguments, expected) -> None:
    command = ["train", "--data", f"folder:{image_folder}", *arguments, "--steps", "1", "--out", str(tmp_path / "r")]
    assert main([*command, *QUICK]) == 2
    assert expected in _error_line(capsys)


def test_empty_folder_and_unreadable_image_are_one_line(tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    command = ["train", "--image-size", "32", "--steps", "1", "--out", str(tmp_path / "r"), *QUICK]
    assert main([*command, "--data", f"folder:{empty}"]) == 2
    assert "no PNG or JPEG images" in _error_line(capsys)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.png").write_bytes(b"not an image")
    assert main([*command, "--data", f"folder:{broken}", "--batch-size", "1"]) == 2
    assert "bad.png" in _error_line(capsys)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--data", "ring", "--model", "dcgan"], "needs image data"),
        (["--data", "digits", "--model", "mlp"], "synthetic data"),
        (["--data", "ring", "--image-size", "32"], "image data only"),
        (["--data", "digits", "--model", "dcgan"], "--image-size"),
    ],
)
def test_models_that_do_not_fit_the_data_are_one_line(tmp_path, capsys, arguments, expected) -> None:
    assert main(["train", *arguments, "--steps", "1", "--out", str(tmp_path / "r"), *QUICK]) == 2
    assert expected in _error_line(capsys)


def test_evaluate_scores_an_image_run_and_refuses_a_synthetic_one(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", "digits", "--steps", "5", "--out", str(run), *QUICK]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--metric", "all", "--n", "300", "--validation", "200", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert np.isfinite(result["kde"]["mean"]) and result["kde"]["n_test"] == 297
    assert result["kde"]["n_samples"] == 300
    assert result["kde"]["protocol"] == "paper" and result["kde"]["selection"] == "3-fold cross-validation"
    features = result["features"]
    assert features["classifier_accuracy"] > 0.8 and np.isfinite(features["fid"])
    assert 0.0 <= features["c2st_accuracy"] <= 1.0
    assert main(["evaluate", str(run), "--n", "300", "--validation", "200"]) == 0
    assert "(paper protocol)" in capsys.readouterr().out
    assert main(["evaluate", str(run), "--n", "300", "--validation", "200", "--protocol", "goodfellow"]) == 0
    printed = capsys.readouterr().out
    assert "under 300 samples (goodfellow protocol)" in printed and "chosen on 200 training images" in printed
    synthetic = tmp_path / "synthetic"
    assert main(["train", "--data", "ring", "--steps", "2", "--out", str(synthetic), *QUICK]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(synthetic)]) == 2
    assert "synthetic" in _error_line(capsys)


def test_evaluate_scores_a_kept_checkpoint_and_the_raw_generator_of_an_averaged_run(tmp_path, capsys) -> None:
    from fgan.runner import load_run
    from fgan.runs import checkpoint_files, load_checkpoint

    run = tmp_path / "run"
    arguments = ["--stabilizer", "ema", "--checkpoint-every", "2", "--keep-checkpoints", "5"]
    assert main(["train", "--data", "digits", "--steps", "4", "--out", str(run), *arguments, *QUICK]) == 0
    kept = dict(checkpoint_files(run))
    assert {2, 4} <= set(kept)
    for step in (2, 4):
        state = load_checkpoint(kept[step])
        for raw, weights in ((False, state["generator_average"]), (True, state["generator"])):
            generator = load_run(run, "cpu", step=step, raw=raw)[1]
            assert all(torch.equal(generator.state_dict()[name], value) for name, value in weights.items())
    newest = load_run(run, "cpu")[1].state_dict()
    newest_average = load_checkpoint(kept[4])["generator_average"]
    assert all(torch.equal(newest[name], value) for name, value in newest_average.items())
    capsys.readouterr()
    command = ["evaluate", str(run), "--n", "300", "--json", "--step", "2"]
    assert main([*command, "--raw-generator"]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert raw["step"] == 2 and raw["raw_generator"] is True
    assert main(command) == 0
    average = json.loads(capsys.readouterr().out)
    assert average["raw_generator"] is False and average["kde"]["mean"] != raw["kde"]["mean"]
    assert main(["evaluate", str(run), "--step", "3"]) == 2
    assert "keeps no checkpoint of step 3 (it keeps steps: " in _error_line(capsys)


def test_time_limit_and_callbacks(tmp_path) -> None:
    from fgan.data import ring
    from fgan.models import MLPCritic, MLPGenerator

    config = TrainConfig(steps=9, batch_size=16, device="cpu", quiet=True)
    trainer = Trainer(MLPGenerator(2, latent_dim=2, hidden=8), MLPCritic(2, hidden=8), ring(), "js", config)
    seen = []
    trainer.add_callback(3, lambda trainer: seen.append(trainer.step))
    trainer.train(time_limit=0.0)
    assert trainer.step == 0
    trainer.train()
    assert trainer.step == 9 and seen == [3, 6, 9]


def test_a_folder_of_fewer_images_than_one_batch_is_warned_about(image_folder) -> None:
    from fgan.images import FolderImages
    from fgan.runner import small_data_warning

    folder = FolderImages(image_folder, 32, workers=0)
    warning = small_data_warning(folder, "folder:pictures", 256)
    assert warning is not None and "holds 12 samples, fewer than one minibatch of 256" in warning
    assert small_data_warning(folder, "folder:pictures", 12) is None
