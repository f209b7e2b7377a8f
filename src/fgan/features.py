r"""A stronger sample-quality metric than Parzen windows for 28x28 image data (MNIST, Fashion-MNIST).

fgan trains its own small CNN classifier on the data set's training split (cached on disk) and measures generated
images in the classifier's 128-d feature space, against real images:

* ``fid``: the Fréchet distance between Gaussians fitted to the features of generated and of real images,
  ``||μ_g - μ_r||² + Tr(Σ_g + Σ_r - 2 (Σ_g Σ_r)^{1/2})`` (as FID, but with this classifier instead of Inception);
  0 for identical feature statistics.
* ``c2st_accuracy``: a classifier two-sample test (Lopez-Paz & Oquab 2017): a logistic regression on standardised
  features learns to tell real from generated on one half of each, and is scored on the other half; 0.5 means
  indistinguishable, 1.0 fully separable.
* ``class_kl``: ``KL(p_real || p_gen)`` between the histograms of the classifier's predicted labels, 0 when every
  class is generated in its real proportion; ``classes_covered`` counts the classes predicted for at least 1% of
  the generated images (mode coverage).

Images are float tensors (or arrays) in [0, 1] of shape ``(n, C, H, W)``; labels are integers ``0 .. K-1``.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.linalg import LinAlgWarning, sqrtm
from torch import Tensor, nn

from fgan.cache import cache_dir
from fgan.errors import require
from fgan.runs import atomic_write
from fgan.training import resolve_device

#: Bumped whenever :class:`FeatureClassifier` or its training changes, so that cached classifiers are retrained.
ARCHITECTURE_VERSION = 1
#: Length of the feature vector (the classifier's penultimate layer).
FEATURE_DIM = 128
#: The options of :func:`train_classifier` that :func:`load_or_train_classifier` passes on (and hashes).
TRAIN_OPTIONS = {"epochs": 5, "batch_size": 128, "lr": 1e-3, "seed": 0}
#: A class counts as covered when at least this fraction of the generated images is predicted as it.
COVERAGE_FRACTION = 0.01
#: The floor on the generated label histogram in ``class_kl`` (so a missing class costs a finite amount).
HISTOGRAM_FLOOR = 1e-6
#: The fewest images of each kind the metrics accept (the two-sample test needs two of each per half).
MIN_IMAGES = 4
#: Steps of full-batch L-BFGS and the L2 penalty of the two-sample test's logistic regression.
C2ST_STEPS = 200
C2ST_L2 = 1e-3


class FeatureClassifier(nn.Module):
    """A small CNN: conv(C→32, 3x3) ReLU maxpool2 → conv(32→64, 3x3) ReLU maxpool2 → flatten → linear(→128) ReLU
    (the features) → linear(128 → num_classes) (the logits)."""

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int, feature_dim: int = FEATURE_DIM) -> None:
        super().__init__()
        channels, height, width = image_shape
        require(
            [
                (min(channels, height, width) >= 1, f"image shape must be positive (C, H, W), got {image_shape}"),
                (height >= 4 and width >= 4, f"images must be at least 4x4 for the classifier, got {height}x{width}"),
                (num_classes >= 2, f"the classifier needs at least 2 classes, got {num_classes}"),
                (feature_dim >= 1, f"feature dim must be >= 1, got {feature_dim}"),
            ]
        )
        self.image_shape = (int(channels), int(height), int(width))
        self.num_classes = int(num_classes)
        self.feature_dim = int(feature_dim)
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (height // 4) * (width // 4), feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def constructor_args(self) -> dict[str, Any]:
        """The arguments that rebuild this architecture: ``FeatureClassifier(**model.constructor_args())``."""
        return {"image_shape": list(self.image_shape), "num_classes": self.num_classes, "feature_dim": self.feature_dim}

    def features(self, x: Tensor) -> Tensor:
        """The ``(n, feature_dim)`` penultimate-layer activations of images ``x`` of shape ``(n, C, H, W)``."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """The ``(n, num_classes)`` class logits of images ``x``."""
        return self.head(self.features(x))


@dataclass
class FeatureMetrics:
    """Generated images measured against real ones in a :class:`FeatureClassifier`'s feature space."""

    fid: float
    c2st_accuracy: float
    class_kl: float
    classes_covered: int
    n_generated: int
    n_real: int

    def to_dict(self) -> dict[str, float | int]:
        """The metrics as a JSON-serialisable dict."""
        return asdict(self)


