"""Tests of fgan.images: samplers, the MNIST lookup order, damaged IDX files, downloads from a local HTTP server,
scikit-learn's digits and folders of PNG and JPEG images."""

from __future__ import annotations

import functools
import gzip
import hashlib
import shutil
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fgan import images
from fgan.cache import cache_dir
from fgan.cli import main
from fgan.data import Sampler
from fgan.datasets import DataRequest, is_image_data, load_split, load_training_data
from fgan.errors import UsageError
from fgan.idx import write_idx
from fgan.images import (
    FolderImages,
    ImageData,
    ImageSampler,
    candidate_dirs,
    download_dataset,
    load_digits_dataset,
    load_folder_images,
    load_idx_dataset,
)

#: The project's shared data folder, beside the project (``../shared``), found relative to this file.
SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
SYSTEM_DATA_DIRS = images.SYSTEM_DATA_DIRS
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
FILES.append("t10k-labels-idx1-ubyte.gz")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the user's cache, $FGAN_DATA_DIR or the system's data sets unless it asks."""
    monkeypatch.setenv("FGAN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FGAN_DATA_DIR", raising=False)
    monkeypatch.setattr(images, "SYSTEM_DATA_DIRS", ())


def write_split(folder: Path, prefix: str, n: int = 20, seed: int = 0, gz: bool = True) -> None:
    """Fake IDX files of ``n`` random 28 x 28 images and labels 0..9 for the split ``prefix`` in ``folder``."""
    rng = np.random.default_rng(seed)
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", rng.integers(0, 10, n, dtype=np.uint8))


def write_dataset(folder: Path, seed: int = 0) -> dict[str, str]:
    """Fake train (20 images) and t10k (10 images) files in ``folder``; their SHA-256 by file name."""
    write_split(folder, "train", 20, seed)
    write_split(folder, "t10k", 10, seed + 1)
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


def assert_one_line_naming(err: pytest.ExceptionInfo[UsageError], path: Path | str) -> None:
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message


# --- ImageSampler and ImageData ----------------------------------------------------------------------------------


def test_image_sampler_shapes_range_and_reproducibility() -> None:
    store = torch.randint(0, 256, (50, 3, 4, 5), dtype=torch.uint8)
    sampler = ImageSampler(store)
    assert isinstance(sampler, Sampler)
    assert sampler.dim == 60 and sampler.shape == (3, 4, 5)
    torch.manual_seed(1)
    batch = sampler.sample(32)
    assert batch.shape == (32, 3, 4, 5) and batch.dtype == torch.float32
    assert 0 <= batch.min() and batch.max() <= 1
    rows = {tuple(image.flatten().tolist()) for image in store.float() / 255}
    assert all(tuple(image.flatten().tolist()) in rows for image in batch)
    torch.manual_seed(1)
    assert torch.equal(sampler.sample(32, "cpu"), batch)
    with pytest.raises(UsageError):
        ImageSampler(store.float())


def test_image_data_resized_and_properties() -> None:
    store = torch.full((6, 1, 28, 28), 100, dtype=torch.uint8)
    store[0, 0, :14] = 255
    data = ImageData("mnist", store, torch.arange(6), "here", "a note")
    assert len(data) == 6 and data.shape == (1, 28, 28) and data.dim == 784
    assert data.float_images().dtype == torch.float32 and data.float_images().max() == 1
    assert data.resized(28) is data
    small = data.resized(16)
    assert small.images.shape == (6, 1, 16, 16) and small.images.dtype == torch.uint8
    assert torch.equal(small.images[1:], torch.full((5, 1, 16, 16), 100, dtype=torch.uint8))
    assert small.images[0, 0, 0, 0] == 255 and small.images[0, 0, -1, 0] == 100
    assert small.labels is data.labels and small.note == "a note" and small.dim == 256
    assert data.sampler().sample(3).shape == (3, 1, 28, 28)
    with pytest.raises(UsageError, match="image size"):
        data.resized(4)


# --- Lookup of MNIST and Fashion-MNIST ---------------------------------------------------------------------------


def test_candidate_dirs_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FGAN_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setattr(images, "SYSTEM_DATA_DIRS", SYSTEM_DATA_DIRS)
    assert candidate_dirs("fashion-mnist", tmp_path / "given") == [
        tmp_path / "given",
        tmp_path / "given" / "fashion-mnist",
        tmp_path / "env",
        tmp_path / "env" / "fashion-mnist",
        tmp_path / "cache" / "data" / "fashion-mnist",
        Path("/usr/share/datasets/fashion-mnist"),
        Path("/usr/local/share/datasets/fashion-mnist"),
    ]
    with pytest.raises(UsageError, match="unknown"):
        candidate_dirs("cifar", None)


def test_data_dir_beats_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_split(tmp_path / "given", "t10k", n=5)
    write_split(tmp_path / "env", "t10k", n=7)
    monkeypatch.setenv("FGAN_DATA_DIR", str(tmp_path / "env"))
    data = load_idx_dataset("mnist", "test", data_dir=tmp_path / "given")
    assert len(data) == 5 and data.source == str(tmp_path / "given")
    assert data.images.shape == (5, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels is not None and data.labels.dtype == torch.int64 and data.note is None
    assert len(load_idx_dataset("mnist", "test")) == 7


def test_subfolder_cache_and_plain_files(tmp_path: Path) -> None:
    write_split(tmp_path / "root" / "fashion-mnist", "train", n=6, gz=False)
    data = load_idx_dataset("fashion-mnist", "train", data_dir=tmp_path / "root")
    assert len(data) == 6 and data.source == str(tmp_path / "root" / "fashion-mnist")
    write_split(tmp_path / "cache" / "data" / "mnist", "t10k", n=3)
    assert len(load_idx_dataset("mnist", "test")) == 3


def test_train5k_fallback_and_full_split_preferred(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_split(tmp_path / "subset", "train5k", n=8)
    data = load_idx_dataset("mnist", "train", data_dir=tmp_path / "subset")
    assert len(data) == 8
    assert data.note is not None and "not found" in data.note and str(tmp_path / "subset") in data.note
    write_split(tmp_path / "env" / "mnist", "train", n=9)
    monkeypatch.setenv("FGAN_DATA_DIR", str(tmp_path / "env"))
    data = load_idx_dataset("mnist", "train", data_dir=tmp_path / "subset")
    assert len(data) == 9 and data.note is None
    with pytest.raises(UsageError, match="t10k"):  # the subset never stands in for the test split
        load_idx_dataset("mnist", "test", data_dir=tmp_path / "subset")


def test_not_found_is_one_line_with_folders_and_hints(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FGAN_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(UsageError) as err:
        load_idx_dataset("fashion-mnist", "train", data_dir=tmp_path / "given")
    message = str(err.value)
    assert "\n" not in message and "fashion-mnist" in message
    for folder in [tmp_path / "given", tmp_path / "env" / "fashion-mnist", tmp_path / "cache" / "data"]:
        assert str(folder) in message
    for hint in ["--download", "--data-dir DIR", "$FGAN_DATA_DIR", "apt-get install dataset-fashion-mnist"]:
        assert hint in message
    with pytest.raises(UsageError) as err:
        load_idx_dataset("mnist", "test")
    assert "--download" in str(err.value) and "apt-get" not in str(err.value)
    with pytest.raises(UsageError, match="split"):
        load_idx_dataset("mnist", "valid")


def _truncate_gzip(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _wrong_shape(path: Path) -> None:
    write_idx(path, np.zeros((20, 27, 28), dtype=np.uint8))


def _too_few_labels(path: Path) -> None:
    write_idx(path, np.zeros(19, dtype=np.uint8))


def _label_eleven(path: Path) -> None:
    write_idx(path, np.full(20, 11, dtype=np.uint8))


def _int32_labels(path: Path) -> None:
    write_idx(path, np.zeros(20, dtype=np.int32))


@pytest.mark.parametrize(
    ("kind", "damage", "match"),
    [
        ("images", _truncate_gzip, "truncated or corrupt gzip"),
        ("images", _wrong_shape, r"\(n, 28, 28\)"),
        ("labels", _too_few_labels, "19 labels for the 20 images"),
        ("labels", _label_eleven, "0 to 9, found 11"),
        ("labels", _int32_labels, "uint8 labels"),
    ],
)
def test_damaged_idx_files(tmp_path: Path, kind: str, damage, match: str) -> None:
    write_split(tmp_path, "train", n=20)
    path = tmp_path / f"train-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz"
    damage(path)
    with pytest.raises(UsageError, match=match) as err:
        load_idx_dataset("mnist", "train", data_dir=tmp_path)
    assert_one_line_naming(err, path)


# --- Downloads from a local server -------------------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Serve without logging each request to stderr."""


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1 and its URL (ending in /)."""
    monkeypatch.setenv("no_proxy", "*")
    served = tmp_path / "served"
    served.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_download_then_load(server: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    served, url = server
    checksums = write_dataset(served / "good")
    monkeypatch.setitem(images.MIRRORS, "mnist", [url + "good"])
    monkeypatch.setitem(images.SHA256, "mnist", checksums)
    data = load_idx_dataset("mnist", "train", data_dir=tmp_path / "dl", download=True)
    assert len(data) == 20 and data.note is None
    assert sorted(path.name for path in (tmp_path / "dl").iterdir()) == sorted(FILES)  # no temporary files left
    assert len(load_idx_dataset("mnist", "test", data_dir=tmp_path / "dl")) == 10


def test_download_defaults_to_the_cache(server: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    served, url = server
    monkeypatch.setitem(images.MIRRORS, "mnist", [url])
    monkeypatch.setitem(images.SHA256, "mnist", write_dataset(served))
    data = load_idx_dataset("mnist", "test", download=True)
    assert data.source == str(cache_dir() / "data" / "mnist")


def test_download_skips_a_bad_mirror(server: tuple[Path, str], tmp_path: Path) -> None:
    served, url = server
    write_dataset(served / "bad", seed=5)
    checksums = write_dataset(served / "good")
    root = tmp_path / "dl"
    assert download_dataset("mnist", root, [url + "bad/", url + "good/"], checksums) == root
    assert {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in FILES} == checksums


def test_download_all_mirrors_bad(server: tuple[Path, str], tmp_path: Path) -> None:
    served, url = server
    write_dataset(served / "bad", seed=5)
    checksums = write_dataset(tmp_path / "reference")
    root = tmp_path / "dl"
    with pytest.raises(UsageError, match="SHA-256 mismatch from " + url + "bad/train-images") as err:
        download_dataset("mnist", root, [url + "bad", url + "bad/"], checksums)
    assert_one_line_naming(err, root / FILES[0])
    assert checksums[FILES[0]] in str(err.value)
    assert list(root.iterdir()) == []


def test_download_404_names_the_url(server: tuple[Path, str], tmp_path: Path) -> None:
    _, url = server
    with pytest.raises(UsageError, match="404") as err:
        download_dataset("mnist", tmp_path / "dl", [url + "missing/"], {"t10k-labels-idx1-ubyte.gz": "0" * 64})
    assert_one_line_naming(err, url + "missing/t10k-labels-idx1-ubyte.gz")


def test_download_keeps_good_files_and_replaces_bad_ones(server: tuple[Path, str], tmp_path: Path) -> None:
    served, url = server
    checksums = write_dataset(tmp_path / "dl")
    dead = ["http://127.0.0.1:1/"]  # nothing listens there: any download attempt fails
    assert download_dataset("mnist", tmp_path / "dl", dead, checksums) == tmp_path / "dl"
    (tmp_path / "dl" / FILES[1]).write_bytes(b"damaged")
    with pytest.raises(UsageError, match=FILES[1]):
        download_dataset("mnist", tmp_path / "dl", dead, checksums)
    shutil.copytree(tmp_path / "dl", served, dirs_exist_ok=True)
    write_dataset(served)
    download_dataset("mnist", tmp_path / "dl", [url], checksums)
    assert hashlib.sha256((tmp_path / "dl" / FILES[1]).read_bytes()).hexdigest() == checksums[FILES[1]]


# --- Digits ------------------------------------------------------------------------------------------------------


def test_digits_splits() -> None:
    train, test = load_digits_dataset("train"), load_digits_dataset("test")
    assert len(train) == 1500 and len(test) == 297
    assert train.shape == (1, 8, 8) and train.images.dtype == torch.uint8
    assert train.images.min() == 0 and train.images.max() == 255
    allowed = {round(v * 255 / 16) for v in range(17)}
    assert set(torch.cat([train.images, test.images]).unique().tolist()) <= allowed
    assert train.labels is not None and test.labels is not None and train.labels.dtype == torch.int64
    assert set(train.labels.tolist()) == set(range(10)) == set(test.labels.tolist())
    assert torch.equal(load_digits_dataset("test").images, test.images)
    with pytest.raises(UsageError):
        load_digits_dataset("all")


# --- Folders of images -------------------------------------------------------------------------------------------


@pytest.fixture
def image_tree(tmp_path: Path) -> Path:
    """12 PNG and JPEG images of several sizes and modes, in a folder and a subfolder, and a text file."""
    root = tmp_path / "pictures"
    (root / "sub" / "deeper").mkdir(parents=True)
    rng = np.random.default_rng(0)
    specs = [
        ("a.png", "RGB", (40, 30)),
        ("b.png", "L", (20, 20)),
        ("c.png", "RGBA", (50, 50)),
        ("d.jpg", "RGB", (64, 32)),
        ("e.JPEG", "L", (17, 45)),
        ("f.PNG", "P", (24, 24)),
        ("sub/g.jpeg", "RGB", (100, 16)),
        ("sub/h.png", "LA", (16, 16)),
        ("sub/i.jpg", "L", (33, 21)),
        ("sub/deeper/j.png", "RGB", (8, 80)),
        ("sub/deeper/k.Jpg", "RGB", (48, 48)),
        ("sub/deeper/l.png", "I;16", (30, 40)),
    ]
    for name, mode, (width, height) in specs:
        channels = {"RGB": 3, "RGBA": 4, "LA": 2}.get(mode, 1)
        shape = (height, width) if channels == 1 else (height, width, channels)
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        image = Image.fromarray(pixels).convert(mode) if mode not in ("RGBA", "LA") else Image.fromarray(pixels, mode)
        image.save(root / name)
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.mark.parametrize("channels", [1, 3])
def test_load_folder_images(image_tree: Path, channels: int) -> None:
    data = load_folder_images(image_tree, 16, channels)
    assert data.images.shape == (12, channels, 16, 16) and data.images.dtype == torch.uint8
    assert data.labels is None and data.note is None and data.name == f"folder:{image_tree}"
    limited = load_folder_images(image_tree, 16, channels, limit=5)
    assert torch.equal(limited.images, data.images[:5])
    assert limited.note is not None and "5 of the 12" in limited.note


@pytest.mark.parametrize("channels", [1, 3])
def test_centre_crop(tmp_path: Path, channels: int) -> None:
    wide = np.zeros((10, 40), dtype=np.uint8)
    wide[:, 15:25] = 255  # only the centre square is white
    Image.fromarray(wide).save(tmp_path / "wide.png")
    Image.fromarray(wide.T.copy()).save(tmp_path / "tall.png")
    data = load_folder_images(tmp_path, 10, channels)
    assert torch.equal(data.images, torch.full((2, channels, 10, 10), 255, dtype=torch.uint8))
    big = np.zeros((40, 160), dtype=np.uint8)
    big[:, 60:100] = 255  # resized by 1/4 to 40 x 10, then cropped to the white middle
    Image.fromarray(big).save(tmp_path / "wide.png")
    image = load_folder_images(tmp_path, 10, channels).images[1].float()
    assert image[:, :, 2:8].min() == 255 and image.mean() > 200


@pytest.mark.parametrize("workers", [0, 1])
def test_folder_images_sampler(image_tree: Path, workers: int) -> None:
    sampler = FolderImages(image_tree, 16, channels=3, workers=workers, seed=3)
    assert isinstance(sampler, Sampler)
    assert len(sampler) == 12 and sampler.dim == 3 * 16 * 16 and sampler.shape == (3, 16, 16)
    assert sampler.root == image_tree and sampler.files[0] == image_tree / "a.png"
    batch = sampler.sample(8)
    assert batch.shape == (8, 3, 16, 16) and batch.dtype == torch.float32
    assert 0 <= batch.min() and batch.max() <= 1
    assert sampler.sample(8).shape == (8, 3, 16, 16)
    assert sampler.sample(5, "cpu").shape == (5, 3, 16, 16)  # another batch size rebuilds the loader
    again = FolderImages(image_tree, 16, channels=3, workers=0, seed=3)
    assert torch.equal(again.sample(8), batch)


def test_folder_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no PNG or JPEG images under") as err:
        FolderImages(tmp_path / "empty", 16)
    assert_one_line_naming(err, tmp_path / "empty")
    with pytest.raises(UsageError, match="no such folder"):
        FolderImages(tmp_path / "nowhere", 16)
    Image.new("RGB", (9, 9)).save(tmp_path / "empty" / "ok.png")
    with pytest.raises(UsageError, match="image size"):
        FolderImages(tmp_path / "empty", 4)
    with pytest.raises(UsageError, match="channels"):
        load_folder_images(tmp_path / "empty", 8, channels=2)
    with pytest.raises(UsageError, match="not a folder"):
        load_folder_images(tmp_path / "empty" / "ok.png", 8)


@pytest.mark.parametrize("workers", [0, 1])
def test_corrupt_image_is_one_line_usage_error(tmp_path: Path, workers: int) -> None:
    Image.new("L", (12, 12), 128).save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    sampler = FolderImages(tmp_path, 8, channels=1, workers=workers)
    with pytest.raises(UsageError, match="cannot read image") as err:
        sampler.sample(32)
    assert_one_line_naming(err, tmp_path / "bad.png")
    with pytest.raises(UsageError) as err:
        load_folder_images(tmp_path, 8)
    assert_one_line_naming(err, tmp_path / "bad.png")


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A small PNG whose header claims ``width`` x ``height`` pixels (the rows are never decoded)."""
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", width, height)  # IHDR's width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # IHDR's CRC
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("width", "height", "match"), [(1, 100_000, "more elongated than 16:1"), (10_000, 10_000, "")])
def test_huge_or_elongated_images_are_refused_in_one_line_from_the_header(
    tmp_path: Path, width: int, height: int, match: str
) -> None:
    """A 177-byte 1x100000 PNG took 875 MB and 57 s for two steps; a 100-megapixel PNG passed with multi-line
    warnings (issue 19, item 14)."""
    path = _png_claiming(tmp_path / "big.png", width, height)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(UsageError, match=match or "decompression bomb") as err:
            load_folder_images(tmp_path, 32)
    assert_one_line_naming(err, path)
    assert not caught, [str(warning.message) for warning in caught]  # no DecompressionBombWarning lines


