"""The ``fgan`` program: the parser of every command, and the one error boundary.

Bad input (a :class:`~fgan.errors.UsageError`, argparse's errors included) is one line on stderr and exit code 2,
and so is a file-system error of the user's environment that names its path (permission denied, a read-only or
full file system, a missing folder, a symbolic-link loop: see :func:`fgan.file_access.environment_error_message`);
a training run that stops on a non-finite loss is one line and exit code 1; Ctrl-C is exit code 130, and a second
Ctrl-C while the program ends changes nothing. Any other exception is a bug in fgan: its traceback, a line asking
to report it, and exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
import traceback
import warnings
from types import ModuleType

from fgan import __version__
from fgan.cli.arguments import Command, Commands, Parser
from fgan.cli.outcomes import Interrupted, TrainingFailed
from fgan.errors import UsageError
from fgan.file_access import environment_error_message

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
#: Every command: its module under fgan.cli and its one-line summary, in the order ``fgan --help`` lists them. The
#: table is static so that ``fgan --help`` and a misspelt command import no command module (and so no torch);
#: tests/test_cli_startup.py checks it against what each module registers.
COMMANDS = {
    "divergences": "print the table of divergences",
    "train": "train a generator on synthetic data or images",
    "sample": "draw samples from a trained run",
    "estimate": "estimate an f-divergence between two sample sets",
    "evaluate": "score an image run: Parzen log-likelihood, feature metrics",
    "report": "one self-contained HTML report of a run, or a comparison of several",
    "bench": "ms per training step against the conventional two-pass update, measured in one process",
    "plot": "draw the pictures that explain f-GAN",
    "reproduce": "reproduce an experiment of the paper",
}
DESCRIPTION = (
    "Train generative neural samplers by variational f-divergence minimisation (f-GAN, Nowozin, Cseke and "
    "Tomioka 2016)."
)
REPORT_BUG = "fgan: this is a bug in fgan, not in your input; please report it with the traceback above"


def command_module(name: str) -> ModuleType:
    """The module of command ``name`` (``fgan.cli.train`` for ``train``), imported now."""
    return importlib.import_module(f"fgan.cli.{name}")


def build(names: list[str] | None = None) -> tuple[Parser, dict[str, Command]]:
    """The parser of ``fgan`` with the commands ``names`` (None: all), and those commands by name (``"train"``,
    ``"reproduce mnist"``, ...); only their modules are imported."""
    parser = Parser(prog="fgan", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"fgan {__version__}")
    commands = Commands(parser, "command")
    for name in COMMANDS if names is None else names:
        command_module(name).register(commands)
    return parser, commands.registered


def build_parser() -> Parser:
    """The parser of ``fgan`` (every command's options, generated from the config dataclasses)."""
    return build()[0]


def front_parser() -> Parser:
    """The parser of ``fgan COMMAND ...`` up to the command's name: ``--help`` lists the commands from
    :data:`COMMANDS`, ``--version``, and a missing or unknown command is an error, all without a command module."""
    listing = "\n".join(f"  {name:<13} {summary}" for name, summary in COMMANDS.items())
    parser = Parser(
        prog="fgan",
        description=DESCRIPTION,
        epilog=f"commands:\n{listing}\n\n`fgan COMMAND --help` shows the options of a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fgan {__version__}")
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND", help="one of the commands below")
    return parser


def _run(argv: list[str]) -> None:
    name = front_parser().parse_args(argv[:1]).command
    args = build([name])[0].parse_args(argv)
    command: Command = args.fgan_command
    command.complete(args)
    command.handler(args)


def escaped(text: object) -> str:
    """``text`` on one line: newlines, tabs and other control characters as Python escapes (a file named
    ``a``, a newline, ``b.png`` is shown as ``a\\nb.png``)."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in str(text))


def _show_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    """A library's warning as one line on stderr, ``fgan: warning: CATEGORY: MESSAGE``."""
    print(f"fgan: warning: {category.__name__}: {escaped(' '.join(str(message).split()))}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, 1 when training fails or on a bug, 2 for bad input, 130 on
    Ctrl-C). Called as the program (``argv`` None), it ignores Ctrl-C once the first has stopped the command, so
    that a second one while it ends cannot turn exit code 130 into death by a signal. Warnings of the libraries are
    shown as one line each."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            _run(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        print(f"fgan: error: {escaped(err)}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingFailed as err:
        print(f"fgan: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except (Interrupted, KeyboardInterrupt) as err:
        if argv is None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"fgan: {str(err) or 'interrupted'}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as err:
        message = environment_error_message(err)
        if message is None:
            return _report_bug()
        print(f"fgan: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except Exception:
        return _report_bug()
    return 0


def _report_bug() -> int:
    """Print the traceback of the exception being handled and the line asking to report it; the exit code."""
    traceback.print_exc()
    print(REPORT_BUG, file=sys.stderr)
    return EXIT_FAILED
