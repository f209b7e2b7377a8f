"""The ``fgan`` command line: a thin layer over the Python API, one module per command.

Each command module (:mod:`~fgan.cli.train`, :mod:`~fgan.cli.sample`, ...) registers its own parser; the options
are generated from the config dataclasses' option fields by :mod:`fgan.cli.arguments`, and :mod:`fgan.cli.app`
holds the one error boundary (bad input: one line, exit code 2; a bug: a traceback, exit code 1).
"""

from fgan.cli.app import build, build_parser, main

__all__ = ["build", "build_parser", "main"]
