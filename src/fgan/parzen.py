r"""Parzen-window (Gaussian kernel density) log-likelihood of a test set under generated samples.

The protocol of Goodfellow et al. (2014), used by the f-GAN paper to score samplers on MNIST: an isotropic Gaussian
kernel of bandwidth σ is put on each of the generated samples ``s_1..s_N`` in ``R^d``, and test points are scored by

    log p̂(x) = logsumexp_i( -||x - s_i||² / (2σ²) ) - log N - (d/2) log(2π σ²).

The score of a test set is the mean of ``log p̂`` over its points, with standard error ``std(ddof=1) / sqrt(n)``.
σ is chosen by grid search, in one of two ways:

* on a validation set (Goodfellow et al.): the σ with the highest mean ``log p̂`` of held-out real points
  (:func:`select_bandwidth`, :func:`parzen_evaluate`);
* by K-fold cross-validation on the samples themselves (the f-GAN paper's protocol as recalled): the samples are
  cut into K folds, each fold is scored under the density of the other K - 1, and σ maximises
  ``CV(σ) = (1/N) Σ_k Σ_{s ∈ fold k} log p̂_σ^{(-k)}(s)`` (:func:`cross_validated_bandwidth`,
  :func:`parzen_evaluate_cv`); the test set is then scored under the density of all N samples.

The work is ``n_points · N`` squared distances, computed in float64 as ``||x||² + ||s||² - 2 x·s`` (clamped at 0)
by matrix products on blocks of ``chunk_size`` points by ``sample_chunk`` samples, so memory stays bounded; one
block of distances serves every σ, and the logsumexp streams across sample blocks (per-block logsumexps joined with
``logaddexp``), entirely in log space, so points far from every sample keep a finite density.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from fgan.errors import UsageError, require
from fgan.training import resolve_device

#: The default bandwidth grid, 10 values from 0.1 to 1 evenly spaced in log: the grid of Goodfellow et al.'s
#: ``parzen_ll.py`` for MNIST (pixels in [0, 1]); rescale it for data on another scale.
DEFAULT_SIGMAS = np.logspace(-1, 0, 10)
#: The bandwidth grid of the cross-validated protocol: 20 values from 0.05 to 1 evenly spaced in log (the
#: generated samples' own held-out likelihood can prefer a σ below Goodfellow et al.'s 0.1).
CV_SIGMAS = np.logspace(math.log10(0.05), 0, 20)
#: Folds of the cross-validated bandwidth choice.
CV_FOLDS = 3
#: Test points per block: with ``DEFAULT_SAMPLE_CHUNK`` a block of float64 distances is 16 MB.
DEFAULT_CHUNK_SIZE = 1024
#: Generated samples per block.
DEFAULT_SAMPLE_CHUNK = 2048

Array = np.ndarray | Tensor


@dataclass
class ParzenResult:
    """The result of :func:`parzen_evaluate`: the test-set mean log-likelihood at the bandwidth chosen on validation."""

    mean: float
    stderr: float
    sigma: float
    sigmas: list[float]
    validation_scores: list[float]
    n_samples: int
    n_test: int
    dim: int
    #: How σ was chosen: ``validation`` (on held-out points) or ``3-fold cross-validation`` (on the samples).
    selection: str = "validation"

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return asdict(self)


def as_points(values: Array, name: str) -> Tensor:
    """``values`` of shape ``(n, ...)`` as a tensor of shape ``(n, d)``, everything after the first axis flattened.

    The dtype is kept (blocks are cast to float64 when used); the values are checked real, finite and non-empty.
    """
    if isinstance(values, Tensor):
        tensor = values.detach()
    else:
        array = np.asarray(values)
        require([(array.dtype.kind in "iuf", f"{name}: values must be real numbers, got dtype {array.dtype}")])
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    require(
        [
            (
                not tensor.is_complex() and tensor.dtype != torch.bool,
                f"{name}: values must be real numbers, got dtype {tensor.dtype}",
            ),
            (tensor.ndim >= 1, f"{name}: values must have shape (n, ...), got a scalar"),
            (tensor.numel() > 0, f"{name}: no values (shape {tuple(tensor.shape)})"),
        ]
    )
    tensor = tensor.reshape(len(tensor), -1)
    bad = ~torch.isfinite(tensor).all(dim=1)
    if bad.any():
        raise UsageError(
            f"{name}: {int(bad.sum())} rows hold NaN or infinite values (the first is row {int(bad.int().argmax())})"
        )
    return tensor


def as_sigmas(sigmas: float | Sequence[float] | np.ndarray | None) -> np.ndarray:
    """The bandwidths as a float64 array of shape ``(k,)``, ``DEFAULT_SIGMAS`` for None; each finite and > 0."""
    values = np.atleast_1d(np.asarray(DEFAULT_SIGMAS if sigmas is None else sigmas, dtype=np.float64))
    require(
        [
            (values.ndim == 1, f"sigmas must be a number or a 1-D list, got shape {values.shape}"),
            (values.size > 0, "sigmas: no bandwidths given"),
            (bool(np.all(np.isfinite(values) & (values > 0))), f"sigmas must be finite and > 0, got {values.tolist()}"),
        ]
    )
    return values


def _check_dimension(points: Tensor, samples: Tensor, name: str) -> None:
    """Raise UsageError unless the points and the samples have the same dimension."""
    if points.shape[1] != samples.shape[1]:
        raise UsageError(f"{name} have dimension {points.shape[1]}, the samples have {samples.shape[1]}")


def _check_blocks(chunk_size: int, sample_chunk: int) -> None:
    """Raise UsageError unless both block sizes are >= 1."""
    require(
        [
            (chunk_size >= 1, f"chunk size must be >= 1, got {chunk_size}"),
            (sample_chunk >= 1, f"sample chunk must be >= 1, got {sample_chunk}"),
        ]
    )


def _sample_blocks(samples: Tensor, sample_chunk: int, device: torch.device) -> list[tuple[Tensor, Tensor]]:
    """The samples cut into blocks of ``sample_chunk`` rows, each as (float64 block on ``device``, its ``||s||²``)."""
    blocks = []
    for start in range(0, len(samples), sample_chunk):
        block = samples[start : start + sample_chunk].to(device=device, dtype=torch.float64)
        blocks.append((block, block.square().sum(dim=1)))
    return blocks


def _block_logsumexp(points: Tensor, point_norms: Tensor, block: Tensor, block_norms: Tensor, scales: Tensor) -> Tensor:
    r"""``logsumexp_i(-c_k ||x - s_i||²)`` over one block of samples for each ``c_k = 1/(2σ_k²)``, shape ``(k, P)``.

    With ``D = max(||x||² + ||s||² - 2 x·s, 0)`` and its row minimum ``m``, the result is
    ``-c_k m + log Σ_i exp(-c_k (D_i - m))``; the sum holds a term ``exp(0) = 1``, so its log is finite.
    """
    distances = torch.addmm(block_norms.unsqueeze(0), points, block.T, alpha=-2.0)
    distances.add_(point_norms.unsqueeze(1)).clamp_(min=0.0)
    nearest = distances.amin(dim=1, keepdim=True)
    distances.sub_(nearest)
    sums = torch.stack([distances.mul(-scale).exp_().sum(dim=1) for scale in scales.tolist()])
    return sums.log_() - scales.unsqueeze(1) * nearest.squeeze(1)


def _log_density(
    points: Tensor, samples: Tensor, sigmas: np.ndarray, chunk_size: int, sample_chunk: int, device: torch.device
) -> Tensor:
    """:func:`parzen_log_density` on checked ``(n, d)`` tensors of one dimension and bandwidths."""
    count, dim = samples.shape
    blocks = _sample_blocks(samples, sample_chunk, device)
    scales = torch.as_tensor(0.5 / sigmas**2, dtype=torch.float64, device=device)
    normaliser = torch.as_tensor(math.log(count) + 0.5 * dim * np.log(2.0 * math.pi * sigmas**2), device=device)
    result = torch.empty(len(sigmas), len(points), dtype=torch.float64)
    for start in range(0, len(points), chunk_size):
        chunk = points[start : start + chunk_size].to(device=device, dtype=torch.float64)
        chunk_norms = chunk.square().sum(dim=1)
        total = torch.full((len(sigmas), len(chunk)), -math.inf, dtype=torch.float64, device=device)
        for block, block_norms in blocks:
            total = torch.logaddexp(total, _block_logsumexp(chunk, chunk_norms, block, block_norms, scales))
        result[:, start : start + len(chunk)] = (total - normaliser.unsqueeze(1)).cpu()
    return result


def parzen_log_density(
    points: Array,
    samples: Array,
    sigmas: float | Sequence[float] | np.ndarray,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    sample_chunk: int = DEFAULT_SAMPLE_CHUNK,
    device: str = "cpu",
) -> Tensor:
    r"""The Parzen log density of each point under the samples for each bandwidth, float64 of shape ``(k, n_points)``.

    ``log p̂_σ(x) = logsumexp_i(-||x - s_i||² / (2σ²)) - log N - (d/2) log(2π σ²)``. Inputs have shape ``(n, ...)``
    (flattened after the first axis); a single σ gives shape ``(1, n_points)``. The work runs on ``device`` in blocks
    of ``chunk_size`` points by ``sample_chunk`` samples (plus one float64 copy of the samples); the result is on
    the CPU.

    Raises:
        UsageError: for empty or non-finite inputs, mismatched dimensions, bandwidths not > 0, or blocks < 1.
    """
    _check_blocks(chunk_size, sample_chunk)
    points_tensor, samples_tensor = as_points(points, "points"), as_points(samples, "samples")
    _check_dimension(points_tensor, samples_tensor, "points")
    return _log_density(
        points_tensor,
        samples_tensor,
        as_sigmas(sigmas),
        chunk_size,
        sample_chunk,
        resolve_device(device),
    )


def _select(
    validation: Tensor, samples: Tensor, sigmas: np.ndarray, chunk_size: int, sample_chunk: int, device: torch.device
) -> tuple[float, list[float]]:
    """:func:`select_bandwidth` on checked tensors of one dimension and bandwidths."""
    scores = _log_density(validation, samples, sigmas, chunk_size, sample_chunk, device).mean(dim=1)
    return float(sigmas[int(scores.argmax())]), scores.tolist()


def select_bandwidth(
    validation: Array,
    samples: Array,
    sigmas: float | Sequence[float] | np.ndarray | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    sample_chunk: int = DEFAULT_SAMPLE_CHUNK,
    device: str = "cpu",
) -> tuple[float, list[float]]:
    """The bandwidth ``argmax_σ mean_x log p̂_σ(x)`` over the validation points, and that mean for each σ.

    ``sigmas`` defaults to ``DEFAULT_SIGMAS`` (0.1 to 1, for data in [0, 1]); on a tie the first σ wins.

    Raises:
        UsageError: as :func:`parzen_log_density`.
    """
    _check_blocks(chunk_size, sample_chunk)
    validation_tensor, samples_tensor = as_points(validation, "validation"), as_points(samples, "samples")
    _check_dimension(validation_tensor, samples_tensor, "validation points")
    return _select(
        validation_tensor,
        samples_tensor,
        as_sigmas(sigmas),
        chunk_size,
        sample_chunk,
        resolve_device(device),
    )


def parzen_evaluate(
    samples: Array,
    test: Array,
    validation: Array,
    sigmas: float | Sequence[float] | np.ndarray | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    sample_chunk: int = DEFAULT_SAMPLE_CHUNK,
    device: str = "cpu",
) -> ParzenResult:
    """The Parzen log-likelihood of ``test`` under ``samples``, σ chosen on ``validation`` by :func:`select_bandwidth`.

    ``mean = mean_x log p̂_σ(x)`` over the test points and ``stderr = std(ddof=1) / sqrt(n_test)``.

    Raises:
        UsageError: as :func:`parzen_log_density`, or for fewer than 2 test points (no standard error).
    """
    _check_blocks(chunk_size, sample_chunk)
    samples_tensor, test_tensor = as_points(samples, "samples"), as_points(test, "test")
    validation_tensor = as_points(validation, "validation")
    _check_dimension(test_tensor, samples_tensor, "test points")
    _check_dimension(validation_tensor, samples_tensor, "validation points")
    require([(len(test_tensor) >= 2, f"test: a standard error needs >= 2 points, got {len(test_tensor)}")])
    grid, target = as_sigmas(sigmas), resolve_device(device)
    sigma, scores = _select(validation_tensor, samples_tensor, grid, chunk_size, sample_chunk, target)
    blocks = (chunk_size, sample_chunk, target)
    return _test_result(test_tensor, samples_tensor, sigma, grid, scores, "validation", blocks)


def _test_result(
    test: Tensor,
    samples: Tensor,
    sigma: float,
    grid: np.ndarray,
    scores: list[float],
    selection: str,
    blocks: tuple[int, int, torch.device],
) -> ParzenResult:
    """The mean log density of the test points at the chosen ``sigma``, ``std(ddof=1) / sqrt(n)``, and the choice."""
    values = _log_density(test, samples, np.array([sigma]), *blocks)[0]
    return ParzenResult(
        mean=float(values.mean()),
        stderr=float(values.std(correction=1)) / math.sqrt(len(values)),
        sigma=sigma,
        sigmas=grid.tolist(),
        validation_scores=scores,
        n_samples=len(samples),
        n_test=len(test),
        dim=samples.shape[1],
        selection=selection,
    )


def _fold_indices(count: int, folds: int, seed: int) -> list[Tensor]:
    """A seeded random partition of ``range(count)`` into ``folds`` parts of near-equal size."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    return list(order.tensor_split(folds))


