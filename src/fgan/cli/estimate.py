"""``fgan estimate``: an f-divergence between two sample sets, with a confidence interval."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from fgan.cli.arguments import Commands
from fgan.cli.common import config_from, divergence_names, print_json
from fgan.errors import UsageError
from fgan.estimation import DivergenceEstimate, EstimateConfig, estimate_divergence, load_samples, save_array
from fgan.options import option


@dataclass
class EstimateCommand:
    """The options of ``fgan estimate`` besides the critic's (:class:`~fgan.estimation.EstimateConfig`)."""

    p: Path | None = option(None, help="samples of P: .npy, .npz or .csv, one sample a row (required)")
    q: Path | None = option(None, help="samples of Q, as --p (required)")
    divergence: str = option("kl", help="divergence name (see `fgan divergences`)")
    json: bool = option(False, help="print the result as JSON")
    ratio_out: Path | None = option(None, help="write r(x) = p(x)/q(x) at the points of --ratio-at (.npy/.csv)")
    ratio_at: Path | None = option(None, help="points for --ratio-out; None: the --q file")


def register(commands: Commands) -> None:
    commands.add(
        "estimate",
        cmd_estimate,
        [("", EstimateCommand()), ("critic training", EstimateConfig())],
        help="estimate an f-divergence between two sample sets",
    )


def cmd_estimate(args: argparse.Namespace) -> None:
    if args.p is None or args.q is None:
        raise UsageError("estimate needs --p FILE and --q FILE")
    if args.ratio_at is not None and args.ratio_out is None:
        raise UsageError("--ratio-at needs --ratio-out FILE")
    if args.ratio_out is not None and args.ratio_out.suffix.lower() not in (".npy", ".csv"):
        raise UsageError(f"{args.ratio_out}: output must be a .npy or .csv file")
    divergence = divergence_names([args.divergence])[0]
    result = estimate_divergence(
        load_samples(args.p), load_samples(args.q), divergence, config_from(args, EstimateConfig())
    )
    if args.ratio_out is not None:
        points = load_samples(args.ratio_at or args.q)
        save_array(args.ratio_out, result.ratio(points))
    if args.json:
        print_json(result.to_dict())
        return
    _print_estimate(result)
    if args.ratio_out is not None:
        print(f"density ratios written to {args.ratio_out}")


def _print_estimate(result: DivergenceEstimate) -> None:
    print(
        f"{result.divergence}(P||Q) = {result.estimate:.4f}, {result.level:.0%} interval [{result.ci_low:.4f}, "
        f"{result.ci_high:.4f}] ({'normal approximation' if result.ci_method == 'normal' else 'bootstrap'}); "
        f"n_P = {result.n_p}, n_Q = {result.n_q}; {result.folds}-fold cross-fitting, critics stopped at steps "
        f"{', '.join(map(str, result.best_steps))}"
    )
    first_fold = [point for point in result.curve if point["fold"] == 0]
    shown = first_fold[:: max(1, len(first_fold) // 8)]
    print(
        "validation bound of fold 1 by step: " + ", ".join(f"{p['step']}: {p['validation_bound']:.4f}" for p in shown)
    )
