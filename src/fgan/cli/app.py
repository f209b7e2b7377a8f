"""The ``fgan`` program: the parser of every command, and the one error boundary.

Bad input (a :class:`~fgan.errors.UsageError`, argparse's errors included) is one line on stderr and exit code 2;
a training run that stops on a non-finite loss is one line and exit code 1; Ctrl-C is exit code 130. Any other
exception is a bug in fgan: its traceback, a line asking to report it, and exit code 1.
"""

from __future__ import annotations

import sys
import traceback

from fgan import __version__
from fgan.cli import bench, divergences, estimate, evaluate, plot, report, reproduce, sample, train
from fgan.cli.arguments import Command, Commands, Parser
from fgan.cli.common import Interrupted, TrainingFailed
from fgan.errors import UsageError

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
#: The command modules, in the order ``fgan --help`` lists them.
COMMAND_MODULES = (divergences, train, sample, estimate, evaluate, report, bench, plot, reproduce)
REPORT_BUG = "fgan: this is a bug in fgan, not in your input; please report it with the traceback above"


def build() -> tuple[Parser, dict[str, Command]]:
    """The parser of ``fgan`` and its commands by name (``"train"``, ``"reproduce mnist"``, ...)."""
    parser = Parser(
        prog="fgan",
        description="Train generative neural samplers by variational f-divergence "
        "minimisation (f-GAN, Nowozin, Cseke and Tomioka 2016).",
    )
    parser.add_argument("--version", action="version", version=f"fgan {__version__}")
    commands = Commands(parser, "command")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser, commands.registered


def build_parser() -> Parser:
    """The parser of ``fgan`` (every command's options, generated from the config dataclasses)."""
    return build()[0]


def _run(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    command: Command = args.fgan_command
    command.complete(args)
    command.handler(args)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, 1 when training fails or on a bug, 2 for bad input, 130 on
    Ctrl-C)."""
    try:
        _run(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        print(f"fgan: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingFailed as err:
        print(f"fgan: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except (Interrupted, KeyboardInterrupt) as err:
        print(f"fgan: {str(err) or 'interrupted'}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        print(REPORT_BUG, file=sys.stderr)
        return EXIT_FAILED
    return 0
