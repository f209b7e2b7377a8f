"""How a command ends other than in success or bad input; :func:`fgan.cli.main` maps each to its exit code.

Imported by the error boundary before any command module, so it imports nothing heavy.
"""


class Interrupted(Exception):
    """Ctrl-C, after the run saved a checkpoint (exit code 130)."""


class TrainingFailed(Exception):
    """Training stopped on a non-finite loss or gradient (exit code 1)."""
