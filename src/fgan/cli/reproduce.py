"""``fgan reproduce``: the paper's experiments (Table 3, Table 4, estimation, mode coverage)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from fgan.cli.arguments import Commands
from fgan.cli.common import (
    Outputs,
    config_from,
    default_out,
    divergence_names,
    note,
    training_config,
    training_groups,
)
from fgan.data import PAPER_MIXTURE, parse_mixture
from fgan.divergences import EXAMPLE_DIVERGENCES, PAPER_DIVERGENCES
from fgan.errors import UsageError
from fgan.estimation import EstimateConfig
from fgan.evaluation import evaluation_data
from fgan.experiments import mnist as table4
from fgan.experiments import modes as mode_experiment
from fgan.experiments.estimation import ESTIMATED, PAIRS, format_rows, run_estimation
from fgan.experiments.gaussian_mixture import default_config, fit_one, format_table, write_outputs
from fgan.options import option
from fgan.runs import CONFIG_FILE, prepare_run_dir, read_config, write_json
from fgan.snapshots import SnapshotRecorder, write_snapshots


@dataclass
class EstimationOptions:
    """The options of ``fgan reproduce estimation`` besides the critic's."""

    dims: list[int] = option(default_factory=lambda: [1, 2, 5, 10], help="dimensions", low=1)
    divergence: list[str] | None = option(None, help=f"repeatable; None: {', '.join(ESTIMATED)}")
    pairs: list[str] = option(default_factory=lambda: list(PAIRS), help="Gaussian pairs", choices=PAIRS)
    samples: int = option(20_000, help="samples of each distribution", low=1)
    repeats: int = option(1, help="repetitions with fresh samples", low=1)
    json: bool = option(False, help="print the rows as JSON")


@dataclass
class MixtureOptions(Outputs):
    """The options of ``fgan reproduce gaussian-mixture`` besides the training ones."""

    divergence: list[str] | None = option(
        None, help=f"repeatable; None: the paper's five ({', '.join(PAPER_DIVERGENCES)}); 'all' for every one"
    )
    mixture: str = option(PAPER_MIXTURE, help="P as w:mean:std,...")
    snapshots: int = option(
        6,
        help="K snapshots of the training dynamics per divergence (dynamics/NAME/dynamics.png and .gif)",
        low=1,
        metavar="K",
    )


@dataclass
class MnistOptions(Outputs):
    """The options of ``fgan reproduce mnist`` besides the training ones."""

    dataset: str = option("mnist", help="data set", choices=table4.DATASETS)
    divergence: list[str] | None = option(None, help=f"repeatable; None: {', '.join(table4.TABLE4_DIVERGENCES)}")
    minutes: float | None = option(
        None, help="wall-time budget per divergence (instead of --steps)", low=0, low_open=True
    )
    n_samples: int = option(10_000, help="generated samples to score", low=1)
    data_dir: str | None = option(
        None, help="folder with the IDX files of mnist or fashion-mnist (else $FGAN_DATA_DIR, then the usual places)"
    )
    download: bool = option(False, help="fetch the data set when not found")
    resume: bool = option(
        False, help="continue the experiment in --out with its settings: divergences already scored are kept"
    )


@dataclass
class ModesOptions(Outputs):
    """The options of ``fgan reproduce modes`` besides the training ones."""

    dataset: list[str] | None = option(None, help="repeatable; None: ring and grid", choices=mode_experiment.DATASETS)
    divergence: list[str] | None = option(None, help=f"repeatable; None: {', '.join(mode_experiment.MODE_DIVERGENCES)}")
    seeds: list[int] = option(
        default_factory=lambda: list(mode_experiment.SEEDS), help="one run per seed and divergence"
    )
    samples: int = option(mode_experiment.DEFAULT_SAMPLES, help="generated samples scored", low=1)


def register(commands: Commands) -> None:
    experiments = commands.nest("reproduce", "experiment", help="reproduce an experiment of the paper")
    experiments.add(
        "estimation",
        cmd_reproduce_estimation,
        [("", EstimationOptions()), ("critic training", EstimateConfig())],
        help="the variational estimate against the truth, Gaussians",
    )
    experiments.add(
        "gaussian-mixture",
        cmd_reproduce_gaussian_mixture,
        [("", MixtureOptions()), *training_groups(default_config())],
        help="Section 4.1, Table 3: a Gaussian fitted to a mixture",
    )
    experiments.add(
        "mnist",
        cmd_reproduce_mnist,
        [("", MnistOptions()), *training_groups(table4.default_config())],
        help="Section 4.2, Table 4: the paper's MNIST models, Parzen scores",
    )
    experiments.add(
        "modes",
        cmd_reproduce_modes,
        [("", ModesOptions()), *training_groups(mode_experiment.default_config())],
        help="mode seeking against mass covering: ring and grid, per divergence",
    )


