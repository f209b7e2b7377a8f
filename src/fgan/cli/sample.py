"""``fgan sample``: samples from a trained run, as an array or a picture."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fgan.cli.arguments import Commands
from fgan.cli.common import check_sample_count, note
from fgan.errors import UsageError
from fgan.file_access import file_access, make_folder
from fgan.options import option
from fgan.plotting import plot_samples
from fgan.runner import generate, load_run, save_grid
from fgan.training import DEVICES


@dataclass
class SampleOptions:
    """The options of ``fgan sample``."""

    n: int = option(1000, help="number of samples", low=1)
    out: Path | None = option(None, help="output file: .npy (array) or .png (a plot, or a grid for images); required")
    seed: int | None = option(None, help="random seed of the draw; None: a fresh one")
    device: str = option("cpu", help="device to generate on (auto picks cuda, then mps, then cpu)", choices=DEVICES)


def register(commands: Commands) -> None:
    command = commands.add("sample", cmd_sample, [("", SampleOptions())], help="draw samples from a trained run")
    command.parser.add_argument("run", type=Path, help="run folder")


def cmd_sample(args: argparse.Namespace) -> None:
    if args.out is None:
        raise UsageError("sample needs --out FILE (.npy or .png)")
    suffix = args.out.suffix.lower()
    if suffix not in (".npy", ".png"):
        raise UsageError(f"output file must end in .npy or .png, got {args.out}")
    make_folder(args.out.parent)  # a folder that cannot take the file is refused before the generator loads
    config, generator = load_run(args.run, args.device, notify=note)
    check_sample_count(args.n, config.data_shape)
    samples = generate(generator, args.n, args.seed).cpu()
    with file_access(args.out):
        if suffix == ".npy":
            np.save(args.out, samples.numpy())
        elif config.is_image:
            save_grid(samples, args.out)
        else:
            plot_samples(samples, args.out, title=f"{args.n} samples from {args.run}")
    print(f"wrote {args.n} samples to {args.out}")
