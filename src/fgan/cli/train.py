"""``fgan train``: a run on synthetic data or images, or ``--resume`` of one."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fgan import distributed
from fgan.cli.arguments import Commands
from fgan.cli.common import (
    config_from,
    divergence_names,
    note,
    training_config,
    training_groups,
)
from fgan.cli.outcomes import Interrupted, TrainingFailed
from fgan.datasets import IMAGE_DATA, VECTOR_DATA, is_image_data
from fgan.errors import UsageError
from fgan.models import LocationScaleGenerator
from fgan.options import option
from fgan.profiles import describe_profile, profile
from fgan.report import FINAL_ESTIMATE_NAME, final_estimate
from fgan.runner import ModelConfig, RunConfig, resume_run, train_run
from fgan.runs import checkpoint_files, default_out
from fgan.step import NonFiniteError
from fgan.training import Trainer


@dataclass
class TrainCommand:
    """The options of ``fgan train`` that are not part of the run's config."""

    out: Path | None = option(None, help="run folder; None: a new folder under runs/")
    force: bool = option(False, help="overwrite a run folder that holds a run")
    resume: Path | None = option(
        None,
        help="continue the run in folder RUN from its newest checkpoint, with its saved config",
        metavar="RUN",
        resumable=True,
    )
    download: bool = option(False, help="fetch mnist or fashion-mnist when not found", applies_to="image")
    warm_restart: bool = option(
        False,
        help="with --resume and a linear schedule: restart the decay from the full step sizes to 0 at the new "
        "--steps (without it the schedule keeps its end and the step sizes stay 0 after it)",
        resumable=True,
    )


def _epilog() -> str:
    return (
        f"The training defaults depend on the data. Vector data ({', '.join(VECTOR_DATA)}) trains with the "
        f"'synthetic' profile, whose values the defaults above show: {describe_profile('synthetic')}. Image data "
        f"({', '.join(IMAGE_DATA)}) trains with the 'image' profile: {describe_profile('image')}. A flag or a "
        "--config file overrides either."
    )


def register(commands: Commands) -> None:
    commands.add(
        "train",
        cmd_train,
        [
            ("run", TrainCommand()),
            ("run", RunConfig()),
            ("models", ModelConfig()),
            *training_groups(profile("synthetic")),
        ],
        help="train a generator on synthetic data or images",
        epilog=_epilog(),
    )


def _new_run_config(args: argparse.Namespace) -> RunConfig:
    if args.warm_restart:
        raise UsageError("--warm-restart restarts the schedule of a resumed run: it needs --resume RUN")
    config = config_from(args, RunConfig())
    _refuse_inapplicable(args, config)
    config.divergence = divergence_names([config.divergence])[0]
    config.model = config_from(args, ModelConfig())
    config.train = training_config(args, profile("image" if is_image_data(config.data) else "synthetic"))
    return config


def _refuse_inapplicable(args: argparse.Namespace, config: RunConfig) -> None:
    """Options given for another kind of data than ``config.data``'s are refused, naming them."""
    options = args.fgan_command.options
    wrong = sorted(
        options[dest].flag for dest in args.given if options[dest].spec.applies_to not in (None, config.data_kind)
    )
    if wrong:
        other = "synthetic" if config.is_image else "image"
        raise UsageError(
            f"{', '.join(wrong)} {'apply' if len(wrong) > 1 else 'applies'} to {other} data only, and "
            f"{config.data} is {config.data_kind} data"
        )


def _resume(args: argparse.Namespace) -> Trainer:
    resumable = args.fgan_command.resumable
    changed = sorted(args.given - resumable)
    if changed:
        raise UsageError(
            f"--resume continues {args.resume} with its saved config; it cannot change: {', '.join(changed)}"
        )
    changes = {name: getattr(args, name) for name in args.given & resumable - {"resume"}}
    return resume_run(args.resume, notify=note, **changes)


def cmd_train(args: argparse.Namespace) -> None:
    out = args.resume if args.resume is not None else args.out or default_out("train")
    distributed.init_from_environment(args.device or "auto")
    main = distributed.is_main_process()
    finished = False
    try:
        if args.resume is not None:
            trainer = _resume(args)
        else:
            trainer = train_run(_new_run_config(args), out, args.force, args.download, notify=note)
        finished = True
    except KeyboardInterrupt:
        raise Interrupted(_interrupted_message(out)) from None
    except NonFiniteError as err:
        raise TrainingFailed(f"{err}; run folder {out}") from None
    finally:
        distributed.shutdown(wait=finished)
    if main:
        _print_train_summary(trainer, out)


def _interrupted_message(out: Path) -> str:
    """What Ctrl-C left: the newest checkpoint in ``out`` and how to continue, or that there is none (Ctrl-C while
    the data loaded, say), in which case the same command starts the run afresh."""
    saved = checkpoint_files(out)
    if not saved:
        return (
            f"interrupted before the first checkpoint: {out} holds no finished work, and the same command starts "
            "the run afresh (no --force needed)"
        )
    return f"interrupted; checkpoint saved in {out} (step {saved[-1][0]}); continue with: fgan train --resume {out}"


def _print_train_summary(trainer: Trainer, out: Path) -> None:
    """One line: the steps, the final F as ``fgan report`` gives it, μ̂ and σ̂ of a location-scale fit, the folder."""
    estimate = final_estimate(np.asarray(trainer.history.bound, dtype=float))
    shown = "nan" if estimate is None else f"{estimate:.4f}"
    skipped = f"; {trainer.skipped_steps} steps skipped (non-finite)" if trainer.skipped_steps else ""
    print(
        f"trained {trainer.step} steps of {trainer.divergence.name}; {FINAL_ESTIMATE_NAME} = {shown}"
        f"{_fit_summary(trainer.evaluation_generator)}{skipped}; run folder {out}"
    )


def _fit_summary(generator: torch.nn.Module) -> str:
    """``"; μ̂ = m, σ̂ = s"`` for a location-scale generator Q_θ = N(μ̂, σ̂² I) (a list per coordinate beyond 1-D),
    else ``""``."""
    if not isinstance(generator, LocationScaleGenerator):
        return ""
    mu, sigma = generator.mu.detach().cpu().tolist(), generator.sigma.detach().cpu().tolist()
    if len(mu) == 1:
        return f"; μ̂ = {mu[0]:.6f}, σ̂ = {sigma[0]:.6f}"
    return f"; μ̂ = [{', '.join(f'{m:.6f}' for m in mu)}], σ̂ = [{', '.join(f'{s:.6f}' for s in sigma)}]"
