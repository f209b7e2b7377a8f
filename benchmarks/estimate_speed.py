"""Wall time of one divergence estimate of 20,000 x 10-dimensional samples per set (the default settings), per
divergence, with the torch thread count in use.

    python benchmarks/estimate_speed.py [--samples 20000] [--dim 10] [--divergence kl js ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from fgan.estimation import estimate_divergence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--divergence", nargs="+", default=["kl", "reverse-kl", "js", "hellinger", "jeffrey"])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    p = rng.standard_normal((args.samples, args.dim))
    q = rng.standard_normal((args.samples, args.dim)) * 1.2 + 0.5 / np.sqrt(args.dim)
    print(f"{args.samples} x {args.dim} samples per set, {torch.get_num_threads()} torch threads")
    print("| divergence | seconds | critic steps (per fold) |\n|---|---|---|")
    for name in args.divergence:
        start = time.perf_counter()
        result = estimate_divergence(p, q, name)
        seconds = time.perf_counter() - start
        steps_run = {point["fold"]: point["step"] for point in result.curve}  # the last point of each fold
        print(f"| {name} | {seconds:.1f} | {', '.join(map(str, steps_run.values()))} |", flush=True)


if __name__ == "__main__":
    main()
