"""Image data sets for training and evaluation: MNIST, Fashion-MNIST, scikit-learn's digits and folders of images.

Images are float32 in [0, 1] with shape ``(n, C, H, W)`` wherever they meet a model; in memory they are kept as
uint8 and converted batch by batch.

Where MNIST and Fashion-MNIST are looked for (see :func:`candidate_dirs`), in this order:

1. the ``data_dir`` argument (``--data-dir``), the folder itself and its subfolder ``NAME/``;
2. ``$FGAN_DATA_DIR``, the folder itself and its subfolder ``NAME/``;
3. the user's data cache ``cache_dir()/data/NAME``, where ``cache_dir()`` is ``$FGAN_CACHE_DIR``, else
   ``$XDG_CACHE_HOME/fgan``, else ``~/.cache/fgan``;
4. ``/usr/share/datasets/NAME`` (Debian's ``dataset-fashion-mnist`` installs Fashion-MNIST there) and
   ``/usr/local/share/datasets/NAME``.

A folder holds a split when it has both ``{prefix}-images-idx3-ubyte`` and ``{prefix}-labels-idx1-ubyte``, each
plain or with ``.gz``; the prefix is ``train`` for the training split and ``t10k`` for the test split. The full
training split in any folder beats a ``train5k`` subset (a 5,000-image part of it, as some course materials ship),
which is used only when no folder has the full split, and then with a note saying so.

Downloads (``download=True``, ``--download``) go to ``data_dir`` when given, else ``$FGAN_DATA_DIR/NAME``, else
``cache_dir()/data/NAME``; every file is checked against its published SHA-256 before it is moved into place.

Every problem with the input (a missing data set, a damaged file, an unreadable image, a bad option) is a
:class:`~fgan.errors.UsageError` with a one-line message naming the file or folder at fault.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import IO

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, RandomSampler

from fgan.cache import cache_dir
from fgan.errors import UsageError, one_line
from fgan.idx import read_idx
from fgan.memory import check_fits
from fgan.runs import atomic_write

#: The IDX data sets, their download mirrors (tried in order) and the SHA-256 of each published file.
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}
IDX_DATASETS = tuple(MIRRORS)
SPLITS = ("train", "test")
#: The system-wide folders that may hold ``NAME/`` (after ``data_dir``, ``$FGAN_DATA_DIR`` and the user cache).
SYSTEM_DATA_DIRS = (Path("/usr/share/datasets"), Path("/usr/local/share/datasets"))
#: The file-name prefix of the full training split, its 5,000-image subset and the test split.
TRAIN_PREFIX, SUBSET_PREFIX, TEST_PREFIX = "train", "train5k", "t10k"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MIN_IMAGE_SIZE = 8
#: The most pixels of an image file read (a 64-megapixel photo; Pillow warns only above 89).
MAX_SOURCE_PIXELS = 64_000_000
#: The most elongated image read: its long side at most this many times its short side.
MAX_ASPECT = 16
DIGITS_TEST_SIZE = 297
_CHUNK = 1 << 20
_ENDLESS = 1 << 62  # the number of indices the folder sampler may draw: never reached


def _check_image_size(image_size: object) -> int:
    """``image_size`` when it is an integer of at least MIN_IMAGE_SIZE; UsageError otherwise."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < MIN_IMAGE_SIZE:
        raise UsageError(f"image size must be an integer >= {MIN_IMAGE_SIZE}, got {image_size!r}")
    return image_size


def image_shape(images: Tensor) -> tuple[int, int, int]:
    """``(C, H, W)`` of one image of the ``(n, C, H, W)`` tensor ``images``."""
    channels, height, width = images.shape[1:]
    return channels, height, width


