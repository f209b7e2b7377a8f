"""The ``fgan`` command line: a thin layer over the Python API.

Every error from bad input is one line on stderr and exit code 2; nothing prints a traceback for it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from dataclasses import fields, is_dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from fgan import bench as benchmark
from fgan import distributed
from fgan.conjugate_plot import figure_gap, plot_conjugate
from fgan.data import PAPER_MIXTURE
from fgan.datasets import IMAGE_DATA, VECTOR_DATA, is_image_data
from fgan.divergences import (
    PAPER_DIVERGENCES,
    describe_divergences,
    get_divergence,
    list_divergences,
)
from fgan.errors import UsageError
from fgan.estimation import CI_METHODS, EstimateConfig, estimate_divergence, load_samples, save_array
from fgan.evaluation import METRICS, N_VALIDATION, evaluation_data, feature_classifier, feature_scores, parzen_score
from fgan.evaluation import check_shape as check_sample_shape
from fgan.experiments import EXPERIMENTS
from fgan.experiments import mode_coverage as mode_experiment
from fgan.experiments import table4_images as table4
from fgan.experiments.estimation_gaussians import ESTIMATED, PAIRS
from fgan.experiments.table3_mixture import default_config
from fgan.loggers import LOGGERS, check_logger, log_evaluation
from fgan.models import GENERATORS
from fgan.objectives import GENERATOR_OBJECTIVES
from fgan.options import option_fields
from fgan.plotting import plot_samples
from fgan.report import EVALUATION_FILE, write_report
from fgan.runner import (
    IMAGE_TRAINING,
    MODELS,
    SYNTHETIC_TRAINING,
    ModelConfig,
    RunConfig,
    generate,
    load_run,
    resume_run,
    save_grid,
    train_run,
)
from fgan.runs import atomic_write, write_json
from fgan.training import (
    DEVICES,
    LR_SCHEDULES,
    NONFINITE_ACTIONS,
    OPTIMIZERS,
    PRECISIONS,
    UPDATES,
    NonFiniteError,
    TrainConfig,
    Trainer,
)

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
#: What ``fgan train --resume`` lets the command line change.
RESUMABLE = {"resume", "steps", "quiet", "device", "logger", "config"}


class Interrupted(Exception):
    """Ctrl-C, after the run saved a checkpoint."""


class TrainingFailed(Exception):
    """Training stopped on a non-finite loss or gradient."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2) and defaults shown in the help."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def _at_least(convert: type, low: float, inclusive: bool):
    """An argparse type: ``convert(text)``, which must be >= low (or > low); NaN is refused."""

    def parse(text: str):
        value = convert(text)
        if not (value >= low if inclusive else value > low):
            raise argparse.ArgumentTypeError(f"must be {'>=' if inclusive else '>'} {low:g}, got {text}")
        return value

    parse.__name__ = convert.__name__  # argparse names the type in "invalid int value: 'x'"
    return parse


_positive_int = _at_least(int, 1, inclusive=True)
_non_negative_int = _at_least(int, 0, inclusive=True)
_positive_float = _at_least(float, 0.0, inclusive=False)
_non_negative_float = _at_least(float, 0.0, inclusive=True)


