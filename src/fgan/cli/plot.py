"""``fgan plot``: the pictures that explain f-GAN (``fgan plot conjugate``)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from fgan.cli.arguments import Commands
from fgan.conjugate_plot import figure_gap, plot_conjugate
from fgan.divergences import get_divergence
from fgan.options import option


@dataclass
class ConjugateOptions:
    """The options of ``fgan plot conjugate``."""

    divergence: str = option("kl", help="divergence name (see `fgan divergences`)")
    out: Path = option(Path("conjugate.png"), help="output file: .png or .svg")
    lines: int = option(25, help="number of lines (slopes u) drawn", low=1, high=1000)


def register(commands: Commands) -> None:
    figures = commands.nest("plot", "figure", help="draw the pictures that explain f-GAN")
    figures.add(
        "conjugate",
        cmd_plot_conjugate,
        [("", ConjugateOptions())],
        help="f* as the upper envelope of the lines t -> u t - f(u), with dom f* and g_f",
    )


def cmd_plot_conjugate(args: argparse.Namespace) -> None:
    divergence = get_divergence(args.divergence)
    path = plot_conjugate(divergence, args.out, lines=args.lines)
    gap = figure_gap(divergence)
    print(
        f"wrote {path}: f* of {divergence.name} and the envelope of {args.lines} lines; largest gap between the "
        f"numerical envelope and the closed form inside dom f*: {gap:.2e}"
    )
