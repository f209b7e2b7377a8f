"""``fgan divergences``: the table of divergences."""

from __future__ import annotations

import argparse

from fgan.cli.arguments import Commands
from fgan.divergences import describe_divergences, list_divergences


def register(commands: Commands) -> None:
    commands.add("divergences", cmd_divergences, help="print the table of divergences")


def cmd_divergences(args: argparse.Namespace) -> None:
    rows = describe_divergences()
    columns = {"name": "name", "f": "f(u)", "activation": "g_f(v)", "conjugate": "f*(t)", "f_prime_one": "f'(1)"}
    widths = {key: max(len(title), *(len(row[key]) for row in rows)) for key, title in columns.items()}
    for row in [columns, *rows]:
        print("  ".join(row[key].ljust(widths[key]) for key in columns).rstrip())
    print(f"\nnames: {', '.join(list_divergences())}")