def _default_out(kind: str) -> Path:
    return Path("runs") / f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _add_training_options(parser: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    group = parser.add_argument_group("training")
    group.add_argument("--steps", type=_non_negative_int, default=defaults.steps, help="training steps")
    group.add_argument("--batch-size", type=_positive_int, default=defaults.batch_size, help="minibatch size")
    group.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    group.add_argument(
        "--update",
        choices=UPDATES,
        default=defaults.update,
        help="single-step: Algorithm 1 (default); alternating: k critic steps, then one generator step",
    )
    group.add_argument(
        "--critic-steps",
        type=_positive_int,
        default=defaults.critic_steps,
        help="critic steps per generator step (alternating update)",
    )
    group.add_argument(
        "--generator-objective",
        choices=GENERATOR_OBJECTIVES,
        default=defaults.generator_objective,
        help="minimax: descend F (Algorithm 1); alternative: ascend E_Q[g_f(V)] (Section 3.2)",
    )
    group.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer, help="optimiser of both networks")
    group.add_argument("--lr", type=_positive_float, help="learning rate of both networks")
    group.add_argument(
        "--lr-generator", type=_positive_float, default=defaults.lr_generator, help="generator step size"
    )
    group.add_argument("--lr-critic", type=_positive_float, default=defaults.lr_critic, help="critic step size")
    group.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default=defaults.lr_schedule,
        help="linear: step sizes fall to 0 at the end",
    )
    group.add_argument(
        "--critic-penalty",
        type=_non_negative_float,
        default=None,
        metavar="LAMBDA",
        help="penalty LAMBDA/2 (E_P[V²] + E_Q[V²]) on the raw critic output; None: the divergence's own "
        "(0.01 for tv, 0 for the others)",
    )
    group.add_argument(
        "--clip-grad-norm",
        type=_positive_float,
        default=defaults.clip_grad_norm,
        help="clip each network's gradient norm",
    )
    group.add_argument(
        "--on-nonfinite",
        choices=NONFINITE_ACTIONS,
        default=defaults.on_nonfinite,
        help="a NaN or infinite loss or gradient: stop the run, or skip the step and count it",
    )
    group.add_argument("--device", choices=DEVICES, default=defaults.device, help="auto: cuda, then mps, then cpu")
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=defaults.precision,
        help="the networks' arithmetic: bf16 or fp16 (loss-scaled) autocast with float32 weights; the divergence "
        "arithmetic stays float32",
    )
    group.add_argument(
        "--compile", action="store_true", help="torch.compile both networks (pays off on long runs and GPUs)"
    )
    group.add_argument("--quiet", action="store_true", help="no progress bar")


def _from_args(defaults: Any, args: argparse.Namespace) -> Any:
    """``defaults`` (a dataclass) with every option the command line gave (argparse's names are its fields)."""
    given = {field.name: getattr(args, field.name) for field in fields(defaults) if hasattr(args, field.name)}
    return replace(defaults, **given)


def _add_estimation_options(parser: argparse.ArgumentParser) -> None:
    defaults = EstimateConfig()
    group = parser.add_argument_group("critic training")
    group.add_argument("--hidden", type=_positive_int, default=defaults.hidden, help="critic units per hidden layer")
    group.add_argument("--depth", type=_positive_int, default=defaults.depth, help="critic hidden layers")
    group.add_argument("--max-steps", type=_positive_int, default=defaults.max_steps, help="most steps per critic")
    group.add_argument("--batch-size", type=_positive_int, default=defaults.batch_size, help="minibatch size")
    group.add_argument("--lr", type=_positive_float, default=defaults.lr, help="Adam step size")
    group.add_argument(
        "--folds", type=_at_least(int, 2, inclusive=True), default=defaults.folds, help="cross-fitting folds"
    )
    group.add_argument(
        "--ci", choices=CI_METHODS, default=defaults.ci, help="interval: normal approximation or bootstrap"
    )
    group.add_argument("--level", type=float, default=defaults.level, help="confidence level")
    group.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    group.add_argument("--device", choices=DEVICES, default=defaults.device, help="auto: cuda, then mps, then cpu")


def _add_data_options(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--data-dir",
        help="folder with the IDX files of mnist or fashion-mnist (else $FGAN_DATA_DIR, then the usual places)",
    )


