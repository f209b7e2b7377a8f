"""What several commands share: remarks on stderr, default output folders, configs from the parsed options."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from fgan.divergences import get_divergence
from fgan.memory import check_fits
from fgan.options import option, option_fields
from fgan.training import TrainConfig

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Config = TypeVar("Config", bound="DataclassInstance")


@dataclass
class BothRates:
    """``--lr``: a command-line shorthand that sets both learning rates of :class:`~fgan.training.TrainConfig`."""

    lr: float | None = option(None, help="learning rate of both networks", low=0, low_open=True)


def note(message: str) -> None:
    """A remark for the user, on stderr."""
    print(f"fgan: {message}", file=sys.stderr, flush=True)


def json_safe(value: Any) -> Any:
    """``value`` (dicts, lists, tuples, numbers, strings) with every non-finite float replaced by None: JSON has no
    NaN or Infinity."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as valid JSON, indented: non-finite numbers as null (:func:`json_safe`)."""
    print(json.dumps(json_safe(value), indent=2, allow_nan=False))


def check_sample_count(n: int, data_shape: Iterable[int] | None) -> None:
    """Refuse (UsageError) ``--n`` samples of ``data_shape`` that cannot fit in memory: each sample is generated
    in float32 and copied once into the result (8 bytes a value)."""
    values = math.prod(data_shape or [1])
    check_fits(8 * n * values, f"--n {n}: samples of {values:,} values")


def divergence_names(names: Iterable[str]) -> list[str]:
    """The canonical names of the divergences the user named (an unknown or malformed one is a UsageError)."""
    return [get_divergence(name).name for name in names]


def config_from(args: argparse.Namespace, defaults: Config) -> Config:
    """``defaults`` (a config dataclass instance) with the options the user gave (flags or config file)."""
    given = {f.name: getattr(args, f.name) for f, _ in option_fields(type(defaults)) if f.name in args.given}
    return replace(defaults, **given)


def training_config(args: argparse.Namespace, defaults: TrainConfig) -> TrainConfig:
    """``defaults`` with the training options the user gave; ``--lr`` sets both learning rates."""
    config = config_from(args, defaults)
    if args.lr is not None:
        config = replace(config, lr_generator=args.lr, lr_critic=args.lr)
    return config


def training_groups(defaults: TrainConfig) -> list[tuple[str, Any]]:
    """The option groups of a command that trains with ``defaults``: every TrainConfig option and ``--lr``."""
    return [("training", defaults), ("training", BothRates())]
