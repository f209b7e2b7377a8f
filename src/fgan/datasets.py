"""The data sets fgan trains on, one :class:`DatasetSpec` each in :data:`DATASETS`: a new data set is one entry.

A data name is a spec's own name (``ring``, ``mnist``) or a prefix and its argument (``mixture:w:mean:std,...``,
``folder:PATH``, ``file:PATH``). Every command finds the spec of a name here (:func:`find_dataset`) and asks it
what the data is: its kind (``synthetic``: a Gaussian mixture of known density; ``samples``: the rows of the
user's file; ``images``), its shape, its default model, whether it has a test split (for ``fgan evaluate``) and
whether the training-dynamics snapshots apply (1-D data with a known density), and loads it.

``file:PATH`` trains on the user's own samples: a .npy, .npz or .csv file of one sample a row, read and checked as
``fgan estimate`` reads its files (:func:`fgan.estimation.load_samples`), drawn from with replacement.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from fgan.data import PAPER_MIXTURE, GaussianMixture, Sampler, TensorSampler, grid, parse_mixture, ring
from fgan.errors import UsageError
from fgan.estimation import load_samples
from fgan.images import FolderImages, ImageData, load_digits_dataset, load_idx_dataset


@dataclass(frozen=True)
class DataRequest:
    """How a run wants its training data: images resized to ``image_size`` with ``channels`` (None: the data
    set's own), IDX files looked up in ``data_dir`` and fetched with ``download``; an image folder is streamed by
    ``workers`` processes shuffled from ``seed``."""

    image_size: int | None = None
    channels: int | None = None
    data_dir: str | Path | None = None
    download: bool = False
    workers: int | None = None
    seed: int = 0


#: Loads the training data of a name (given the argument after the prefix, or the name itself) and a note for
#: the user (or None).
TrainingLoader = Callable[[str, DataRequest], tuple[Sampler, str | None]]
#: Loads the ``train`` or ``test`` split of a name.
SplitLoader = Callable[[str, str, DataRequest], ImageData]


@dataclass(frozen=True)
class DatasetSpec:
    """One data set, or a family of them under a prefix.

    Attributes:
        name: the exact name, or a prefix ending in ``:`` (``folder:``) followed by an argument.
        argument: how the help names the argument of a prefix (``PATH``); None for an exact name.
        kind: ``synthetic`` (a Gaussian mixture, its density known), ``samples`` (the rows of a file) or ``images``;
            the first two are vectors, trained with the MLP pair.
        shape: the shape of one sample, or None where it depends on the argument or the request.
        default_model: the model ``--model auto`` picks.
        load: the training data (see :data:`TrainingLoader`).
        load_split: the train and test splits, or None for a data set without a test split.
        snapshots: whether the training-dynamics snapshots apply (1-D data with a known density).
    """

    name: str
    argument: str | None
    kind: Literal["synthetic", "samples", "images"]
    shape: tuple[int, ...] | None
    default_model: str
    load: TrainingLoader
    load_split: SplitLoader | None = None
    snapshots: bool = False

    @property
    def label(self) -> str:
        """The name as the help and the error messages list it (``folder:PATH``)."""
        return self.name + (self.argument or "")

    @property
    def has_test_split(self) -> bool:
        return self.load_split is not None

    def matches(self, name: str) -> bool:
        return name.startswith(self.name) if self.argument is not None else name == self.name

    def argument_of(self, name: str) -> str:
        """What follows the prefix in ``name`` (the name itself for an exact name)."""
        return name.removeprefix(self.name) if self.argument is not None else name


def _in_memory(load_split: SplitLoader) -> TrainingLoader:
    """The training split of an in-memory image set, resized to the requested size; its images have one channel,
    so the request may ask for 1 channel or none."""

    def load(name: str, request: DataRequest) -> tuple[Sampler, str | None]:
        data = load_split(name, "train", request)
        if request.channels is not None and request.channels != data.shape[0]:
            raise UsageError(f"{name} images have {data.shape[0]} channel(s), not {request.channels}")
        if request.image_size is not None:
            data = data.resized(request.image_size)
        return data.sampler(), data.note

    return load


def _idx_split(name: str, split: str, request: DataRequest) -> ImageData:
    return load_idx_dataset(name, split, request.data_dir, request.download)


def _digits_split(name: str, split: str, request: DataRequest) -> ImageData:
    return load_digits_dataset(split)


def _folder(root: str, request: DataRequest) -> tuple[Sampler, str | None]:
    """A folder of images, streamed; it needs an image size, and has 3 channels unless the request says 1."""
    if not root:
        raise UsageError("folder: needs a path, as in folder:PATH")
    if request.image_size is None:
        raise UsageError(f"folder:{root}: a folder of images needs an image size (--image-size)")
    channels = 3 if request.channels is None else request.channels
    return FolderImages(root, request.image_size, channels, request.workers, request.seed), None


def _samples_file(path: str, request: DataRequest) -> tuple[Sampler, str | None]:
    """The rows of a .npy, .npz or .csv file, drawn from uniformly with replacement."""
    if not path:
        raise UsageError("file: needs a path, as in file:PATH (.npy, .npz or .csv, one sample a row)")
    samples = load_samples(path)
    return TensorSampler(torch.from_numpy(samples)), f"training on {len(samples):,} samples of dimension " + (
        f"{samples.shape[1]} from {path}"
    )


def _mixture(spec: str, request: DataRequest) -> tuple[Sampler, str | None]:
    return parse_mixture(spec), None


DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("ring", None, "synthetic", (2,), "mlp", lambda name, request: (ring(), None)),
    DatasetSpec("grid", None, "synthetic", (2,), "mlp", lambda name, request: (grid(), None)),
    DatasetSpec("mixture", None, "synthetic", (1,), "mlp", lambda name, r: _mixture(PAPER_MIXTURE, r), snapshots=True),
    DatasetSpec("mixture:", "w:mean:std,...", "synthetic", (1,), "mlp", _mixture, snapshots=True),
    DatasetSpec("file:", "PATH", "samples", None, "mlp", _samples_file),
    DatasetSpec("mnist", None, "images", (1, 28, 28), "mnist-mlp", _in_memory(_idx_split), _idx_split),
    DatasetSpec("fashion-mnist", None, "images", (1, 28, 28), "mnist-mlp", _in_memory(_idx_split), _idx_split),
    DatasetSpec("digits", None, "images", (1, 8, 8), "mnist-mlp", _in_memory(_digits_split), _digits_split),
    DatasetSpec("folder:", "PATH", "images", None, "dcgan", _folder),
)
#: The names of the data sets of each kind, as the help lists them.
VECTOR_DATA = tuple(spec.label for spec in DATASETS if spec.kind != "images")
IMAGE_DATA = tuple(spec.label for spec in DATASETS if spec.kind == "images")


def lookup_dataset(name: str) -> DatasetSpec | None:
    """The spec of ``name`` (surrounding spaces ignored), or None for an unknown name."""
    key = name.strip()
    return next((spec for spec in DATASETS if spec.matches(key)), None)


def find_dataset(name: str) -> DatasetSpec:
    """The spec of ``name``.

    Raises:
        UsageError: for an unknown name, listing every valid one, with the closest as a suggestion.
    """
    spec = lookup_dataset(name)
    if spec is None:
        close = difflib.get_close_matches(name.strip(), [spec.name.rstrip(":") for spec in DATASETS], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown data {name!r}{hint}; valid: {', '.join(spec.label for spec in DATASETS)}")
    return spec


def is_image_data(name: str) -> bool:
    """Whether ``name`` names image data (an unknown name does not)."""
    spec = lookup_dataset(name)
    return spec is not None and spec.kind == "images"


def load_training_data(name: str, request: DataRequest | None = None) -> tuple[Sampler, str | None]:
    """The sampler of the training data ``name`` and a note for the user (or None), e.g.
    ``load_training_data("digits")`` or ``load_training_data("folder:faces", DataRequest(image_size=64))``.

    Raises:
        UsageError: for an unknown name, and as the data set's loader does (a folder without an image size,
            channels the data set lacks, a missing or malformed file...).
    """
    spec = find_dataset(name)
    return spec.load(spec.argument_of(name.strip()), request or DataRequest())


def load_split(name: str, split: str, data_dir: str | Path | None = None, download: bool = False) -> ImageData:
    """The ``train`` or ``test`` split of data set ``name`` held in memory.

    Raises:
        UsageError: for an unknown name, one without a test split, and as the loaders do.
    """
    spec = find_dataset(name)
    if spec.load_split is None:
        with_splits = ", ".join(spec.label for spec in DATASETS if spec.has_test_split)
        raise UsageError(f"{name} has no train and test splits; data sets with them: {with_splits}")
    return spec.load_split(spec.argument_of(name.strip()), split, DataRequest(data_dir=data_dir, download=download))


def synthetic_mixture(name: str) -> GaussianMixture:
    """The Gaussian mixture of a synthetic data set: ``ring``, ``grid``, ``mixture`` (the paper's) or
    ``mixture:w:mean:std,...``.

    Raises:
        UsageError: for a name that is not one of them.
    """
    if find_dataset(name).kind != "synthetic":
        synthetic = ", ".join(spec.label for spec in DATASETS if spec.kind == "synthetic")
        raise UsageError(f"{name!r} is not a synthetic mixture; valid: {synthetic}")
    data, _ = load_training_data(name)
    assert isinstance(data, GaussianMixture)  # every synthetic data set is one
    return data