def _training_config(args: argparse.Namespace, defaults: TrainConfig) -> TrainConfig:
    """``defaults`` with the training options the user gave (command line or config file); ``--lr`` sets both
    learning rates."""
    config = replace(defaults, **{f.name: getattr(args, f.name) for f in fields(defaults) if f.name in args.given})
    if args.lr is not None:
        config = replace(config, lr_generator=args.lr, lr_critic=args.lr)
    return config


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fgan",
        description="Train generative neural samplers by variational f-divergence "
        "minimisation (f-GAN, Nowozin, Cseke and Tomioka 2016).",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    divergences = commands.add_parser("divergences", help="print the table of divergences")

    train = commands.add_parser(
        "train",
        help="train a generator on synthetic data or images",
        epilog=f"Image data trains with other defaults: {IMAGE_TRAINING.steps} steps, minibatches of "
        f"{IMAGE_TRAINING.batch_size}, Adam at {IMAGE_TRAINING.lr_generator:g} with beta1 {IMAGE_TRAINING.betas[0]:g}, "
        "constant step size (the defaults shown below are those of synthetic data).",
    )
    train.add_argument(
        "--data", default="ring", help=f"vectors: {', '.join(VECTOR_DATA)}; images: {', '.join(IMAGE_DATA)}"
    )
    train.add_argument("--divergence", default="js", help="divergence name (see `fgan divergences`)")
    train.add_argument("--out", type=Path, help="run folder (default: a new folder under runs/)")
    train.add_argument("--force", action="store_true", help="overwrite a run folder that holds a run")
    train.add_argument(
        "--resume",
        type=Path,
        metavar="RUN",
        help="continue the run in folder RUN from its newest checkpoint, with its saved config "
        "(--steps, --quiet, --device and --logger may change)",
    )
    train.add_argument(
        "--logger",
        choices=LOGGERS,
        default=RunConfig.logger,
        help="tensorboard: also write metrics and sample grids to RUN/tensorboard (needs the extra: "
        "pip install 'fgan[tensorboard]')",
    )
    images = train.add_argument_group("image data")
    _add_data_options(images)
    images.add_argument("--download", action="store_true", help="fetch mnist or fashion-mnist when not found")
    images.add_argument("--image-size", type=_positive_int, help="resize (and centre-crop folders) to this size")
    images.add_argument("--channels", type=int, choices=(1, 3), help="image folders: 1 grayscale, 3 RGB (default)")
    images.add_argument(
        "--sample-every",
        type=_positive_int,
        default=RunConfig.sample_every,
        help="write a grid of samples every N steps",
    )
    train.add_argument(
        "--snapshots",
        type=int,
        metavar="K",
        help="1-D mixtures: K snapshots of p, q_θ, the critic and the optimal critic during training "
        "(plots/dynamics.png and .gif)",
    )
    model_defaults = ModelConfig()
    models = train.add_argument_group("models")
    models.add_argument(
        "--model",
        choices=MODELS,
        default=model_defaults.model,
        help="auto: mlp for synthetic data, mnist-mlp (the paper's MNIST pair) for mnist, fashion-mnist and digits, "
        "dcgan for image folders; dcgan-nobn: a DCGAN critic without batch norm",
    )
    models.add_argument(
        "--generator",
        choices=GENERATORS,
        default=model_defaults.generator,
        help="synthetic data: mlp, or location-scale (μ + σ z)",
    )
    models.add_argument(
        "--latent-dim", type=_positive_int, default=model_defaults.latent_dim, help="size of z (default 8, images 100)"
    )
    models.add_argument(
        "--generator-hidden", type=_positive_int, default=model_defaults.generator_hidden, help="units per hidden layer"
    )
    models.add_argument(
        "--critic-hidden", type=_positive_int, default=model_defaults.critic_hidden, help="units per hidden layer"
    )
    models.add_argument(
        "--generator-depth", type=_positive_int, default=model_defaults.generator_depth, help="hidden layers"
    )
    models.add_argument("--critic-depth", type=_positive_int, default=model_defaults.critic_depth, help="hidden layers")
    train.add_argument(
        "--checkpoint-every",
        type=_non_negative_int,
        default=SYNTHETIC_TRAINING.checkpoint_every,
        help="also checkpoint every N steps (0: only at the end)",
    )
    _add_training_options(train, SYNTHETIC_TRAINING)

    sample = commands.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("run", type=Path, help="run folder")
    sample.add_argument("--n", type=_positive_int, default=1000, help="number of samples")
    sample.add_argument(
        "--out", type=Path, help="output file: .npy (array) or .png (a plot, or a grid for images); required"
    )
    sample.add_argument("--seed", type=int, default=None, help="random seed of the draw")
    sample.add_argument("--device", choices=DEVICES, default="cpu", help="device to generate on")

    estimate = commands.add_parser("estimate", help="estimate an f-divergence between two sample sets")
    estimate.add_argument("--p", type=Path, help="samples of P: .npy, .npz or .csv, one sample a row (required)")
    estimate.add_argument("--q", type=Path, help="samples of Q, as --p (required)")
    estimate.add_argument("--divergence", default="kl", help="divergence name (see `fgan divergences`)")
    estimate.add_argument("--json", action="store_true", help="print the result as JSON")
    estimate.add_argument(
        "--ratio-out", type=Path, help="write r(x) = p(x)/q(x) at the points of --ratio-at (.npy/.csv)"
    )
    estimate.add_argument("--ratio-at", type=Path, help="points for --ratio-out (default: the --q file)")
    _add_estimation_options(estimate)

    evaluate = commands.add_parser(
        "evaluate",
        help="score an image run: Parzen log-likelihood, feature metrics",
        description=f"Score an image run. The result is also saved as RUN/{EVALUATION_FILE} (replacing an earlier "
        "one), which `fgan report` shows in its metrics table; a run trained with --logger tensorboard also gets "
        "its numbers in RUN/tensorboard (eval/...).",
    )
    evaluate.add_argument("run", type=Path, help="run folder")
    evaluate.add_argument(
        "--metric",
        choices=(*METRICS, "all"),
        default="kde",
        help="kde: Parzen-window log-likelihood of the test set; features: Fréchet distance, two-sample test "
        "accuracy and class balance in the feature space of fgan's own classifier",
    )
    evaluate.add_argument("--n", type=_positive_int, default=10_000, help="generated samples")
    evaluate.add_argument(
        "--validation", type=_positive_int, default=N_VALIDATION, help="training images to choose the bandwidth on"
    )
    _add_data_options(evaluate)
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the samples and the validation split")
    evaluate.add_argument("--device", choices=DEVICES, default="cpu", help="device to generate on")
    evaluate.add_argument("--json", action="store_true", help="print the result as JSON")

    report = commands.add_parser(
        "report",
        help="one self-contained HTML report of a run, or a comparison of several",
        description="Write one HTML file that opens with no network: training curves, samples over time, the "
        f"metrics of `fgan evaluate` ({EVALUATION_FILE}) and the config; with several runs, a comparison first.",
    )
    report.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders")
    report.add_argument(
        "--out", type=Path, help="output .html file; None: RUN/report.html for one run, report.html for several"
    )
    report.add_argument("--title", help="title of the page; None: one made of the run names")

    bench = commands.add_parser(
        "bench",
        help="ms per training step against the conventional two-pass update, measured in one process",
        description="Time fgan's training step (Algorithm 1 in one forward and one backward pass, in each precision) "
        "against the alternating float32 update of the public f-GAN scripts, interleaved in one process; count "
        "the FLOPs of a step and compare with the measured peak of a large matrix product.",
    )
    bench.add_argument("setups", nargs="*", metavar="SETUP", help=f"of {', '.join(benchmark.SETUPS)} (default: all)")
    bench.add_argument("--precision", nargs="+", choices=PRECISIONS, default=["fp32", "bf16"], help="precisions")
    bench.add_argument("--steps", type=_positive_int, default=20, help="steps per timed round")
    bench.add_argument("--rounds", type=_positive_int, default=5, help="interleaved rounds (the median is reported)")
    bench.add_argument("--device", choices=DEVICES, default="cpu", help="auto: cuda, then mps, then cpu")
    bench.add_argument("--compile", action="store_true", help="also time fgan's step under torch.compile")
    bench.add_argument(
        "--sweep",
        nargs="*",
        type=_positive_int,
        default=list(benchmark.SWEEP_BATCHES),
        metavar="BATCH",
        help="batch sizes of the mnist-mlp sweep (none: no sweep)",
    )
    bench.add_argument("--out", type=Path, default=Path("runs/bench"), help="folder for bench.json, .md, sweep plot")
    bench.add_argument("--json", action="store_true", help="print the rows as JSON")

    plot = commands.add_parser("plot", help="draw the pictures that explain f-GAN")
    figures = plot.add_subparsers(dest="figure", required=True, parser_class=_Parser)
    conjugate = figures.add_parser(
        "conjugate", help="f* as the upper envelope of the lines t -> u t - f(u), with dom f* and g_f"
    )
    conjugate.add_argument("--divergence", default="kl", help="divergence name (see `fgan divergences`)")
    conjugate.add_argument("--out", type=Path, default=Path("conjugate.png"), help="output file: .png or .svg")
    conjugate.add_argument("--lines", type=_positive_int, default=25, help="number of lines (slopes u) drawn")

    reproduce = commands.add_parser("reproduce", help="reproduce an experiment of the paper")
    experiments = reproduce.add_subparsers(dest="experiment", required=True, parser_class=_Parser)
    estimation = experiments.add_parser("estimation", help="the variational estimate against the truth, Gaussians")
    estimation.add_argument("--dims", type=_positive_int, nargs="+", default=[1, 2, 5, 10], help="dimensions")
    estimation.add_argument("--divergence", action="append", help=f"repeatable; default {', '.join(ESTIMATED)}")
    estimation.add_argument("--pairs", nargs="+", choices=PAIRS, default=list(PAIRS), help="Gaussian pairs")
    estimation.add_argument("--samples", type=_positive_int, default=20_000, help="samples of each distribution")
    estimation.add_argument("--repeats", type=_positive_int, default=1, help="repetitions with fresh samples")
    estimation.add_argument("--json", action="store_true", help="print the rows as JSON")
    _add_estimation_options(estimation)
    mixture = experiments.add_parser("gaussian-mixture", help="Section 4.1, Table 3: a Gaussian fitted to a mixture")
    mixture.add_argument(
        "--divergence",
        action="append",
        help=f"repeatable; default the paper's five ({', '.join(PAPER_DIVERGENCES)}); 'all' for every one",
    )
    mixture.add_argument("--mixture", default=PAPER_MIXTURE, help="P as w:mean:std,... (default the paper's)")
    mixture.add_argument("--out", type=Path, help="output folder (default: a new folder under runs/)")
    mixture.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    mixture.add_argument("--json", action="store_true", help="print the rows as JSON")
    mixture.add_argument(
        "--snapshots",
        type=int,
        default=6,
        metavar="K",
        help="K snapshots of the training dynamics per divergence (dynamics/NAME/dynamics.png and .gif)",
    )
    _add_training_options(mixture, default_config())
    mnist = experiments.add_parser("mnist", help="Section 4.2, Table 4: the paper's MNIST models, Parzen scores")
    mnist.add_argument("--dataset", choices=table4.DATASETS, default="mnist", help="data set")
    mnist.add_argument(
        "--divergence", action="append", help=f"repeatable; default {', '.join(table4.TABLE4_DIVERGENCES)}"
    )
    mnist.add_argument("--minutes", type=_positive_float, help="wall-time budget per divergence (instead of --steps)")
    mnist.add_argument("--n-samples", type=_positive_int, default=10_000, help="generated samples to score")
    _add_data_options(mnist)
    mnist.add_argument("--download", action="store_true", help="fetch the data set when not found")
    mnist.add_argument("--out", type=Path, help="output folder (default: a new folder under runs/)")
    mnist.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    mnist.add_argument(
        "--resume",
        action="store_true",
        help="continue the experiment in --out with its settings: divergences already scored are kept",
    )
    mnist.add_argument("--json", action="store_true", help="print the rows as JSON")
    _add_training_options(mnist, table4.default_config())
    modes = experiments.add_parser("modes", help="mode seeking against mass covering: ring and grid, per divergence")
    modes.add_argument(
        "--dataset", action="append", choices=mode_experiment.DATASETS, help="repeatable; default ring and grid"
    )
    modes.add_argument(
        "--divergence", action="append", help=f"repeatable; default {', '.join(mode_experiment.MODE_DIVERGENCES)}"
    )
    modes.add_argument(
        "--seeds", type=int, nargs="+", default=list(mode_experiment.SEEDS), help="one run per seed and divergence"
    )
    modes.add_argument(
        "--samples", type=_positive_int, default=mode_experiment.DEFAULT_SAMPLES, help="generated samples scored"
    )
    modes.add_argument("--out", type=Path, help="output folder (default: a new folder under runs/)")
    modes.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    modes.add_argument("--json", action="store_true", help="print the rows as JSON")
    _add_training_options(modes, mode_experiment.default_config())
    parser.command_parsers = {
        "divergences": divergences,
        "train": train,
        "sample": sample,
        "estimate": estimate,
        ("reproduce", "estimation"): estimation,
        ("reproduce", "gaussian-mixture"): mixture,
        ("reproduce", "mnist"): mnist,
        ("reproduce", "modes"): modes,
        ("plot", "conjugate"): conjugate,
        "evaluate": evaluate,
        "report": report,
        "bench": bench,
    }
    for command_parser in parser.command_parsers.values():
        command_parser.add_argument(
            "--config",
            type=Path,
            metavar="FILE.toml",
            help="read options from a TOML file (keys as the long options, without dashes); flags override it",
        )
    return parser


