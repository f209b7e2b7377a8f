"""``fgan reproduce NAME``: one generic command over the experiments of :data:`fgan.experiments.EXPERIMENTS`.

Each experiment's options come from its ``Options`` dataclass: its own option fields, and each nested config (a
``TrainConfig`` with ``--lr``, an ``EstimateConfig`` as "critic training") as a group of its own.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from fgan.cli.arguments import Commands
from fgan.cli.common import config_from, note, print_json, training_config, training_groups
from fgan.cli.outcomes import TrainingFailed
from fgan.experiments import EXPERIMENTS
from fgan.experiments.protocol import Experiment
from fgan.options import option
from fgan.step import NonFiniteError
from fgan.training import TrainConfig


@dataclass
class Printing:
    """What the command prints."""

    json: bool = option(False, help="print the rows as JSON")


@dataclass
class Folder:
    """Where an experiment that writes files writes them."""

    out: Path | None = option(None, help="output folder; None: a new folder under runs/")


def _groups(experiment: Experiment[Any, Any]) -> list[tuple[str, Any]]:
    """The option groups of ``experiment``: its own options, then one group per nested config."""
    defaults = experiment.Options()
    groups: list[tuple[str, Any]] = [("", defaults), ("", Printing())]
    if experiment.writes_folder:
        groups.append(("", Folder()))
    for f in fields(defaults):
        nested = getattr(defaults, f.name)
        if isinstance(nested, TrainConfig):
            groups += training_groups(nested)
        elif is_dataclass(nested):
            groups.append(("critic training", nested))
    return groups


def register(commands: Commands) -> None:
    experiments = commands.nest("reproduce", "experiment", help="reproduce an experiment of the paper")
    for name, experiment in EXPERIMENTS.items():
        experiments.add(name, cmd_reproduce, _groups(experiment), help=experiment.summary)


def experiment_options(defaults: Any, args: argparse.Namespace) -> Any:
    """``defaults`` (an experiment's Options) with what the user gave, nested configs included."""
    nested: dict[str, Any] = {}
    for f in fields(defaults):
        value = getattr(defaults, f.name)
        if isinstance(value, TrainConfig):
            nested[f.name] = training_config(args, value)
        elif is_dataclass(value) and not isinstance(value, type):  # a field holds an instance, not a class
            nested[f.name] = config_from(args, value)
    return replace(config_from(args, defaults), **nested)


def cmd_reproduce(args: argparse.Namespace) -> None:
    """Run the experiment; progress lines on stderr unless ``--json`` or ``--quiet`` was given."""
    experiment = EXPERIMENTS[args.experiment]
    options = experiment_options(experiment.Options(), args)
    silent = args.json or ("quiet" in args.given and args.quiet)
    try:
        result = experiment.run(options, getattr(args, "out", None), None if silent else note)
    except NonFiniteError as err:
        raise TrainingFailed(str(err)) from None
    if args.json:
        print_json(experiment.to_json(result))
    else:
        print(experiment.format(result))