def _cross_validate(
    samples: Tensor, sigmas: np.ndarray, folds: int, seed: int, chunk_size: int, sample_chunk: int, device: torch.device
) -> tuple[float, list[float]]:
    """:func:`cross_validated_bandwidth` on a checked ``(N, d)`` tensor and bandwidths."""
    total = torch.zeros(len(sigmas), dtype=torch.float64)
    parts = _fold_indices(len(samples), folds, seed)
    for index, held_out in enumerate(parts):
        kept = torch.cat([part for other, part in enumerate(parts) if other != index])
        values = _log_density(samples[held_out], samples[kept], sigmas, chunk_size, sample_chunk, device)
        total += values.sum(dim=1)
    scores = total / len(samples)
    return float(sigmas[int(scores.argmax())]), scores.tolist()


def cross_validated_bandwidth(
    samples: Array,
    sigmas: float | Sequence[float] | np.ndarray | None = None,
    folds: int = CV_FOLDS,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    sample_chunk: int = DEFAULT_SAMPLE_CHUNK,
    device: str = "cpu",
) -> tuple[float, list[float]]:
    r"""The bandwidth ``argmax_σ CV(σ)`` by ``folds``-fold cross-validation on the samples, and ``CV(σ)`` for each σ.

    ``CV(σ) = (1/N) Σ_k Σ_{s ∈ fold k} log p̂_σ^{(-k)}(s)``, where ``p̂^{(-k)}`` is the Parzen density of the samples
    outside fold k and the folds are a random partition drawn from ``seed``. ``sigmas`` defaults to
    ``CV_SIGMAS``; on a tie the first σ wins.

    Raises:
        UsageError: as :func:`parzen_log_density`, or for fewer than 2 folds or more folds than samples.
    """
    _check_blocks(chunk_size, sample_chunk)
    samples_tensor = as_points(samples, "samples")
    require(
        [
            (folds >= 2, f"cross-validation needs >= 2 folds, got {folds}"),
            (folds <= len(samples_tensor), f"{folds} folds need >= {folds} samples, got {len(samples_tensor)}"),
        ]
    )
    grid = as_sigmas(CV_SIGMAS if sigmas is None else sigmas)
    return _cross_validate(samples_tensor, grid, folds, seed, chunk_size, sample_chunk, resolve_device(device))