def _option_actions(command_parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The command's options by destination name (argparse keeps them, its groups' included, in ``_actions``)."""
    return {
        action.dest: action for action in command_parser._actions if action.option_strings and action.dest != "help"
    }


def _explicit_options(argv: list[str]) -> set[str]:
    """The destinations of the options given on the command line, as opposed to those left at their default."""
    shadow = build_parser()
    for command_parser in shadow.command_parsers.values():
        for action in _option_actions(command_parser).values():
            action.default = argparse.SUPPRESS
    return set(vars(shadow.parse_args(argv))) - {"command", "experiment", "figure", "run"}


def _config_value(where: str, raw: Any, action: argparse.Action) -> Any:
    """A TOML value checked and converted as argparse would convert the same option on the command line."""
    if isinstance(action, argparse._StoreTrueAction):
        if not isinstance(raw, bool):
            raise UsageError(f"{where} must be true or false, got {raw!r}")
        return raw
    if isinstance(action, argparse._AppendAction):
        if not isinstance(raw, list) or not raw:
            raise UsageError(f"{where} must be a non-empty list, got {raw!r}")
        return [_config_scalar(where, item, action) for item in raw]
    return _config_scalar(where, raw, action)


def _config_scalar(where: str, raw: Any, action: argparse.Action) -> Any:
    kind = getattr(action.type, "__name__", "str") if action.type is not None else "str"
    expected, noun = {"int": ((int,), "an integer"), "float": ((int, float), "a number")}.get(
        kind, ((str,), "a string")
    )
    if isinstance(raw, bool) or not isinstance(raw, expected):
        raise UsageError(f"{where} must be {noun}, got {raw!r}")
    try:
        value = action.type(str(raw)) if action.type is not None else raw
    except (argparse.ArgumentTypeError, ValueError) as err:
        raise UsageError(f"{where}: {err}") from None
    if action.choices is not None and value not in action.choices:
        raise UsageError(f"{where} must be one of {', '.join(map(str, action.choices))}, got {raw!r}")
    return value


def read_config_file(path: Path, command_parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The options of a TOML file for one command, checked against the command's own options.

    Raises:
        UsageError: for an unreadable file, invalid TOML, an unknown key or a value of the wrong type or range,
            naming the key.
    """
    try:
        table = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise UsageError(f"cannot read config {path}: {err}") from None
    actions = {dest: action for dest, action in _option_actions(command_parser).items() if dest != "config"}
    values = {}
    for key, raw in table.items():
        dest = key.replace("-", "_")
        if dest not in actions:
            raise UsageError(f"{path}: unknown key {key!r}; valid keys: {', '.join(sorted(actions))}")
        if dest in values:
            raise UsageError(f"{path}: key {key!r} given twice")
        values[dest] = _config_value(f"{path}: key {key!r}", raw, actions[dest])
    return values