def as_images(images: Any, name: str) -> Tensor:
    """``images`` (a tensor or array) as a float32 CPU tensor of shape ``(n, C, H, W)`` with finite values.

    Raises:
        UsageError: for another number of dimensions, no images, or non-finite values.
    """
    tensor = torch.as_tensor(images).detach().cpu().to(torch.float32)
    require(
        [
            (tensor.ndim == 4, f"{name} must have shape (n, C, H, W), got {tuple(tensor.shape)}"),
            (tensor.numel() > 0, f"{name} holds no images"),
        ]
    )
    require([(bool(torch.isfinite(tensor).all()), f"{name} holds non-finite values")])
    return tensor


def as_labels(labels: Any, n: int, name: str) -> Tensor:
    """``labels`` as an int64 CPU tensor of shape ``(n,)`` with values >= 0.

    Raises:
        UsageError: for another shape, non-integer or negative labels.
    """
    tensor = torch.as_tensor(labels).detach().cpu()
    require(
        [
            (tensor.shape == (n,), f"{name} must have shape ({n},), one per image, got {tuple(tensor.shape)}"),
            (not tensor.is_floating_point() and not tensor.is_complex(), f"{name} must be integers"),
        ]
    )
    tensor = tensor.to(torch.int64)
    require([(bool((tensor >= 0).all()), f"{name} must be >= 0")])
    return tensor


@contextmanager
def forked_rng(device: torch.device) -> Iterator[None]:
    """Run the block with torch's random generators forked: the caller's CPU (and accelerator) state is restored."""
    if device.type == "cpu":
        with torch.random.fork_rng(devices=[]):
            yield
    else:
        with torch.random.fork_rng(devices=[device], device_type=device.type):
            yield


def batched_outputs(
    classifier: FeatureClassifier, images: Tensor, batch_size: int, device: torch.device
) -> tuple[Tensor, Tensor]:
    """The features ``(n, feature_dim)`` and logits ``(n, num_classes)`` of ``images``, as CPU tensors, computed
    without gradients ``batch_size`` images at a time (so only one batch is on the device)."""
    classifier.eval()
    features, logits = [], []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            feature = classifier.features(images[start : start + batch_size].to(device))
            features.append(feature.cpu())
            logits.append(classifier.head(feature).cpu())
    return torch.cat(features), torch.cat(logits)


def accuracy(
    classifier: FeatureClassifier, images: Tensor, labels: Tensor, batch_size: int, device: torch.device
) -> float:
    """The fraction of ``images`` whose most likely class is their label."""
    _, logits = batched_outputs(classifier, images, batch_size, device)
    return float((logits.argmax(dim=1) == labels).to(torch.float64).mean())


