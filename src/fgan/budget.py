"""Training a run under a wall-time budget, in segments, so that a killed run continues where it stopped.

A run with a budget of ``B`` seconds trains in segments of at most :data:`SEGMENT_SECONDS`: the first segment is
:func:`fgan.runner.train_run`, each later one :func:`fgan.runner.resume_run` from the checkpoint the segment before
wrote at its end. After every segment ``budget.json`` in the run folder records the step of that checkpoint and the
wall seconds of the segments up to it, ``used``; the next segment gets ``min(SEGMENT_SECONDS, B - used)``. A process
killed mid-segment loses at most that segment: ``resume`` reads ``budget.json`` and continues from the checkpoint.
On the CPU a resumed run is bit for bit the run never stopped (see :func:`fgan.runner.resume_run`), so the segments
change when checkpoints are written, not what is trained.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from fgan.runner import RunConfig, resume_run, train_run
from fgan.runs import CHECKPOINT_DIR, write_json
from fgan.training import Trainer

#: Written after every segment: ``{"step": ..., "seconds": ...}``.
BUDGET_FILE = "budget.json"
#: The longest segment between two checkpoints, in seconds.
SEGMENT_SECONDS = 300.0


@dataclass
class Spent:
    """What a run under a budget has used: the step of its checkpoint and the wall seconds of its segments up to it
    (each segment's loading of the data and drawing of plots included)."""

    step: int
    seconds: float


def read_spent(run_dir: Path) -> Spent | None:
    """The budget used so far by the run in ``run_dir`` (None when it has no checkpoint or no ``budget.json``)."""
    path = run_dir / BUDGET_FILE
    if not path.is_file() or not any((run_dir / CHECKPOINT_DIR).glob("step-*.pt")):
        return None
    values = json.loads(path.read_text())
    return Spent(int(values["step"]), float(values["seconds"]))


def _segment(budget: float, used: float) -> float:
    """The time limit of the next segment: what is left of the budget, at most :data:`SEGMENT_SECONDS`."""
    return min(SEGMENT_SECONDS, budget - used)


def train_within_budget(
    run: RunConfig, out: Path, seconds: float | None, resume: bool = False
) -> tuple[Trainer, float]:
    """Train ``run`` into the run folder ``out`` until ``run.train.steps`` steps or ``seconds`` seconds of training
    (None: no time limit), in segments (see the module); return the trainer and the seconds spent.

    With ``resume``, a run folder that holds a checkpoint and ``budget.json`` continues from them; otherwise the
    run starts afresh (an existing folder is overwritten).
    """
    budget = math.inf if seconds is None else seconds
    spent = read_spent(out) if resume else None
    if spent is None:
        start = time.perf_counter()
        trainer = train_run(run, out, force=True, time_limit=_segment(budget, 0.0))
        spent = _record(out, trainer, time.perf_counter() - start)
    else:
        trainer = None
    while spent.seconds < budget and (trainer is None or trainer.step < trainer.config.steps):
        start, step = time.perf_counter(), spent.step
        trainer = resume_run(out, time_limit=_segment(budget, spent.seconds))
        spent = _record(out, trainer, spent.seconds + time.perf_counter() - start)
        if trainer.step == step:  # a segment too short for one step: what is left of the budget cannot train
            break
    if trainer is None:  # the budget was spent before the run was killed: the run as its checkpoint holds it
        trainer = resume_run(out, time_limit=0.0)
    return trainer, spent.seconds


def _record(out: Path, trainer: Trainer, seconds: float) -> Spent:
    """Write ``budget.json`` for the trainer's step (its checkpoint) and ``seconds``, and return it."""
    spent = Spent(trainer.step, seconds)
    write_json(out / BUDGET_FILE, {"step": spent.step, "seconds": spent.seconds})
    return spent