class ImageSampler:
    """Minibatches of float32 images in [0, 1] drawn uniformly with replacement from a uint8 ``(n, C, H, W)`` store.

    The store moves to the training device on the first ``sample`` there and stays; only each batch is converted to
    float. Indices come from torch's global random generator, so ``torch.manual_seed`` makes sampling reproducible.
    """

    def __init__(self, images: Tensor) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4 or len(images) == 0:
            shape = tuple(images.shape)
            raise UsageError(f"images must be uint8 of shape (n, C, H, W) with n > 0, got {images.dtype} {shape}")
        self.images = images
        self.shape = image_shape(images)
        self.dim = images[0].numel()

    def sample(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        """``n`` images, float32 of shape ``(n, C, H, W)`` in [0, 1], on ``device``."""
        if self.images.device != torch.device(device):
            self.images = self.images.to(device)
        index = torch.randint(len(self.images), (n,), device=self.images.device)
        return self.images[index].float().div_(255)

    def __len__(self) -> int:
        """The number of images drawn from."""
        return len(self.images)


@dataclass
class ImageData:
    """A labelled (or unlabelled) set of images held in memory.

    Attributes:
        name: the data set's name (``mnist``, ``digits``, ``folder:PATH``...).
        images: uint8, shape ``(n, C, H, W)``.
        labels: int64, shape ``(n,)``, or None.
        source: where the images came from (a folder, a library), for messages.
        note: a remark to show the user (that a subset or the first images were used), or None.
    """

    name: str
    images: Tensor
    labels: Tensor | None
    source: str
    note: str | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return image_shape(self.images)

    @property
    def dim(self) -> int:
        """``C * H * W``, the length of a flattened image."""
        channels, height, width = self.shape
        return channels * height * width

    def __len__(self) -> int:
        return len(self.images)

    def float_images(self) -> Tensor:
        """All images as float32 in [0, 1]."""
        return self.images.float().div_(255)

    def sampler(self) -> ImageSampler:
        """A sampler of minibatches of these images."""
        return ImageSampler(self.images)

    def resized(self, image_size: int) -> ImageData:
        """These images resized to ``image_size`` x ``image_size`` (bilinear with antialiasing, rounded back to
        uint8); ``self`` when they already have that size.

        Raises:
            UsageError: when ``image_size`` is not an integer of at least 8.
        """
        image_size = _check_image_size(image_size)
        if self.shape[1:] == (image_size, image_size):
            return self
        pixels = len(self) * self.shape[0] * image_size * image_size
        check_fits(5 * pixels, f"--image-size {image_size}: {len(self):,} images of {image_size}x{image_size}")
        resized = F.interpolate(
            self.images.float(), size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
        )
        images = resized.round_().clamp_(0, 255).to(torch.uint8)
        return ImageData(self.name, images, self.labels, self.source, self.note)


# --- MNIST and Fashion-MNIST -------------------------------------------------------------------------------------


def _check_idx_name(name: str) -> None:
    if name not in IDX_DATASETS:
        raise UsageError(f"unknown IDX data set {name!r}; valid: {', '.join(IDX_DATASETS)}")


def candidate_dirs(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """The folders searched for the data set ``name``, in order (see the module docstring), without repeats."""
    _check_idx_name(name)
    folders: list[Path] = []
    for root in (data_dir, os.environ.get("FGAN_DATA_DIR") or None):
        if root is not None:
            folders += [Path(root), Path(root) / name]
    folders.append(cache_dir() / "data" / name)
    folders += [system / name for system in SYSTEM_DATA_DIRS]
    return list(dict.fromkeys(folders))


def _idx_file(folder: Path, base: str) -> Path | None:
    """``folder/base`` or ``folder/base.gz``, whichever exists (the plain file when both do), or None."""
    for path in (folder / base, folder / f"{base}.gz"):
        if path.is_file():
            return path
    return None


def _split_files(folder: Path, prefix: str) -> tuple[Path, Path] | None:
    """The images and labels files of the split ``prefix`` in ``folder``, or None unless both are there."""
    images = _idx_file(folder, f"{prefix}-images-idx3-ubyte")
    labels = _idx_file(folder, f"{prefix}-labels-idx1-ubyte")
    return (images, labels) if images and labels else None


def _find_split(folders: list[Path], prefix: str) -> tuple[Path, Path] | None:
    """The images and labels files of the split ``prefix`` in the first of ``folders`` that has both, or None."""
    for folder in folders:
        found = _split_files(folder, prefix)
        if found:
            return found
    return None


def _read_split(images_path: Path, labels_path: Path) -> tuple[Tensor, Tensor]:
    """Images ``(n, 1, 28, 28)`` uint8 and labels ``(n,)`` int64 from a pair of IDX files, checked."""
    images = read_idx(images_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) == 0:
        raise UsageError(
            f"{images_path}: expected uint8 images of shape (n, 28, 28) with n > 0, got {images.dtype} {images.shape}"
        )
    labels = read_idx(labels_path)
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise UsageError(f"{labels_path}: expected uint8 labels of shape (n,), got {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise UsageError(f"{labels_path}: {len(labels)} labels for the {len(images)} images of {images_path}")
    if labels.max() > 9:
        raise UsageError(f"{labels_path}: labels must be 0 to 9, found {labels.max()}")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def _download_root(name: str, data_dir: str | Path | None) -> Path:
    """Where ``--download`` puts the data set: ``data_dir``, else ``$FGAN_DATA_DIR/NAME``, else the user cache."""
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get("FGAN_DATA_DIR"):
        return Path(os.environ["FGAN_DATA_DIR"]) / name
    return cache_dir() / "data" / name


def _not_found(name: str, split: str, prefix: str, folders: list[Path]) -> UsageError:
    """The one-line error for a data set found in none of ``folders``."""
    hint = "pass --download, or put the files in a folder given by --data-dir DIR or $FGAN_DATA_DIR"
    if name == "fashion-mnist":
        hint += ", or run apt-get install dataset-fashion-mnist"
    return UsageError(
        f"{name} {split} data not found (files {prefix}-images-idx3-ubyte[.gz] and {prefix}-labels-idx1-ubyte[.gz]); "
        f"looked in: {', '.join(map(str, folders))}; to get it, {hint}"
    )


def load_idx_dataset(name: str, split: str, data_dir: str | Path | None = None, download: bool = False) -> ImageData:
    """The ``train`` or ``test`` split of ``mnist`` or ``fashion-mnist``: images ``(n, 1, 28, 28)`` uint8 and labels.

    The folders of :func:`candidate_dirs` are searched for the split. For the training split, when no folder has
    it and ``download`` is off, a ``train5k`` subset is used instead, with a note; when ``download`` is on, the
    full set is downloaded (see :func:`download_dataset`) into ``data_dir``, else ``$FGAN_DATA_DIR/NAME``, else
    ``cache_dir()/data/NAME``.

    Raises:
        UsageError: for an unknown name or split, when the data is not found (and not downloaded), or when a file
            is damaged or holds the wrong shapes, types or labels.
    """
    _check_idx_name(name)
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r} of {name}; valid: {', '.join(SPLITS)}")
    prefix = TRAIN_PREFIX if split == "train" else TEST_PREFIX
    folders = candidate_dirs(name, data_dir)
    found = _find_split(folders, prefix)
    if found is None and download:
        found = _split_files(download_dataset(name, _download_root(name, data_dir)), prefix)
    subset = found is None and split == "train"
    if subset:
        found = _find_split(folders, SUBSET_PREFIX)
    if found is None:
        raise _not_found(name, split, prefix, folders)
    images, labels = _read_split(*found)
    folder = found[0].parent
    note = None
    if subset:
        note = f"the full {name} training split was not found; using the {len(images):,}-image subset from {folder}"
    return ImageData(name, images, labels, str(folder), note)


# --- Download ----------------------------------------------------------------------------------------------------


class _ChecksumMismatch(Exception):
    """A downloaded file whose SHA-256 is not the expected one; the message says so in one line."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_checked(response: IO[bytes], file: IO[bytes], expected: str, url: str) -> None:
    """Stream ``response`` into ``file`` in chunks, hashing as it goes; _ChecksumMismatch unless the SHA-256 is
    ``expected``."""
    digest = hashlib.sha256()
    while chunk := response.read(_CHUNK):
        digest.update(chunk)
        file.write(chunk)
    if digest.hexdigest() != expected:
        raise _ChecksumMismatch(f"SHA-256 mismatch from {url}: expected {expected}, got {digest.hexdigest()}")


def _fetch(url: str, path: Path, expected: str, timeout: float) -> str | None:
    """Download ``url`` to ``path``, which appears (atomically) only when the SHA-256 is ``expected``; None on
    success, else the failure in one line. The temporary file is removed in every case."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            atomic_write(path, lambda file: _copy_checked(response, file, expected, url))
    except _ChecksumMismatch as err:
        return str(err)
    except (OSError, HTTPException, ValueError) as err:  # URLError and HTTPError are OSErrors; ValueError: bad URL
        return f"{one_line(err)} from {url}"
    return None


def download_dataset(
    name: str,
    root: str | Path,
    mirrors: list[str] | None = None,
    checksums: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the files of data set ``name`` into ``root`` and return ``root``.

    A file already there with the right SHA-256 is kept. Any other is fetched from each of ``mirrors`` (default
    ``MIRRORS[name]``) in turn, streamed into a temporary file in ``root`` and moved into place only when its
    SHA-256 is the one in ``checksums`` (default ``SHA256[name]``, file name to hex digest). Prints nothing.

    Raises:
        UsageError: when ``name`` is unknown (and no mirrors and checksums are given), or when every mirror fails
            for a file: the message names the file and the last failure.
    """
    if mirrors is None or checksums is None:
        _check_idx_name(name)
    mirrors = MIRRORS[name] if mirrors is None else mirrors
    checksums = SHA256[name] if checksums is None else checksums
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{root}: cannot create the download folder: {one_line(err.strerror or err)}") from None
    for filename, expected in checksums.items():
        path = root / filename
        if path.is_file() and _sha256(path) == expected:
            continue
        failure: str | None = "no mirrors given"
        for mirror in mirrors:
            failure = _fetch(f"{mirror.rstrip('/')}/{filename}", path, expected, timeout)
            if failure is None:
                break
        if failure is not None:
            raise UsageError(f"{path}: download of {name} failed from every mirror; last failure: {failure}")
    return root


# --- scikit-learn's digits ---------------------------------------------------------------------------------------


def load_digits_dataset(split: str) -> ImageData:
    """The ``train`` (1,500 images) or ``test`` (297) split of scikit-learn's bundled 8 x 8 digits, uint8
    ``(n, 1, 8, 8)`` scaled from 0..16 to 0..255, with labels. The split is fixed: a permutation drawn from
    ``np.random.default_rng(0)``, whose last 297 indices are the test split."""
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r} of digits; valid: {', '.join(SPLITS)}")
    from sklearn.datasets import load_digits  # slow to import, needed only here

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.images))
    cut = len(order) - DIGITS_TEST_SIZE
    index = order[:cut] if split == "train" else order[cut:]
    images = np.rint(digits.images[index] * (255 / 16)).astype(np.uint8)
    labels = torch.from_numpy(digits.target[index].astype(np.int64))
    return ImageData("digits", torch.from_numpy(images).unsqueeze(1), labels, "scikit-learn load_digits()")


# --- Folders of images -------------------------------------------------------------------------------------------


def _image_mode(channels: object) -> str:
    """The PIL mode for ``channels``: ``L`` for 1, ``RGB`` for 3; UsageError otherwise."""
    if channels == 1 and not isinstance(channels, bool):
        return "L"
    if channels == 3:
        return "RGB"
    raise UsageError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")


def _list_images(root: str | Path) -> list[Path]:
    """The PNG and JPEG files under ``root`` (recursively, any case of suffix), sorted; UsageError when there are
    none or ``root`` is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder of images" if root.exists() else f"{root}: no such folder")
    files = sorted(path for path in root.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())
    if not files:
        raise UsageError(f"no PNG or JPEG images under {root}")
    return files


def _check_source_size(size: tuple[int, int], image_size: int) -> None:
    """Raise ValueError (which :func:`_load_image` turns into its one line), from the file's header and before
    decoding, for an image of more than :data:`MAX_SOURCE_PIXELS` pixels,
    or one so elongated that scaling its shorter side to ``image_size`` gives more than :data:`MAX_ASPECT` times
    the ``image_size²`` pixels the model uses (a 177-byte 1x100000 PNG scaled to 875 MB)."""
    width, height = size
    if width * height > MAX_SOURCE_PIXELS:
        raise ValueError(f"{width}x{height} pixels, more than the {MAX_SOURCE_PIXELS:,} read")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ValueError(
            f"{width}x{height} pixels, more elongated than {MAX_ASPECT}:1 (the centre square of "
            f"{image_size}x{image_size} would need {image_size * max(width, height) // min(width, height):,} pixels "
            "on the long side)"
        )


def _load_image(path: Path, image_size: int, mode: str) -> Tensor:
    """The image file ``path`` as uint8 ``(C, image_size, image_size)``: turned upright by its EXIF orientation,
    converted to ``mode`` (``L`` or ``RGB``; an alpha channel is dropped), resized with bicubic filtering (which
    antialiases when shrinking) so that its shorter side is ``image_size``, and cropped to the centre square.

    Raises:
        UsageError: when the file cannot be read or decoded, with a one-line message naming it.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # one line, not a warning and a crash
            with Image.open(path) as opened:
                _check_source_size(opened.size, image_size)
                image = ImageOps.exif_transpose(opened).convert(mode)
        width, height = image.size
        scale = image_size / min(width, height)
        size = (max(image_size, round(width * scale)), max(image_size, round(height * scale)))
        image = image.resize(size, Image.Resampling.BICUBIC)
        left, top = (size[0] - image_size) // 2, (size[1] - image_size) // 2
        pixels = np.array(image.crop((left, top, left + image_size, top + image_size)), dtype=np.uint8)
    except Exception as err:  # a damaged file can fail in PIL's decoders in many ways; all mean "unreadable"
        raise UsageError(f"{path}: cannot read image: {one_line(err) or type(err).__name__}") from None
    tensor = torch.from_numpy(pixels)
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1).contiguous()


class _FolderDataset(Dataset[tuple[Tensor, str]]):
    """The image files as uint8 tensors, read in DataLoader workers; a bad file gives zeros and its error message
    (never an exception, which the DataLoader would re-raise with a multi-line traceback)."""

    def __init__(self, files: list[Path], image_size: int, mode: str) -> None:
        self.files = files
        self.image_size = image_size
        self.mode = mode

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, str]:
        try:
            return _load_image(self.files[index], self.image_size, self.mode), ""
        except UsageError as err:
            channels = 1 if self.mode == "L" else 3
            return torch.zeros(channels, self.image_size, self.image_size, dtype=torch.uint8), str(err)


class FolderImages:
    """Minibatches of the PNG and JPEG images under ``root``, streamed from disk (the folder may exceed memory).

    Each image is converted to ``channels`` (1: grayscale, 3: RGB), resized so that its shorter side is
    ``image_size`` and cropped to the centre square (see :func:`_load_image`). Images are drawn uniformly with
    replacement by an endless sampler seeded with ``seed``, and read by a DataLoader with ``workers`` worker
    processes (default ``min(2, cpu count)``; 0 reads in this process) that stay alive between batches. The loader
    is built for the batch size of the first ``sample`` call and rebuilt whenever a call asks for another size, or
    after a call that failed on an unreadable image.

    Raises:
        UsageError: for a missing or empty folder, an image size below 8, channels other than 1 or 3, or a
            negative number of workers; ``sample`` raises it for an unreadable image, naming the file.
    """

    def __init__(
        self, root: str | Path, image_size: int, channels: int = 3, workers: int | None = None, seed: int = 0
    ) -> None:
        self.image_size = _check_image_size(image_size)
        mode = _image_mode(channels)
        if workers is None:
            workers = min(2, os.cpu_count() or 1)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise UsageError(f"workers must be an integer >= 0, got {workers!r}")
        self.root = Path(root)
        self.files = _list_images(self.root)
        self.workers = workers
        self.shape = (channels, image_size, image_size)
        self.dim = channels * image_size * image_size
        self._dataset = _FolderDataset(self.files, image_size, mode)
        self._generator = torch.Generator().manual_seed(seed)
        self._batch_size: int | None = None
        self._batches: Iterator[tuple[Tensor, list[str]]] | None = None

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        return f"FolderImages({str(self.root)!r}, {len(self.files)} images, shape={self.shape})"

    def _loader(self, n: int) -> Iterator[tuple[Tensor, list[str]]]:
        """An endless iterator over batches of ``n`` images drawn with replacement."""
        sampler = RandomSampler(self._dataset, replacement=True, num_samples=_ENDLESS, generator=self._generator)
        loader = DataLoader(
            self._dataset,
            batch_size=n,
            sampler=sampler,
            num_workers=self.workers,
            persistent_workers=self.workers > 0,
            generator=self._generator,
        )
        return iter(loader)

    def sample(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        """``n`` images, float32 of shape ``(n, C, H, W)`` in [0, 1], on ``device``.

        Raises:
            UsageError: when an image of the batch cannot be read, naming the first such file.
        """
        if self._batches is None or n != self._batch_size:
            self._batches = None  # shuts down the workers of the old loader before starting new ones
            self._batches = self._loader(n)
            self._batch_size = n
        images, errors = next(self._batches)
        failure = next((message for message in errors if message), None)
        if failure is not None:
            self._batches = None  # stop the workers now, not whenever the garbage collector reaches this sampler
            raise UsageError(failure)
        return images.to(device).float().div_(255)


def load_folder_images(root: str | Path, image_size: int, channels: int = 3, limit: int | None = None) -> ImageData:
    """The first ``limit`` (default all) images under ``root`` in sorted order, read into memory with the transform
    of :class:`FolderImages`; unlabelled. A note says when ``limit`` left images out.

    Raises:
        UsageError: as for :class:`FolderImages`, for a ``limit`` below 1, and for the first unreadable image.
    """
    image_size = _check_image_size(image_size)
    mode = _image_mode(channels)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UsageError(f"limit must be an integer >= 1, got {limit!r}")
    files = _list_images(root)
    chosen = files[:limit]
    images = torch.stack([_load_image(path, image_size, mode) for path in chosen])
    note = None
    if len(chosen) < len(files):
        note = f"using the first {len(chosen):,} of the {len(files):,} images under {root}"
    return ImageData(f"folder:{root}", images, None, str(root), note)