def parzen_evaluate_cv(
    samples: Array,
    test: Array,
    sigmas: float | Sequence[float] | np.ndarray | None = None,
    folds: int = CV_FOLDS,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    sample_chunk: int = DEFAULT_SAMPLE_CHUNK,
    device: str = "cpu",
) -> ParzenResult:
    """The Parzen log-likelihood of ``test`` under all ``samples``, σ chosen by :func:`cross_validated_bandwidth`.

    ``mean = mean_x log p̂_σ(x)`` over the test points and ``stderr = std(ddof=1) / sqrt(n_test)``;
    ``validation_scores`` holds ``CV(σ)`` for each σ of the grid.

    Raises:
        UsageError: as :func:`cross_validated_bandwidth`, or for fewer than 2 test points.
    """
    samples_tensor, test_tensor = as_points(samples, "samples"), as_points(test, "test")
    _check_dimension(test_tensor, samples_tensor, "test points")
    require([(len(test_tensor) >= 2, f"test: a standard error needs >= 2 points, got {len(test_tensor)}")])
    grid = as_sigmas(CV_SIGMAS if sigmas is None else sigmas)
    sigma, scores = cross_validated_bandwidth(samples_tensor, grid, folds, seed, chunk_size, sample_chunk, device)
    blocks = (chunk_size, sample_chunk, resolve_device(device))
    return _test_result(test_tensor, samples_tensor, sigma, grid, scores, f"{folds}-fold cross-validation", blocks)
