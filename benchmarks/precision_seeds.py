"""Table 4 in fp32 against bf16 over seeds: per divergence, the mean over seeds of the Parzen log-likelihood and
the feature FID in each precision, with its standard error (the sample standard deviation over seeds / sqrt(n)),
and the difference bf16 - fp32 in units of its standard error sqrt(SE_fp32² + SE_bf16²).

The runs are ``fgan reproduce mnist`` folders (their ``table.json``), one per seed and precision:

    D="--data-dir ../shared/data/mnist --divergence gan --divergence kl --divergence pearson --divergence hellinger"
    for s in 0 1 2; do for p in fp32 bf16; do
        fgan reproduce mnist $D --precision $p --seed $s --out runs/t4-$p-seed$s
    done; done
    python benchmarks/precision_seeds.py --fp32 runs/t4-fp32-seed? --bf16 runs/t4-bf16-seed?
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

from fgan.experiments.table4_images import REFERENCE

METRICS = (("parzen_mean", "Parzen LL (nats)"), ("fid", "feature FID"))


def mean_and_stderr(values: list[float]) -> tuple[float, float]:
    """The mean and its standard error over seeds (NaN with one seed)."""
    stderr = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return statistics.fmean(values), stderr


def mnist_table(text: str) -> dict[str, Any]:
    """The table.json of an ``fgan reproduce mnist`` folder (argparse type)."""
    path = Path(text) / "table.json"
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {err}") from None
    if not isinstance(table, dict) or table.get("experiment") != "mnist":
        raise argparse.ArgumentTypeError(f"{path} is not the table of an `fgan reproduce mnist` run")
    return table


def read_runs(tables: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """divergence -> metric -> one value per run (seed)."""
    values: dict[str, dict[str, list[float]]] = {}
    for table in tables:
        for row in (row for row in table["rows"] if row["divergence"] != REFERENCE):
            for metric, _ in METRICS:
                values.setdefault(row["divergence"], {}).setdefault(metric, []).append(row[metric])
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp32", type=mnist_table, nargs="+", required=True, help="fp32 run folders, one per seed")
    parser.add_argument("--bf16", type=mnist_table, nargs="+", required=True, help="bf16 run folders, one per seed")
    args = parser.parse_args()
    fp32, bf16 = read_runs(args.fp32), read_runs(args.bf16)
    if set(fp32) != set(bf16):
        parser.error(f"the fp32 runs have divergences {sorted(fp32)}, the bf16 runs {sorted(bf16)}")
    unscored = [
        divergence
        for runs in (fp32, bf16)
        for divergence, metrics in runs.items()
        if any(None in values for values in metrics.values())
    ]
    if unscored:
        parser.error(f"a run of {unscored[0]} has no score (it diverged); leave that seed out")
    print(f"{len(args.fp32)} fp32 seeds, {len(args.bf16)} bf16 seeds; mean ± standard error over seeds\n")
    print("| divergence | metric | fp32 seeds | fp32 | bf16 seeds | bf16 | bf16 - fp32 | in SEs |")
    print("|---|---|---|---:|---|---:|---:|---:|")
    for divergence in fp32:
        for metric, label in METRICS:
            ours, theirs = fp32[divergence][metric], bf16[divergence][metric]
            (mean32, se32), (mean16, se16) = mean_and_stderr(ours), mean_and_stderr(theirs)
            difference = mean16 - mean32
            print(
                f"| {divergence} | {label} | {', '.join(f'{v:.1f}' for v in ours)} | {mean32:.1f} ± {se32:.1f} "
                f"| {', '.join(f'{v:.1f}' for v in theirs)} | {mean16:.1f} ± {se16:.1f} | {difference:+.1f} "
                f"| {difference / math.hypot(se32, se16):+.2f} |"
            )


if __name__ == "__main__":
    main()