def cmd_reproduce_gaussian_mixture(args: argparse.Namespace) -> None:
    names = args.divergence or list(PAPER_DIVERGENCES)
    if "all" in names:
        names = list(EXAMPLE_DIVERGENCES)
    divergences = divergence_names(names)
    mixture = parse_mixture(args.mixture)
    if mixture.dim != 1:
        raise UsageError("the mixture must be one-dimensional")
    config = training_config(args, default_config())
    config.validate()
    SnapshotRecorder(args.snapshots, config.steps)  # a bad count is refused before any output is written
    out = prepare_run_dir(args.out or default_out("gaussian-mixture"), force=args.force)
    write_json(
        out / CONFIG_FILE,
        {
            "experiment": "gaussian-mixture",
            "mixture": args.mixture,
            "divergences": divergences,
            "train": asdict(config),
        },
    )
    rows = []
    for index, name in enumerate(divergences, start=1):
        if not args.json and not args.quiet:
            print(f"[{index}/{len(divergences)}] {name}: {config.steps} steps ...", file=sys.stderr, flush=True)
        recorder = SnapshotRecorder(args.snapshots, config.steps)
        rows.append(fit_one(mixture, name, config, recorder))
        write_snapshots(recorder.snapshots, out / "dynamics" / name, name)
    write_outputs(mixture, rows, out)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print(format_table(rows))
        print(
            f"\nwritten: {out / 'table.md'}, {out / 'table.json'}, {out / 'fits.png'}, "
            f"{out / 'dynamics'}/NAME/dynamics.png and .gif"
        )


def _check_same_experiment(out: Path, meta: dict[str, Any]) -> None:
    """An experiment continues only with the settings it started with; more divergences may be added, and the
    device and progress display may change."""
    saved = read_config(out)

    def settings(values: dict[str, Any]) -> dict[str, Any]:
        train = {key: value for key, value in values.get("train", {}).items() if key not in ("quiet", "device")}
        return {**{key: value for key, value in values.items() if key != "divergences"}, "train": train}

    current = settings(json.loads(json.dumps(meta)))
    changed = [key for key, value in current.items() if settings(saved).get(key) != value]
    if changed:
        raise UsageError(
            f"the experiment in {out} was started with other settings ({', '.join(changed)}); "
            "give the same options, or a new --out"
        )


def cmd_reproduce_mnist(args: argparse.Namespace) -> None:
    divergences = divergence_names(args.divergence or table4.TABLE4_DIVERGENCES)
    config = training_config(args, table4.default_config())
    if args.minutes is not None:
        if "steps" in args.given:
            raise UsageError("give the budget as --steps or --minutes, not both")
        config = replace(config, steps=10**9, checkpoint_every=0)
    config.validate()
    if args.resume and args.out is None:
        raise UsageError("--resume needs the --out folder of the experiment to continue")
    say = (lambda message: None) if args.json or args.quiet else note
    data = evaluation_data(args.dataset, data_dir=args.data_dir)
    if data.note:
        note(data.note)
    meta = {
        "experiment": "mnist",
        "dataset": args.dataset,
        "divergences": divergences,
        "minutes": args.minutes,
        "n_samples": args.n_samples,
        "train": asdict(config),
        "data_note": data.note,
    }
    if args.resume:
        _check_same_experiment(args.out, meta)
    out = prepare_run_dir(args.out or default_out(f"table4-{args.dataset}"), force=args.force or args.resume)
    write_json(out / CONFIG_FILE, meta)
    rows, accuracy = table4.run_table4(
        args.dataset,
        divergences,
        config,
        out,
        data,
        minutes=args.minutes,
        data_dir=args.data_dir,
        n_samples=args.n_samples,
        force=args.force,
        progress=say,
        resume=args.resume,
    )
    table4.write_outputs(rows, accuracy, meta, out)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print((out / "table.md").read_text().rstrip())
        print(f"\nwritten: {out / 'table.md'}, {out / 'table.json'}, {out / 'grids.png'}")


def cmd_reproduce_modes(args: argparse.Namespace) -> None:
    datasets = args.dataset or list(mode_experiment.DATASETS)
    divergences = mode_experiment.check_names(datasets, args.divergence or mode_experiment.MODE_DIVERGENCES)
    config = training_config(args, mode_experiment.default_config())
    config.validate()
    out = prepare_run_dir(args.out or default_out("modes"), force=args.force)
    meta = {"experiment": "modes", "datasets": datasets, "divergences": divergences, "seeds": args.seeds}
    write_json(out / CONFIG_FILE, {**meta, "samples": args.samples, "train": asdict(config)})
    say = (lambda message: None) if args.json or args.quiet else note
    rows, samples = mode_experiment.run_modes(datasets, divergences, args.seeds, config, args.samples, say)
    mode_experiment.write_outputs(rows, samples, out, meta)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print((out / "table.md").read_text().rstrip())
        print(
            f"\nwritten: {out / 'table.md'}, {out / 'table.json'}, "
            + ", ".join(str(out / f"modes-{dataset}.png") for dataset in datasets)
        )


def cmd_reproduce_estimation(args: argparse.Namespace) -> None:
    divergences = divergence_names(args.divergence or ESTIMATED)
    rows = run_estimation(
        args.dims, divergences, args.pairs, args.samples, args.repeats, config_from(args, EstimateConfig())
    )
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print(format_rows(rows))
