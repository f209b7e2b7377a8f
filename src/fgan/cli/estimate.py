"""``fgan estimate``: an f-divergence between two sample sets, with a confidence interval."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

from fgan.cli.arguments import Commands
from fgan.cli.common import config_from, divergence_names, print_json
from fgan.errors import UsageError
from fgan.estimation import (
    DivergenceEstimate,
    EstimateConfig,
    KnnConfig,
    KnnEstimate,
    estimate_divergence,
    knn_divergence,
    load_samples,
    save_array,
)
from fgan.estimation.knn import KNN_DIVERGENCES
from fgan.options import option

#: ``--method``: the variational estimate, the k-nearest-neighbour one, or both.
METHODS = ("fgan", "knn", "all")


@dataclass
class EstimateCommand:
    """The options of ``fgan estimate`` besides the critic's (:class:`~fgan.estimation.EstimateConfig`)."""

    p: Path | None = option(None, help="samples of P: .npy, .npz or .csv, one sample a row (required)")
    q: Path | None = option(None, help="samples of Q, as --p (required)")
    divergence: str = option("kl", help="divergence name (see `fgan divergences`)")
    method: str = option(
        "fgan",
        help="fgan: the variational estimate; knn: k-nearest neighbours (kl, reverse-kl); all: both",
        choices=METHODS,
    )
    json: bool = option(False, help="print the result as JSON")
    ratio_out: Path | None = option(None, help="write r(x) = p(x)/q(x) at the points of --ratio-at (.npy/.csv)")
    ratio_at: Path | None = option(None, help="points for --ratio-out; None: the --q file")


def register(commands: Commands) -> None:
    commands.add(
        "estimate",
        cmd_estimate,
        [("", EstimateCommand()), ("critic training", EstimateConfig()), ("k-nearest neighbours", KnnConfig())],
        help="estimate an f-divergence between two sample sets",
    )


def cmd_estimate(args: argparse.Namespace) -> None:
    if args.p is None or args.q is None:
        raise UsageError("estimate needs --p FILE and --q FILE")
    if args.ratio_at is not None and args.ratio_out is None:
        raise UsageError("--ratio-at needs --ratio-out FILE")
    if args.ratio_out is not None and args.ratio_out.suffix.lower() not in (".npy", ".csv"):
        raise UsageError(f"{args.ratio_out}: output must be a .npy or .csv file")
    if args.ratio_out is not None and args.method == "knn":
        raise UsageError("--ratio-out needs the critics of --method fgan or all")
    divergence = divergence_names([args.divergence])[0]
    if args.method != "fgan" and divergence not in KNN_DIVERGENCES:
        raise UsageError(f"--method {args.method}: the k-nearest-neighbour estimate gives kl and reverse-kl only")
    p_samples, q_samples = load_samples(args.p), load_samples(args.q)
    results: dict[str, DivergenceEstimate | KnnEstimate] = {}
    if args.method != "knn":
        result = estimate_divergence(p_samples, q_samples, divergence, config_from(args, EstimateConfig()))
        results["fgan"] = result
        if args.ratio_out is not None:
            save_array(args.ratio_out, result.ratio(load_samples(args.ratio_at or args.q)))
    if args.method != "fgan":
        knn_config = config_from(args, KnnConfig())
        results["knn"] = knn_divergence(p_samples, q_samples, divergence, knn_config)
    if args.json:
        values = {name: _as_dict(item) for name, item in results.items()}
        print_json(values if args.method == "all" else values[args.method])
        return
    for item in results.values():
        _print_estimate(item) if isinstance(item, DivergenceEstimate) else _print_knn(item)
    if args.ratio_out is not None:
        print(f"density ratios written to {args.ratio_out}")


def _as_dict(result: DivergenceEstimate | KnnEstimate) -> dict[str, object]:
    return result.to_dict() if isinstance(result, DivergenceEstimate) else asdict(result)


def _print_knn(result: KnnEstimate) -> None:
    print(
        f"{result.divergence}(P||Q) = {result.estimate:.4f} by k-nearest neighbours (k = {result.k}, "
        f"{result.variant}); n_P = {result.n_p}, n_Q = {result.n_q}; no interval"
    )


def _print_estimate(result: DivergenceEstimate) -> None:
    steps = ", ".join(
        f"{kind} {step}" if kind == "mlp" else kind
        for kind, step in zip(result.critic_kinds, result.best_steps, strict=True)
    )
    print(
        f"{result.divergence}(P||Q) = {result.estimate:.4f}, {result.level:.0%} interval [{result.ci_low:.4f}, "
        f"{result.ci_high:.4f}] ({'normal approximation' if result.ci_method == 'normal' else 'bootstrap'}); "
        f"n_P = {result.n_p}, n_Q = {result.n_q}; {result.folds}-fold cross-fitting, bound {result.form}, critics "
        f"(mlp: stopped at step) {steps}"
    )
    if result.warnings:
        print("warning: " + "; ".join(result.warnings))
    first_fold = [point for point in result.curve if point["fold"] == 0]
    if first_fold:
        shown = first_fold[:: max(1, len(first_fold) // 8)]
        print(
            "MLP validation bound of fold 1 by step: "
            + ", ".join(f"{p['step']}: {p['validation_bound']:.4f}" for p in shown)
        )
