"""Wall time of a Parzen-window evaluation (bandwidth chosen on a validation set, then the test set scored), and
throughput against a direct numpy reference (full pairwise differences, scipy logsumexp) measured in the same run.

    python benchmarks/parzen_speed.py [--n-test 10000] [--n-samples 10000] [--dim 784] [--validation 1000]
                                      [--reference-points 200] [--reference-memory-mb 256]

Data are uniform in [0, 1] (seeded), the bandwidth grid is ``DEFAULT_SIGMAS`` (10 values). Throughput is in
point-sample pairs per second; the comparison with the reference is on its subset of test points, all sigmas.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from scipy.special import logsumexp

from fgan.parzen import DEFAULT_SIGMAS, parzen_evaluate, parzen_log_density


def reference_log_density(points: np.ndarray, samples: np.ndarray, sigmas: np.ndarray, memory_mb: int) -> np.ndarray:
    """log p̂_σ(x) for each σ from the full differences ``x[:, None] - s[None]``, as few points at once as fit."""
    count, dim = samples.shape
    step = max(1, memory_mb * 2**20 // (count * dim * 8))
    result = np.empty((len(sigmas), len(points)))
    for start in range(0, len(points), step):
        squared = ((points[start : start + step, None, :] - samples[None]) ** 2).sum(axis=-1)
        for index, sigma in enumerate(sigmas):
            result[index, start : start + step] = logsumexp(-squared / (2 * sigma**2), axis=1)
    return result - math.log(count) - dim / 2 * np.log(2 * math.pi * sigmas**2)[:, None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=784)
    parser.add_argument("--validation", type=int, default=1000)
    parser.add_argument("--reference-points", type=int, default=200)
    parser.add_argument("--reference-memory-mb", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    samples = rng.random((args.n_samples, args.dim))
    test = rng.random((args.n_test, args.dim))
    validation = rng.random((args.validation, args.dim))
    print(
        f"{args.n_test} test, {args.validation} validation points x {args.n_samples} samples x {args.dim} dims, "
        f"{len(DEFAULT_SIGMAS)} sigmas, {torch.get_num_threads()} torch threads"
    )

    start = time.perf_counter()
    result = parzen_evaluate(samples, test, validation)
    full_seconds = time.perf_counter() - start
    full_pairs = (args.n_test + args.validation) * args.n_samples
    print(f"full evaluation: {full_seconds:.2f} s, {full_pairs / full_seconds:.3g} pairs/s")
    print(f"  mean {result.mean:.3f} ± {result.stderr:.3f}, sigma {result.sigma:.4f}")

    subset = test[: args.reference_points]
    start = time.perf_counter()
    ours = parzen_log_density(subset, samples, DEFAULT_SIGMAS).numpy()
    ours_seconds = time.perf_counter() - start
    start = time.perf_counter()
    expected = reference_log_density(subset, samples, DEFAULT_SIGMAS, args.reference_memory_mb)
    reference_seconds = time.perf_counter() - start
    pairs = len(subset) * args.n_samples
    print(f"subset of {len(subset)} points, all sigmas:")
    print(f"  fgan.parzen: {ours_seconds:.2f} s, {pairs / ours_seconds:.3g} pairs/s")
    print(f"  numpy reference: {reference_seconds:.2f} s, {pairs / reference_seconds:.3g} pairs/s")
    print(f"  speed-up {reference_seconds / ours_seconds:.1f}x, largest difference {np.abs(ours - expected).max():.2e}")


if __name__ == "__main__":
    main()