def test_a_file_name_with_a_newline_is_one_escaped_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "bad\nname.png").write_bytes(b"not an image")
    arguments = ["--data", f"folder:{tmp_path}", "--image-size", "32", "--steps", "1", "--out", str(tmp_path / "run")]
    code = main(["train", *arguments, "--quiet"])
    assert code == 2
    lines = capsys.readouterr().err.splitlines()
    assert all(line.startswith("fgan: ") for line in lines)  # the name's newline starts no line of its own
    assert lines[-1].startswith("fgan: error: ") and "bad\\nname.png: cannot read image" in lines[-1]


# --- One entry point ---------------------------------------------------------------------------------------------


def test_entry_points(image_tree: Path) -> None:
    assert all(is_image_data(name) for name in ["mnist", "fashion-mnist", "digits", "folder:/x"])
    assert not any(is_image_data(name) for name in ["ring", "mixture", "folder"])
    sampler, note = load_training_data("digits", DataRequest(image_size=16))
    assert isinstance(sampler, ImageSampler) and note is None
    assert sampler.sample(4).shape == (4, 1, 16, 16)
    assert load_training_data("digits", DataRequest(channels=1))[0].shape == (1, 8, 8)
    with pytest.raises(UsageError, match="channel"):
        load_training_data("digits", DataRequest(channels=3))
    folder, note = load_training_data(f"folder:{image_tree}", DataRequest(image_size=8, workers=0))
    assert isinstance(folder, FolderImages) and folder.shape == (3, 8, 8) and note is None
    with pytest.raises(UsageError, match="image size"):
        load_training_data(f"folder:{image_tree}")
    with pytest.raises(UsageError, match="fashion-mnist, digits, folder:PATH"):
        load_split("cifar", "train")
    with pytest.raises(UsageError, match=r"folder:.* has no train and test splits; data sets with them: mnist"):
        load_split(f"folder:{image_tree}", "train")


