"""``fgan divergences``: the divergences, as records that fit 100 columns or (``--wide``) as one table."""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass

from fgan.cli.arguments import Commands
from fgan.divergences import describe_divergences, list_divergences
from fgan.options import option

#: The width the default layout fits.
WIDTH = 100
COLUMNS = {"name": "name", "f": "f(u)", "activation": "g_f(v)", "conjugate": "f*(t)", "f_prime_one": "f'(1)"}


@dataclass
class DivergencesOptions:
    """The options of ``fgan divergences``."""

    wide: bool = option(
        False, help=f"one table row per divergence (about 200 columns) instead of {WIDTH}-column records"
    )


def register(commands: Commands) -> None:
    commands.add("divergences", cmd_divergences, [("", DivergencesOptions())], help="print the table of divergences")


def cmd_divergences(args: argparse.Namespace) -> None:
    rows = describe_divergences()
    print("\n".join(_table(rows) if args.wide else _records(rows)))
    print()
    print(textwrap.fill(f"names: {', '.join(list_divergences())}", WIDTH, subsequent_indent="       "))


def _table(rows: list[dict[str, str]]) -> list[str]:
    """A header and one row per divergence, each column as wide as its widest cell."""
    widths = {key: max(len(title), *(len(row[key]) for row in rows)) for key, title in COLUMNS.items()}
    return ["  ".join(row[key].ljust(widths[key]) for key in COLUMNS).rstrip() for row in [COLUMNS, *rows]]


def _records(rows: list[dict[str, str]]) -> list[str]:
    """Per divergence: its name, f(u) and f'(1) on the first line, g_f(v) and f*(t) below, wrapped to WIDTH."""
    indent = " " * (max(len(row["name"]) for row in rows) + 2)
    lines = []
    for row in rows:
        first = f"{row['name'].ljust(len(indent))}f(u) = {row['f']};  f'(1) = {row['f_prime_one']}"
        for text, start in (
            (first, ""),
            (f"g_f(v) = {row['activation']}", indent),
            (f"f*(t) = {row['conjugate']}", indent),
        ):
            lines.append(textwrap.fill(text, WIDTH, initial_indent=start, subsequent_indent=indent + "    "))
    return lines