def train_classifier(
    train_images: Any,
    train_labels: Any,
    test_images: Any,
    test_labels: Any,
    epochs: int = 5,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[FeatureClassifier, float]:
    """Train a :class:`FeatureClassifier` with Adam on cross-entropy; return it (in eval mode) and its test accuracy.

    The number of classes is ``1 + the largest label`` of both splits. Initialisation (``torch.manual_seed(seed)``)
    and shuffling (its own generator, seeded with ``seed``) make training deterministic; it runs with torch's
    random generators forked, so the caller's random state is untouched.

    Raises:
        UsageError: for bad images or labels (shapes, values), images of different shapes in the two splits, or
            options out of range.
    """
    require(
        [
            (epochs >= 1, f"epochs must be >= 1, got {epochs}"),
            (batch_size >= 1, f"batch size must be >= 1, got {batch_size}"),
            (lr > 0, f"learning rate must be > 0, got {lr}"),
        ]
    )
    train_x = as_images(train_images, "training images")
    test_x = as_images(test_images, "test images")
    require(
        [
            (
                train_x.shape[1:] == test_x.shape[1:],
                f"training images are {tuple(train_x.shape[1:])} but test images are {tuple(test_x.shape[1:])}",
            )
        ]
    )
    train_y = as_labels(train_labels, len(train_x), "training labels")
    test_y = as_labels(test_labels, len(test_x), "test labels")
    device = resolve_device(str(device))
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    with forked_rng(device):
        torch.manual_seed(seed)
        channels, height, width = train_x.shape[1:]
        model = FeatureClassifier((channels, height, width), num_classes).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        shuffle = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(train_x), generator=shuffle)
            for start in range(0, len(train_x), batch_size):
                batch = order[start : start + batch_size]
                loss = nn.functional.cross_entropy(model(train_x[batch].to(device)), train_y[batch].to(device))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    model.eval()
    return model, accuracy(model, test_x, test_y, batch_size, device)


def cache_file(key: str, tensors: list[Tensor], options: dict[str, Any], cache: str | Path | None) -> Path:
    """``<cache>/classifiers/<key>-<hash>.pt``, the hash (12 hex digits) covering the SHA-256 of the data (shapes,
    dtypes and bytes of every tensor), :data:`ARCHITECTURE_VERSION` and the training options (seed included)."""
    data = hashlib.sha256()
    for tensor in tensors:
        data.update(f"{tuple(tensor.shape)}:{tensor.dtype};".encode())
        data.update(tensor.contiguous().numpy().tobytes())
    fingerprint = json.dumps(
        {"data": data.hexdigest(), "version": ARCHITECTURE_VERSION, "options": options}, sort_keys=True
    )
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:12]
    return Path(cache if cache is not None else cache_dir()) / "classifiers" / f"{key}-{digest}.pt"


def load_cached_classifier(path: Path, device: torch.device) -> tuple[FeatureClassifier, float] | None:
    """The classifier and test accuracy saved at ``path`` (loaded weights-only), or None when the file is missing,
    damaged or of another architecture version."""
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
        if saved["version"] != ARCHITECTURE_VERSION:
            return None
        args = saved["constructor_args"]
        model = FeatureClassifier(tuple(args["image_shape"]), args["num_classes"], args["feature_dim"]).to(device)
        model.load_state_dict(saved["state_dict"])
        return model.eval(), float(saved["test_accuracy"])
    except Exception:  # torch raises many types for damaged files; any such file is retrained
        return None