# --- Real data, where this machine has it ------------------------------------------------------------------------


def test_shared_mnist() -> None:
    if not SHARED_MNIST.is_dir():
        pytest.skip(f"{SHARED_MNIST} is absent")
    test = load_idx_dataset("mnist", "test", data_dir=SHARED_MNIST)
    assert len(test) == 10000 and test.shape == (1, 28, 28) and test.note is None
    assert test.labels is not None and set(test.labels.tolist()) == set(range(10))
    sampler, note = load_training_data("mnist", DataRequest(data_dir=SHARED_MNIST))
    assert note is None  # the full official training split, not the 5,000-image subset beside it
    assert isinstance(sampler, ImageSampler) and sampler.images.shape == (60000, 1, 28, 28)
    assert sampler.sample(2).shape == (2, 1, 28, 28)


def test_system_fashion_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = SYSTEM_DATA_DIRS[0] / "fashion-mnist"
    if not (folder / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"{folder} has no Fashion-MNIST test split")
    monkeypatch.setattr(images, "SYSTEM_DATA_DIRS", SYSTEM_DATA_DIRS)
    data = load_idx_dataset("fashion-mnist", "test")
    assert len(data) == 10000 and data.source == str(folder)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as labels:
        assert data.labels is not None and data.labels[:4].tolist() == list(labels.read()[8:12])
