"""``fgan report``: one self-contained HTML page of a run, or a comparison of several."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from fgan.cli.arguments import Commands
from fgan.options import option
from fgan.report import EVALUATION_FILE, write_report


@dataclass
class ReportOptions:
    """The options of ``fgan report``."""

    out: Path | None = option(
        None, help="output .html file; None: RUN/report.html for one run, report.html for several"
    )
    title: str | None = option(None, help="title of the page; None: one made of the run names")


def register(commands: Commands) -> None:
    command = commands.add(
        "report",
        cmd_report,
        [("", ReportOptions())],
        help="one self-contained HTML report of a run, or a comparison of several",
        description="Write one HTML file that opens with no network: training curves, samples over time, the "
        f"metrics of `fgan evaluate` ({EVALUATION_FILE}) and the config; with several runs, a comparison first.",
    )
    command.parser.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders")


def cmd_report(args: argparse.Namespace) -> None:
    print(f"wrote {write_report(args.runs, args.out, args.title)}")