def load_or_train_classifier(
    key: str,
    train_images: Any,
    train_labels: Any,
    test_images: Any,
    test_labels: Any,
    cache: str | Path | None = None,
    device: str | torch.device = "cpu",
    **train_options: Any,
) -> tuple[FeatureClassifier, float, Path]:
    """The classifier of :func:`train_classifier` for this data and these options, from the cache when it holds
    one, else trained and saved there; with its test accuracy and the cache file's path.

    The file is ``<cache>/classifiers/<key>-<hash>.pt`` (``cache`` defaults to :func:`fgan.cache.cache_dir`), the
    hash covering all four data tensors, :data:`ARCHITECTURE_VERSION` and the options (with their defaults), so
    changed data or options train a new classifier. It is a plain dict (state_dict, constructor args, test
    accuracy, key, options), written atomically and loaded weights-only; a damaged file is retrained and replaced.

    Raises:
        UsageError: for a key other than letters, digits, ``.``, ``_`` and ``-``, an unknown option, or bad data.
    """
    require([(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", key) is not None, f"bad classifier cache key {key!r}")])
    unknown = sorted(set(train_options) - set(TRAIN_OPTIONS))
    require([(not unknown, f"unknown classifier option(s) {', '.join(unknown)}; valid: {', '.join(TRAIN_OPTIONS)}")])
    options = {**TRAIN_OPTIONS, **train_options}
    train_x, test_x = as_images(train_images, "training images"), as_images(test_images, "test images")
    train_y = as_labels(train_labels, len(train_x), "training labels")
    test_y = as_labels(test_labels, len(test_x), "test labels")
    device = resolve_device(str(device))
    path = cache_file(key, [train_x, train_y, test_x, test_y], options, cache)
    cached = load_cached_classifier(path, device)
    if cached is not None:
        return *cached, path
    model, test_accuracy = train_classifier(train_x, train_y, test_x, test_y, device=device, **options)
    state = {
        "version": ARCHITECTURE_VERSION,
        "state_dict": {name: value.cpu() for name, value in model.state_dict().items()},
        "constructor_args": model.constructor_args(),
        "test_accuracy": test_accuracy,
        "key": key,
        "options": options,
    }
    atomic_write(path, lambda file: torch.save(state, file))
    return model, test_accuracy, path


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    r"""The Fréchet (2-Wasserstein) distance² between ``N(μ1, Σ1)`` and ``N(μ2, Σ2)``, in float64:

    ``d² = ||μ1 - μ2||² + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^{1/2})``.

    ``(Σ1 Σ2)^{1/2}`` comes from ``scipy.linalg.sqrtm``, its real part taken (round-off leaves a tiny imaginary
    one). As in the reference FID code, when ``Σ1 Σ2`` is singular (sqrtm warns, or its result is not finite;
    common for features with dead units) ``eps·I`` is added to both covariances first. Round-off below zero is
    clipped to 0.

    Raises:
        UsageError: for means that are not vectors of one length d, or covariances that are not d x d.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    require(
        [
            (mu1.shape == mu2.shape == (d,), f"means must be vectors of one length, got {mu1.shape} and {mu2.shape}"),
            (
                sigma1.shape == sigma2.shape == (d, d),
                f"covariances must be {d}x{d}, got {sigma1.shape} and {sigma2.shape}",
            ),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", LinAlgWarning)
        try:
            covmean = sqrtm(sigma1 @ sigma2)
            singular = not np.isfinite(covmean).all()
        except LinAlgWarning:
            singular = True
    if singular:
        offset = eps * np.eye(d)
        covmean = sqrtm((sigma1 + offset) @ (sigma2 + offset))
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(np.real(covmean))
    return max(float(value), 0.0)


def gaussian_fit(features: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the (unbiased) covariance of the rows of ``features``, in float64."""
    array = features.to(torch.float64).numpy()
    return array.mean(axis=0), np.atleast_2d(np.cov(array, rowvar=False))


def c2st_accuracy(real: Tensor, generated: Tensor, seed: int = 0) -> float:
    r"""Held-out accuracy of a logistic regression telling ``real`` from ``generated`` feature rows.

    ``m = min(n_real, n_gen)`` rows of each are drawn at random (balanced classes); the first ``⌊m/2⌋`` of each
    train, the rest test. Features are standardised with the training rows' mean and standard deviation (a
    constant feature is left unscaled); the model ``σ(w·x + b)`` minimises the mean cross-entropy
    ``+ C2ST_L2·||w||²/2`` by full-batch L-BFGS from zero in float64 (deterministic given ``seed``, which draws
    the rows). 0.5 means indistinguishable; 1.0 fully separable.
    """
    generator = torch.Generator().manual_seed(seed)
    m = min(len(real), len(generated))
    half = m // 2
    real = real[torch.randperm(len(real), generator=generator)[:m]].to(torch.float64)
    generated = generated[torch.randperm(len(generated), generator=generator)[:m]].to(torch.float64)
    train_x = torch.cat([real[:half], generated[:half]])
    test_x = torch.cat([real[half:], generated[half:]])
    train_y = torch.cat([torch.ones(half), torch.zeros(half)]).to(torch.float64)
    test_y = torch.cat([torch.ones(m - half), torch.zeros(m - half)]).to(torch.float64)
    mean, std = train_x.mean(dim=0), train_x.std(dim=0)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    weight = torch.zeros(train_x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=C2ST_STEPS, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        logits = train_x @ weight + bias
        loss = nn.functional.binary_cross_entropy_with_logits(logits, train_y) + 0.5 * C2ST_L2 * weight @ weight
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        predicted = (test_x @ weight + bias > 0).to(torch.float64)
    return float((predicted == test_y).to(torch.float64).mean())


def class_kl(real_labels: Tensor, generated_labels: Tensor, num_classes: int) -> tuple[float, int]:
    r"""``KL(p_real || p_gen) = Σ_k p_real(k) log(p_real(k) / p_gen(k))`` between predicted-label histograms, and the
    number of classes with ``p_gen(k) >= COVERAGE_FRACTION``.

    ``p_gen`` is floored at :data:`HISTOGRAM_FLOOR` and renormalised, so a class never generated costs about
    ``p_real(k) · log(p_real(k) / 1e-6)`` rather than infinity.
    """
    p_real = torch.bincount(real_labels, minlength=num_classes).to(torch.float64) / len(real_labels)
    p_gen = torch.bincount(generated_labels, minlength=num_classes).to(torch.float64) / len(generated_labels)
    covered = int((p_gen >= COVERAGE_FRACTION).sum())
    floored = p_gen.clamp(min=HISTOGRAM_FLOOR)
    floored = floored / floored.sum()
    present = p_real > 0
    kl = float((p_real[present] * (p_real[present] / floored[present]).log()).sum())
    return max(kl, 0.0), covered


def feature_metrics(
    classifier: FeatureClassifier,
    generated: Any,
    real: Any,
    batch_size: int = 500,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> FeatureMetrics:
    """FID, classifier two-sample test accuracy, predicted-class KL and class coverage of ``generated`` images
    against ``real`` ones (see the module docstring), from ``classifier``'s features and predictions.

    Features are computed without gradients, ``batch_size`` images at a time. ``seed`` draws the two-sample
    test's split; the caller's random state is untouched.

    Raises:
        UsageError: one line, for images of another shape than each other or than the classifier's, fewer than
            :data:`MIN_IMAGES` of either, non-finite values, or a batch size below 1.
    """
    generated_x, real_x = as_images(generated, "generated images"), as_images(real, "real images")
    require(
        [
            (
                generated_x.shape[1:] == real_x.shape[1:],
                f"generated images are {tuple(generated_x.shape[1:])} but real images are {tuple(real_x.shape[1:])}",
            ),
            (
                tuple(real_x.shape[1:]) == classifier.image_shape,
                f"images are {tuple(real_x.shape[1:])} but the classifier takes {classifier.image_shape}",
            ),
            (
                min(len(generated_x), len(real_x)) >= MIN_IMAGES,
                f"need at least {MIN_IMAGES} generated and real images, got {len(generated_x)} and {len(real_x)}",
            ),
            (batch_size >= 1, f"batch size must be >= 1, got {batch_size}"),
        ]
    )
    device = resolve_device(str(device))
    classifier = classifier.to(device)
    generated_features, generated_logits = batched_outputs(classifier, generated_x, batch_size, device)
    real_features, real_logits = batched_outputs(classifier, real_x, batch_size, device)
    kl, covered = class_kl(real_logits.argmax(dim=1), generated_logits.argmax(dim=1), classifier.num_classes)
    return FeatureMetrics(
        fid=frechet_distance(*gaussian_fit(generated_features), *gaussian_fit(real_features)),
        c2st_accuracy=c2st_accuracy(real_features, generated_features, seed),
        class_kl=kl,
        classes_covered=covered,
        n_generated=len(generated_x),
        n_real=len(real_x),
    )
