"""Mode coverage of generated samples against a mixture of isotropic Gaussians (the 2-D ring and grid), with the
metrics of the unrolled-GAN and VEEGAN line of work:

* a sample is *high quality* when it lies within ``sigmas`` (3 by default) standard deviations of the mean of its
  nearest mode (nearest in Euclidean distance to the means); in 2-D, 3σ holds 98.9% of a mode's own mass;
* a mode is *covered* when at least ``min_count = max(1, ceil(min_share * n))`` high-quality samples of the ``n``
  are assigned to it; the default ``min_share = 0.002`` is 20 of 10,000 samples, a twentieth of a mode's share on
  the 25-mode grid and a sixtieth of it on the 8-mode ring, so that stray samples do not count as coverage;
* ``kl_to_uniform`` is ``KL(h || u) = log k - H(h)`` between the histogram ``h`` of the high-quality samples over
  the ``k`` modes and the uniform distribution ``u`` over them: 0 when every mode is hit equally often,
  ``log(k / c)`` when ``c`` modes are hit equally and the others not at all.

Samples that are NaN or infinite are never high quality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from fgan.data import GaussianMixture
from fgan.errors import require

#: Standard deviations from a mode's mean within which a sample is high quality.
DEFAULT_SIGMAS = 3.0
#: A mode is covered by at least this share of all samples (20 of 10,000), counting high-quality samples only.
DEFAULT_MIN_SHARE = 0.002
#: Samples compared with the modes at a time, so that memory stays bounded for any number of samples.
CHUNK = 16_384


@dataclass
class ModeCoverage:
    """How many modes the samples cover and how many of the samples are high quality.

    ``per_mode_counts[i]`` is the number of high-quality samples assigned to mode ``i`` (in the order of
    ``mixture.means``); ``kl_to_uniform`` is None when no sample is high quality.
    """

    modes_covered: int
    n_modes: int
    high_quality_share: float
    per_mode_counts: list[int]
    kl_to_uniform: float | None
    min_count: int


def min_count_for(n: int, min_share: float) -> int:
    """The high-quality samples a mode needs to count as covered among ``n`` samples: ``max(1, ceil(share * n))``."""
    return max(1, math.ceil(round(min_share * n, 9)))


def high_quality_counts(samples: Tensor, mixture: GaussianMixture, sigmas: float = DEFAULT_SIGMAS) -> Tensor:
    """The number of high-quality samples assigned to each mode, shape ``(k,)`` (int64), computed in float64
    ``CHUNK`` samples at a time."""
    means = mixture.means.to(samples.device)
    radii = sigmas * mixture.stds.to(samples.device)
    counts = torch.zeros(len(means), dtype=torch.int64, device=samples.device)
    for chunk in samples.split(CHUNK):
        distance = (chunk.to(torch.float64)[:, None, :] - means[None]).square().sum(-1).sqrt()
        nearest_distance, nearest = distance.min(dim=1)
        high_quality = nearest_distance <= radii[nearest]  # False for NaN
        counts += torch.bincount(nearest[high_quality], minlength=len(means))
    return counts.cpu()


def kl_to_uniform(counts: Tensor) -> float | None:
    """``KL(h || uniform)`` of the histogram ``counts`` over ``k`` bins (0 log 0 = 0); None for an empty one."""
    total = int(counts.sum())
    if total == 0:
        return None
    share = counts[counts > 0].to(torch.float64) / total
    return float((share * torch.log(share * len(counts))).sum().clamp(min=0.0))


def mode_coverage(
    samples: Tensor,
    mixture: GaussianMixture,
    sigmas: float = DEFAULT_SIGMAS,
    min_share: float = DEFAULT_MIN_SHARE,
) -> ModeCoverage:
    """The modes of ``mixture`` covered by ``samples`` (shape ``(n, mixture.dim)``) and their quality.

    Raises:
        UsageError: for samples of another shape, no samples, ``sigmas`` <= 0 or ``min_share`` outside [0, 1].
    """
    samples = torch.as_tensor(samples).detach()
    require(
        [
            (
                samples.ndim == 2 and samples.shape[1] == mixture.dim,
                f"samples must have shape (n, {mixture.dim}) for this mixture, got {tuple(samples.shape)}",
            ),
            (len(samples) > 0, "no samples to measure mode coverage on"),
            (math.isfinite(sigmas) and sigmas > 0, f"sigmas must be a positive number, got {sigmas}"),
            (0.0 <= min_share <= 1.0, f"min share must be in [0, 1], got {min_share}"),
        ]
    )
    counts = high_quality_counts(samples, mixture, sigmas)
    min_count = min_count_for(len(samples), min_share)
    return ModeCoverage(
        modes_covered=int((counts >= min_count).sum()),
        n_modes=len(counts),
        high_quality_share=int(counts.sum()) / len(samples),
        per_mode_counts=counts.tolist(),
        kl_to_uniform=kl_to_uniform(counts),
        min_count=min_count,
    )