def cmd_divergences(args: argparse.Namespace) -> None:
    rows = describe_divergences()
    columns = {"name": "name", "f": "f(u)", "activation": "g_f(v)", "conjugate": "f*(t)", "f_prime_one": "f'(1)"}
    widths = {key: max(len(title), *(len(row[key]) for row in rows)) for key, title in columns.items()}
    for row in [columns, *rows]:
        print("  ".join(row[key].ljust(widths[key]) for key in columns).rstrip())
    print(f"\nnames: {', '.join(list_divergences())}")


def _new_run_config(args: argparse.Namespace) -> RunConfig:
    return RunConfig(
        data=args.data,
        divergence=get_divergence(args.divergence).name,
        model=_from_args(ModelConfig(), args),
        train=_training_config(args, IMAGE_TRAINING if is_image_data(args.data) else SYNTHETIC_TRAINING),
        data_dir=args.data_dir,
        image_size=args.image_size,
        channels=args.channels,
        sample_every=args.sample_every,
        snapshots=args.snapshots,
        logger=args.logger,
    )


def _note(message: str) -> None:
    print(f"fgan: {message}", file=sys.stderr, flush=True)


def _resume(args: argparse.Namespace) -> Trainer:
    changed = sorted(args.given - RESUMABLE)
    if changed:
        raise UsageError(
            f"--resume continues {args.resume} with its saved config; it cannot change: {', '.join(changed)}"
        )
    return resume_run(
        args.resume,
        steps=args.steps if "steps" in args.given else None,
        quiet=args.quiet if "quiet" in args.given else None,
        device=args.device if "device" in args.given else None,
        notify=_note,
        logger=args.logger if "logger" in args.given else None,
    )


