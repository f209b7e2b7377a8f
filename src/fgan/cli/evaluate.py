"""``fgan evaluate``: the Parzen log-likelihood and feature metrics of an image run."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgan.cli.arguments import Commands
from fgan.cli.common import check_sample_count, note, print_json
from fgan.errors import UsageError
from fgan.evaluation import (
    METRICS,
    N_VALIDATION,
    PROTOCOLS,
    evaluation_data,
    feature_classifier,
    feature_scores,
    parzen_score,
)
from fgan.evaluation import check_shape as check_sample_shape
from fgan.loggers import check_logger, log_evaluation
from fgan.options import option
from fgan.report import EVALUATION_FILE
from fgan.runner import generate, load_run
from fgan.runs import write_json
from fgan.training import DEVICES


@dataclass
class EvaluateOptions:
    """The options of ``fgan evaluate``."""

    metric: str = option(
        "kde",
        help="kde: Parzen-window log-likelihood of the test set; features: Fréchet distance, two-sample test "
        "accuracy and class balance in the feature space of fgan's own classifier",
        choices=(*METRICS, "all"),
    )
    protocol: str = option(
        "paper",
        help="Parzen protocol: paper (16,384 samples, σ by 3-fold cross-validation on them) or goodfellow (10,000 "
        "samples, σ of ten in [0.1, 1] chosen on --validation training images)",
        choices=tuple(PROTOCOLS),
    )
    n: int | None = option(None, help="generated samples (None: the protocol's own, 16,384 or 10,000)", low=1)
    validation: int = option(
        N_VALIDATION, help="training images to choose the bandwidth on (the goodfellow protocol)", low=1
    )
    data_dir: str | None = option(
        None, help="folder with the IDX files of mnist or fashion-mnist (else $FGAN_DATA_DIR, then the usual places)"
    )
    seed: int = option(0, help="seed of the samples and the validation split")
    step: int | None = option(None, help="score the run's kept checkpoint of this step (None: the newest)", low=0)
    raw_generator: bool = option(
        False, help="score the generator's own weights, not their average (a run with the ema stabiliser)"
    )
    device: str = option("cpu", help="device to generate on (auto picks cuda, then mps, then cpu)", choices=DEVICES)
    json: bool = option(False, help="print the result as JSON")


def register(commands: Commands) -> None:
    command = commands.add(
        "evaluate",
        cmd_evaluate,
        [("", EvaluateOptions())],
        help="score an image run: Parzen log-likelihood, feature metrics",
        description=f"Score an image run. The result is also saved as RUN/{EVALUATION_FILE} (replacing an earlier "
        "one), which `fgan report` shows in its metrics table; a run trained with --logger tensorboard also gets "
        "its numbers in RUN/tensorboard (eval/...).",
    )
    command.parser.add_argument("run", type=Path, help="run folder")


def cmd_evaluate(args: argparse.Namespace) -> None:
    config, generator = load_run(args.run, args.device, step=args.step, raw=args.raw_generator)
    if not config.is_image:
        raise UsageError(f"{args.run} is a run on synthetic data; evaluate scores image runs")
    n_generated = args.n or PROTOCOLS[args.protocol].n_samples
    check_sample_count(n_generated, config.data_shape)
    check_logger(config.logger)
    data = evaluation_data(
        config.data, config.image_size, args.data_dir or config.data_dir, args.validation, seed=args.seed
    )
    if data.note:
        note(data.note)
    samples = generate(generator, n_generated, args.seed).cpu()
    check_sample_shape(samples, data)
    result: dict[str, Any] = {"run": str(args.run), "data": config.data, "n_generated": n_generated}
    result |= {"step": args.step, "raw_generator": args.raw_generator}
    metrics = METRICS if args.metric == "all" else (args.metric,)
    if "kde" in metrics:
        result["kde"] = {"protocol": args.protocol, **parzen_score(samples, data, args.protocol).to_dict()}
    if "features" in metrics:
        classifier, accuracy = feature_classifier(data)
        result["features"] = {**feature_scores(samples, data, classifier).to_dict(), "classifier_accuracy": accuracy}
    write_json(args.run / EVALUATION_FILE, result)
    if config.logger == "tensorboard":
        log_evaluation(args.run, result)
    if args.json:
        print_json(result)
        return
    _print_scores(result, config.data, args)


def _print_scores(result: dict[str, Any], data: str, args: argparse.Namespace) -> None:
    if "kde" in result:
        kde = result["kde"]
        chosen = (
            f"chosen on {args.validation} training images" if kde["selection"] == "validation" else kde["selection"]
        )
        print(
            f"Parzen log-likelihood of the {data} test set ({kde['n_test']} images) under {kde['n_samples']} samples "
            f"({kde['protocol']} protocol): {kde['mean']:.2f} ± {kde['stderr']:.2f} nats (σ = {kde['sigma']:.4f}, "
            f"{chosen})"
        )
    if "features" in result:
        features = result["features"]
        print(
            f"feature metrics (classifier test accuracy {features['classifier_accuracy']:.4f}): "
            f"FID {features['fid']:.3f}, two-sample test accuracy {features['c2st_accuracy']:.3f}, "
            f"{features['classes_covered']} classes covered, class KL {features['class_kl']:.4f}"
        )
