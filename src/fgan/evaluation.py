"""Evaluating generators of images: the Parzen-window log-likelihood of the test set (the paper's Table 4 metric)
and the classifier-feature metrics (Fréchet distance, two-sample test accuracy, class balance).

Two Parzen protocols (:data:`PROTOCOLS`), each with its own number of generated samples:

* ``paper`` (the f-GAN paper's, as recalled; the default): a Gaussian kernel density on 16,384 generated images,
  its bandwidth chosen by 3-fold cross-validation on those samples' own held-out log-likelihood
  (:func:`fgan.parzen.parzen_evaluate_cv`);
* ``goodfellow`` (Goodfellow et al. 2014): a density on 10,000 generated images, its bandwidth the one of
  :data:`fgan.parzen.DEFAULT_SIGMAS` with the best mean log-likelihood on a validation set of ``n_validation``
  training images (drawn with ``seed``).

Either way the score is the mean log-likelihood of the whole test split, with its standard error. The reference
row fits the same density, under the same protocol, to as many real training images (those outside the
validation set).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from fgan.datasets import DATASETS, load_split, lookup_dataset
from fgan.errors import UsageError
from fgan.features import FeatureClassifier, FeatureMetrics, feature_metrics, load_or_train_classifier
from fgan.images import ImageData
from fgan.parzen import ParzenResult, parzen_evaluate, parzen_evaluate_cv

METRICS = ("kde", "features")
#: Training images held out to choose the Parzen bandwidth (the goodfellow protocol).
N_VALIDATION = 1000


@dataclass(frozen=True)
class ParzenProtocol:
    """A Parzen protocol: its name, the generated samples its density is built from, and how σ is chosen."""

    name: str
    n_samples: int
    bandwidth: str


PROTOCOLS = {
    "paper": ParzenProtocol("paper", 16_384, "3-fold cross-validation on the samples"),
    "goodfellow": ParzenProtocol("goodfellow", 10_000, "the best of ten in [0.1, 1] on held-out training images"),
}


def lookup_protocol(name: str) -> ParzenProtocol:
    """The protocol called ``name``.

    Raises:
        UsageError: for an unknown name.
    """
    if name not in PROTOCOLS:
        raise UsageError(f"unknown Parzen protocol {name!r}; valid: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def describe_protocol(name: str, n_samples: int | None = None) -> str:
    """One line saying what protocol ``name`` does, with ``n_samples`` (default: its own) samples."""
    protocol = lookup_protocol(name)
    count = protocol.n_samples if n_samples is None else n_samples
    return (
        f"Parzen protocol {protocol.name}: isotropic Gaussian kernel density of {count:,} samples, σ by "
        f"{protocol.bandwidth}; mean log-likelihood of the test split ± standard error"
    )


@dataclass
class EvaluationData:
    """The splits an evaluation needs, at the resolution of the run: validation images for the bandwidth, the
    reference images (training images outside the validation set) and the test split, with its images in [0, 1]
    made once for every score."""

    name: str
    train: ImageData
    test: ImageData
    validation: Tensor
    reference: Tensor
    note: str | None
    test_images: Tensor


def evaluation_data(
    name: str,
    image_size: int | None = None,
    data_dir: str | None = None,
    n_validation: int = N_VALIDATION,
    n_reference: int = PROTOCOLS["paper"].n_samples,
    seed: int = 0,
    download: bool = False,
) -> EvaluationData:
    """The training and test splits of data set ``name`` (mnist, fashion-mnist or digits), resized to
    ``image_size`` when given, with a seeded validation set of ``n_validation`` training images and up to
    ``n_reference`` other training images as the reference sample; ``download`` fetches a data set not found."""
    spec = lookup_dataset(name)
    if spec is None or not spec.has_test_split:
        with_splits = ", ".join(spec.label for spec in DATASETS if spec.has_test_split)
        raise UsageError(f"evaluation needs a data set with a test split ({with_splits}), not {name!r}")
    train = load_split(name, "train", data_dir, download)
    test = load_split(name, "test", data_dir, download)
    if image_size is not None:
        train, test = train.resized(image_size), test.resized(image_size)
    if not 1 <= n_validation < len(train):
        raise UsageError(f"validation size must be in [1, {len(train) - 1}], got {n_validation}")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
    validation = replace(train, images=train.images[order[:n_validation]]).float_images()
    reference = replace(train, images=train.images[order[n_validation : n_validation + n_reference]]).float_images()
    return EvaluationData(name, train, test, validation, reference, train.note, test.float_images())


def parzen_score(samples: Tensor, data: EvaluationData, protocol: str = "paper") -> ParzenResult:
    """The Parzen-window log-likelihood of ``data``'s test split under a kernel density on ``samples``, its
    bandwidth chosen as ``protocol`` says (``paper``: cross-validated on the samples; ``goodfellow``: on
    ``data.validation``)."""
    if lookup_protocol(protocol).name == "paper":
        return parzen_evaluate_cv(samples, data.test_images)
    return parzen_evaluate(samples, data.test_images, data.validation)


def feature_classifier(data: EvaluationData, seed: int = 0) -> tuple[FeatureClassifier, float]:
    """fgan's own CNN classifier of the data set, trained on its training split (cached) and its test accuracy."""
    if data.train.labels is None or data.test.labels is None:
        raise UsageError(f"the feature metrics need labels, which {data.name} lacks")
    classifier, accuracy, _ = load_or_train_classifier(
        f"{data.name}-{'x'.join(map(str, data.train.shape))}",
        data.train.float_images(),
        data.train.labels,
        data.test_images,
        data.test.labels,
        seed=seed,
    )
    return classifier, accuracy


def feature_scores(
    samples: Tensor, data: EvaluationData, classifier: FeatureClassifier, seed: int = 0
) -> FeatureMetrics:
    """Fréchet distance, two-sample test accuracy and class balance of ``samples`` against the test split."""
    return feature_metrics(classifier, samples, data.test_images, seed=seed)


def check_shape(samples: Tensor, data: EvaluationData) -> None:
    """Samples must have the shape of the data set's images."""
    if tuple(samples.shape[1:]) != tuple(data.test.shape):
        raise UsageError(
            f"generated images have shape {tuple(samples.shape[1:])}, the {data.name} test images "
            f"{tuple(data.test.shape)}"
        )