def cmd_train(args: argparse.Namespace) -> None:
    out = args.resume if args.resume is not None else args.out or _default_out("train")
    distributed.init_from_environment(args.device or "auto")
    main = distributed.is_main_process()
    finished = False
    try:
        if args.resume is not None:
            trainer = _resume(args)
        else:
            trainer = train_run(_new_run_config(args), out, args.force, args.download, notify=_note)
        finished = True
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; checkpoint saved in {out}; continue with: fgan train --resume {out}") from None
    except NonFiniteError as err:
        raise TrainingFailed(f"{err}; run folder {out}") from None
    finally:
        distributed.shutdown(wait=finished)
    if main:
        _print_train_summary(trainer, out)


def _print_train_summary(trainer: Trainer, out: Path) -> None:
    estimate = trainer.history.bound[-1] if trainer.history.bound else float("nan")
    skipped = f"; {trainer.skipped_steps} steps skipped (non-finite)" if trainer.skipped_steps else ""
    print(
        f"trained {trainer.step} steps of {trainer.divergence.name}; last bound F = {estimate:.4f}{skipped}; "
        f"run folder {out}"
    )


def cmd_sample(args: argparse.Namespace) -> None:
    if args.out is None:
        raise UsageError("sample needs --out FILE (.npy or .png)")
    suffix = args.out.suffix.lower()
    if suffix not in (".npy", ".png"):
        raise UsageError(f"output file must end in .npy or .png, got {args.out}")
    config, generator = load_run(args.run, args.device)
    samples = generate(generator, args.n, args.seed).cpu()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(args.out, samples.numpy())
    elif config.is_image:
        save_grid(samples, args.out)
    else:
        plot_samples(samples, args.out, title=f"{args.n} samples from {args.run}")
    print(f"wrote {args.n} samples to {args.out}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    config, generator = load_run(args.run, args.device)
    if not config.is_image:
        raise UsageError(f"{args.run} is a run on synthetic data; evaluate scores image runs")
    check_logger(config.logger)
    data = evaluation_data(
        config.data, config.image_size, args.data_dir or config.data_dir, args.validation, seed=args.seed
    )
    if data.note:
        _note(data.note)
    samples = generate(generator, args.n, args.seed).cpu()
    check_sample_shape(samples, data)
    result: dict[str, Any] = {"run": str(args.run), "data": config.data, "n_generated": args.n}
    metrics = METRICS if args.metric == "all" else (args.metric,)
    if "kde" in metrics:
        result["kde"] = parzen_score(samples, data).to_dict()
    if "features" in metrics:
        classifier, accuracy = feature_classifier(data)
        result["features"] = {**feature_scores(samples, data, classifier).to_dict(), "classifier_accuracy": accuracy}
    write_json(args.run / EVALUATION_FILE, result)
    if config.logger == "tensorboard":
        log_evaluation(args.run, result)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    if "kde" in result:
        kde = result["kde"]
        print(
            f"Parzen log-likelihood of the {config.data} test set ({kde['n_test']} images) under {args.n} samples: "
            f"{kde['mean']:.2f} ± {kde['stderr']:.2f} nats (σ = {kde['sigma']:.4f}, chosen on {args.validation} "
            "training images)"
        )
    if "features" in result:
        features = result["features"]
        print(
            f"feature metrics (classifier test accuracy {features['classifier_accuracy']:.4f}): "
            f"FID {features['fid']:.3f}, two-sample test accuracy {features['c2st_accuracy']:.3f}, "
            f"{features['classes_covered']} classes covered, class KL {features['class_kl']:.4f}"
        )


def cmd_report(args: argparse.Namespace) -> None:
    print(f"wrote {write_report(args.runs, args.out, args.title)}")


def cmd_bench(args: argparse.Namespace) -> None:
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out must be a folder, and {args.out} is a file")
    say = (lambda message: None) if args.json else _note
    setups = args.setups or list(benchmark.SETUPS)
    rows = benchmark.run_bench(setups, args.precision, args.device, args.steps, args.rounds, notify=say)
    if args.compile:
        rows += benchmark.run_bench(setups, args.precision, args.device, args.steps, args.rounds, True, say)
    sweep = (
        benchmark.batch_sweep("mnist-mlp", args.precision, args.sweep, args.device, notify=say) if args.sweep else []
    )
    machine = benchmark.machine_description()
    as_dicts = benchmark.rows_to_dicts
    write_json(args.out / "bench.json", {"machine": machine, "rows": as_dicts(rows), "sweep": as_dicts(sweep)})
    tables = f"Machine: {machine}\n\n{benchmark.format_rows(rows)}\n"
    if sweep:
        tables += f"\nms per step against the batch size (mnist-mlp):\n\n{benchmark.format_rows(sweep)}\n"
        benchmark.plot_sweep(sweep, args.out / "batch-sweep.png")
    atomic_write(args.out / "bench.md", lambda file: file.write(tables.encode()))
    if args.json:
        print(json.dumps(as_dicts(rows + sweep), indent=2))
        return
    print(tables)
    print(f"written: {args.out}/bench.json, bench.md" + (", batch-sweep.png" if sweep else ""))


def cmd_plot_conjugate(args: argparse.Namespace) -> None:
    divergence = get_divergence(args.divergence)
    path = plot_conjugate(divergence, args.out, lines=args.lines)
    gap = figure_gap(divergence)
    print(
        f"wrote {path}: f* of {divergence.name} and the envelope of {args.lines} lines; largest gap between the "
        f"numerical envelope and the closed form inside dom f*: {gap:.2e}"
    )


def cmd_estimate(args: argparse.Namespace) -> None:
    if args.p is None or args.q is None:
        raise UsageError("estimate needs --p FILE and --q FILE")
    if args.ratio_at is not None and args.ratio_out is None:
        raise UsageError("--ratio-at needs --ratio-out FILE")
    if args.ratio_out is not None and args.ratio_out.suffix.lower() not in (".npy", ".csv"):
        raise UsageError(f"{args.ratio_out}: output must be a .npy or .csv file")
    result = estimate_divergence(
        load_samples(args.p), load_samples(args.q), args.divergence, _from_args(EstimateConfig(), args)
    )
    if args.ratio_out is not None:
        points = load_samples(args.ratio_at or args.q)
        save_array(args.ratio_out, result.ratio(points))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return
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
    if args.ratio_out is not None:
        print(f"density ratios written to {args.ratio_out}")


def cmd_reproduce(args: argparse.Namespace) -> None:
    """``fgan reproduce NAME``: the experiment's options from the command line, its run, and its table (or JSON)."""
    experiment = EXPERIMENTS[args.experiment]
    options = _experiment_options(experiment.Options(), args)
    say = None if args.json or getattr(args, "quiet", False) else _note
    result = experiment.run(options, getattr(args, "out", None), say)
    print(json.dumps(experiment.to_json(result), indent=2) if args.json else experiment.format(result))


def _experiment_options(defaults: Any, args: argparse.Namespace) -> Any:
    """``defaults`` (an experiment's Options) with what the command line gave: each option under its flag's name,
    a nested TrainConfig as :func:`_training_config` reads it, another nested config field by field."""
    values: dict[str, Any] = {}
    for f in fields(defaults):
        nested = getattr(defaults, f.name)
        if isinstance(nested, TrainConfig):
            values[f.name] = _training_config(args, nested)
        elif is_dataclass(nested):
            values[f.name] = _from_args(nested, args)
    for f, spec in option_fields(type(defaults)):
        given = getattr(args, (spec.flag or f.name).replace("-", "_"), None)
        if given is not None:
            values[f.name] = tuple(given) if isinstance(given, list) else given
    return replace(defaults, **values)


COMMANDS = {
    "divergences": cmd_divergences,
    "train": cmd_train,
    "sample": cmd_sample,
    "estimate": cmd_estimate,
    **{("reproduce", name): cmd_reproduce for name in EXPERIMENTS},
    ("plot", "conjugate"): cmd_plot_conjugate,
    "evaluate": cmd_evaluate,
    "report": cmd_report,
    "bench": cmd_bench,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, 1 when training fails, 2 for bad input, 130 on Ctrl-C)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        subcommand = {"reproduce": "experiment", "plot": "figure"}.get(args.command)
        key = (args.command, getattr(args, subcommand)) if subcommand else args.command
        args.given = _explicit_options(argv)
        if args.config is not None:
            from_file = read_config_file(args.config, parser.command_parsers[key])
            for dest, value in from_file.items():
                if dest not in args.given:
                    setattr(args, dest, value)
            args.given |= set(from_file)
        COMMANDS[key](args)
    except (UsageError, ValueError) as err:
        print(f"fgan: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingFailed as err:
        print(f"fgan: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except (Interrupted, KeyboardInterrupt) as err:
        print(f"fgan: {str(err) or 'interrupted'}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
