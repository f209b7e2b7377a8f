"""Experiment loggers: a run's metrics and sample grids as TensorBoard events (``fgan train --logger tensorboard``).

TensorBoard is an optional extra (``pip install 'fgan[tensorboard]'``); events are written by torch's own
:class:`torch.utils.tensorboard.SummaryWriter` into ``RUN/tensorboard/``, so ``tensorboard --logdir runs/`` shows
every run under ``runs/`` side by side. :class:`TensorBoardLogger` writes, for every training step,

* ``divergence/bound``: the variational bound F, the running divergence estimate;
* ``loss/critic``, ``loss/generator``, ``grad_norm/critic``, ``grad_norm/generator`` (non-finite values left out,
  as metrics.jsonl writes them null);
* ``lr/critic``, ``lr/generator``: the step sizes the step was taken with;

plus the image runs' sample grids (``samples``) and, after ``fgan evaluate``, its numbers (``eval/...``, at the
step of the checkpoint evaluated). A resumed run appends to the same folder; the steps an interrupted session logged
after its last checkpoint, which the resumed run trains again, are hidden by a purge marker, so that every step is
shown once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import Tensor

from fgan.errors import UsageError
from fgan.grids import make_grid
from fgan.report import flatten
from fgan.runs import CHECKPOINT_DIR

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from fgan.training import Trainer

#: The ``--logger`` choices.
LOGGERS = ("none", "tensorboard")
#: The folder of the TensorBoard event files inside a run folder.
TENSORBOARD_DIR = "tensorboard"
MISSING_EXTRA = "the tensorboard logger needs the extra: pip install 'fgan[tensorboard]'"
#: TensorBoard tag of each per-step quantity of :class:`fgan.training.StepMetrics`.
SCALAR_TAGS = {
    "bound": "divergence/bound",
    "critic_loss": "loss/critic",
    "generator_loss": "loss/generator",
    "critic_grad_norm": "grad_norm/critic",
    "generator_grad_norm": "grad_norm/generator",
}
_EVENT_FILE_PREFIX = "events.out.tfevents."


def check_logger(name: str) -> None:
    """Raise a one-line UsageError for an unknown logger name, or for ``tensorboard`` without its extra."""
    if name not in LOGGERS:
        raise UsageError(f"unknown logger {name!r}; valid: {', '.join(LOGGERS)}")
    if name == "tensorboard":
        _summary_writer_class()


def _summary_writer_class() -> type[SummaryWriter]:
    """torch's SummaryWriter, imported on first use (it needs the ``tensorboard`` package)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UsageError(MISSING_EXTRA) from None
    return SummaryWriter


def _open_writer(log_dir: Path, purge_step: int | None = None) -> SummaryWriter:
    """A SummaryWriter on a new event file in ``log_dir``; with ``purge_step``, TensorBoard hides the events of
    steps >= ``purge_step`` in the folder's older files.

    TensorBoard reads a folder's event files in name order, and a name starts with the second it was made in, so
    this waits (under a second, only when a file was made in this very second) until the new name sorts last.
    """
    writer_class = _summary_writer_class()
    stamps = [path.name[len(_EVENT_FILE_PREFIX) :].split(".")[0] for path in log_dir.glob(f"{_EVENT_FILE_PREFIX}*")]
    newest = max((int(stamp) for stamp in stamps if stamp.isdigit()), default=None)
    if newest is not None and time.time() < newest + 1:
        time.sleep(newest + 1 - time.time())
    return writer_class(str(log_dir), purge_step=purge_step)


class TensorBoardLogger:
    """Logs a :class:`~fgan.training.Trainer` to TensorBoard event files in ``log_dir``.

    Every ``trainer.config.log_every`` steps (a trainer callback, run after the trainer has moved the metrics of
    those steps into ``trainer.history``) it writes the scalars of every step recorded since its last write;
    :meth:`close` writes the rest (the steps after the last multiple of ``log_every``, or up to an interruption).
    Rows already in the history when it is made (those of a resumed run's earlier sessions) are not written again,
    and events an earlier session wrote for steps after ``trainer.step`` are purged.

    Raises:
        UsageError: when the tensorboard extra is not installed.
    """

    def __init__(self, trainer: Trainer, log_dir: str | Path) -> None:
        self.trainer = trainer
        self.log_dir = Path(log_dir)
        self.writer = _open_writer(self.log_dir, purge_step=trainer.step + 1)
        self._written = len(trainer.history.step)
        self._schedulers = {
            player: next(s for s in trainer.schedulers if s.optimizer is optimizer)
            for player, optimizer in (("critic", trainer.critic_optimizer), ("generator", trainer.generator_optimizer))
        }
        self._closed = False
        trainer.add_callback(trainer.config.log_every, lambda _: self.write_metrics())

    def write_metrics(self) -> None:
        """Write the scalars of the history's rows not written yet: the five metrics (finite values only) and both
        learning rates, each at its step."""
        history = self.trainer.history
        for index in range(self._written, len(history.step)):
            step = history.step[index]
            for name, tag in SCALAR_TAGS.items():
                value = getattr(history, name)[index]
                if math.isfinite(value):
                    self.writer.add_scalar(tag, value, step)
            for player, scheduler in self._schedulers.items():
                # LambdaLR: after k scheduler steps the rate is base * factor(k), and step s follows s - 1 of them
                self.writer.add_scalar(f"lr/{player}", scheduler.base_lrs[0] * scheduler.lr_lambdas[0](step - 1), step)
        self._written = len(history.step)

    def log_grid(self, images: Tensor, step: int, tag: str = "samples") -> None:
        """A grid of ``images`` ``(n, C, H, W)`` in [0, 1] (see :func:`fgan.grids.make_grid`) as image ``tag`` at
        ``step``."""
        self.writer.add_image(tag, make_grid(images.detach().float().cpu()), step)

    def close(self) -> None:
        """Write the remaining rows and close the event file (a second call does nothing)."""
        if self._closed:
            return
        self.write_metrics()
        self.writer.close()
        self._closed = True


def open_logger(name: str, trainer: Trainer) -> TensorBoardLogger | None:
    """The logger ``name`` (one of :data:`LOGGERS`) attached to ``trainer``, writing into its run folder; None for
    ``none``.

    Raises:
        UsageError: for an unknown name, a trainer without a run folder, or tensorboard without its extra.
    """
    check_logger(name)
    if name == "none":
        return None
    if trainer.run_dir is None:
        raise UsageError("the tensorboard logger needs a trainer with a run folder")
    return TensorBoardLogger(trainer, trainer.run_dir / TENSORBOARD_DIR)


def log_evaluation(run_dir: str | Path, result: Mapping[str, Any]) -> None:
    """Append the numbers of an evaluation (what ``fgan evaluate`` writes to evaluation.json) to the run's
    TensorBoard folder as ``eval/...`` scalars, at the step of the run's newest checkpoint.

    Raises:
        UsageError: when the tensorboard extra is not installed.
    """
    run_dir = Path(run_dir)
    checkpoints = sorted((run_dir / CHECKPOINT_DIR).glob("step-*.pt"))
    step = int(checkpoints[-1].stem.removeprefix("step-")) if checkpoints else 0
    writer = _open_writer(run_dir / TENSORBOARD_DIR)
    try:
        for key, value in flatten(dict(result), separator="/").items():
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                writer.add_scalar(f"eval/{key}", float(value), step)
    finally:
        writer.close()
