"""The run folder: resolved config, metrics as JSON lines, checkpoints and plots.

Layout of a run folder::

    config.json          the resolved configuration (every option, defaults filled in)
    metrics.jsonl        one JSON object per training step: step, bound, critic_loss, generator_loss,
                         critic_grad_norm, generator_grad_norm
    run.log              the trainer's notes, one time-stamped line each
    checkpoints/         step-XXXXXXXX.pt every N steps, after the first and at the end (the last K kept),
                         loaded weights-only; named, ordered and rotated by their step number
    .lock                the writer's lock (see :mod:`fgan.run_lock`)
    plots/               training curves and samples

Every file is written atomically (temporary file, flush, fsync, rename), so a crash never leaves a half-written
file under a final name. A write or read that fails for a reason of the file system (permission, read-only, full
disk, missing folder, ...) is a one-line :class:`~fgan.file_access.FileAccessError` naming the path.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import torch

from fgan.errors import UsageError
from fgan.file_access import file_access, make_folder
from fgan.run_files import check_metrics_row, check_run_state, read_json_object
from fgan.run_lock import run_lock

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
#: Notes of the trainer (such as how many backward passes a step takes), one time-stamped line each.
LOG_FILE = "run.log"
CHECKPOINT_DIR = "checkpoints"
PLOT_DIR = "plots"
#: Image runs: grids of samples during training.
SAMPLES_DIR = "samples"


def default_out(prefix: str) -> Path:
    """A new folder ``runs/PREFIX-YYYYmmdd-HHMMSS`` (the default output folder of a run or an experiment)."""
    return Path("runs") / f"{prefix}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` through ``write(file)`` (its return value is ignored) into a temporary file in the same folder
    (flushed and fsynced), then rename it over ``path`` and fsync the folder: ``path`` is always either the old file
    or the whole new one.

    Raises:
        FileAccessError: when the file system refuses the write (one line naming ``path``).
    """
    with file_access(path):
        _atomic_write(path, write)


def _atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_UMASK)  # the permissions of a file opened normally, not mkstemp's 0600
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def append_text(path: Path, text: str) -> None:
    """Append ``text`` to the file ``path`` (metrics.jsonl, run.log).

    Raises:
        FileAccessError: when the file system refuses the write (one line naming ``path``).
    """
    with file_access(path), open(path, "a") as file:
        file.write(text)


def write_json(path: Path, value: Any) -> None:
    """Atomically write ``value`` as indented JSON."""
    atomic_write(path, lambda file: file.write((json.dumps(value, indent=2) + "\n").encode()))


def prepare_run_dir(path: str | Path, force: bool = False) -> Path:
    """Create a run folder; refuse one that already holds a run unless ``force``.

    Raises:
        UsageError: when ``path`` holds a run (a config.json) and ``force`` is off, or is a file.
    """
    path = Path(path)
    _refuse_a_file(path)
    if (path / CONFIG_FILE).exists() and not force:
        raise UsageError(f"output folder {path} already holds a run; choose another --out or pass --force")
    with file_access(path, "prepare the run folder"):
        path.mkdir(parents=True, exist_ok=True)
        if force:
            (path / METRICS_FILE).unlink(missing_ok=True)
            for _, old in [*step_files(path / CHECKPOINT_DIR, ".pt"), *step_files(path / SAMPLES_DIR, ".png")]:
                old.unlink()
    return path


def _refuse_a_file(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise UsageError(f"output folder {path} is a file")


@contextmanager
def claimed_run_dir(
    path: str | Path, force: bool = False, notify: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """The run folder ``path``, locked for the block (see :mod:`fgan.run_lock`), prepared as
    :func:`prepare_run_dir` prepares it, with ``checkpoints/`` and ``plots/`` made and checked writable (see
    :func:`fgan.file_access.make_folder`) before anything trains.

    A folder that holds a run stopped before its first checkpoint (see :func:`holds_unfinished_run`) holds no
    finished work: it is started afresh without ``force``, and ``notify`` gets a line that says so.

    Raises:
        UsageError: when another process writes into ``path``, it holds a run and ``force`` is off, or the file
            system refuses the folder (one line naming it).
    """
    path = Path(path)
    _refuse_a_file(path)
    make_folder(path)
    with run_lock(path):
        restart = not force and holds_unfinished_run(path)
        if restart and notify is not None:
            notify(f"{path} holds a run stopped before its first checkpoint, so no finished work: starting it afresh")
        prepare_run_dir(path, force=force or restart)
        for folder in (CHECKPOINT_DIR, PLOT_DIR):
            make_folder(path / folder)
        yield path


def holds_unfinished_run(path: Path) -> bool:
    """Whether ``path`` holds the config.json of a training run (not of an experiment) but no checkpoint and no
    plot: a run killed or stopped before its first checkpoint."""
    if not (path / CONFIG_FILE).is_file() or checkpoint_files(path) or any((path / PLOT_DIR).glob("*")):
        return False
    try:
        return "experiment" not in read_config(path)
    except UsageError:
        return False


def step_files(folder: Path, suffix: str) -> list[tuple[int, Path]]:
    """The files ``step-N{suffix}`` of ``folder`` (regular files only: a folder of that name is not one) with
    their step N, in the order of N (not of their names, which differ in length past step 99,999,999)."""
    pattern = re.compile(rf"step-(\d+){re.escape(suffix)}")
    with file_access(folder, "list"):
        found = [
            (int(match[1]), path)
            for path in (folder.glob(f"step-*{suffix}") if folder.is_dir() else [])
            if (match := pattern.fullmatch(path.name)) and path.is_file()
        ]
    return sorted(found)


def checkpoint_files(run_dir: str | Path) -> list[tuple[int, Path]]:
    """The checkpoints of a run folder with their steps, oldest first (see :func:`step_files`)."""
    return step_files(Path(run_dir) / CHECKPOINT_DIR, ".pt")


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The resolved config of a run folder (a JSON object; see :func:`fgan.run_files.read_json_object`)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise UsageError(f"{run_dir} is not a run folder (no {CONFIG_FILE})")
    return read_json_object(path)


def read_metrics(run_dir: str | Path) -> list[dict[str, int | float | None]]:
    """Every complete line of a run's metrics.jsonl (a line cut short by a crash is left out).

    Raises:
        UsageError: for a line that is JSON but not a row of metrics (see :func:`fgan.run_files.check_metrics_row`).
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    rows = []
    with file_access(path, "read"):
        lines = path.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        rows.append(check_metrics_row(row, path, number))
    return rows


def truncate_metrics(run_dir: str | Path, step: int) -> None:
    """Keep the metrics of steps up to ``step`` only (those a resumed run will not repeat), atomically."""
    rows = [row for row in read_metrics(run_dir) if isinstance(row_step := row["step"], int) and row_step <= step]
    text = "".join(json.dumps(row) + "\n" for row in rows)
    atomic_write(Path(run_dir) / METRICS_FILE, lambda file: file.write(text.encode()))


def save_checkpoint(run_dir: Path, step: int, state: dict[str, Any], keep: int) -> Path:
    """Atomically write ``checkpoints/step-XXXXXXXX.pt`` and delete all but the ``keep`` of the highest steps."""
    path = run_dir / CHECKPOINT_DIR / f"step-{step:08d}.pt"
    atomic_write(path, lambda file: torch.save(state, file))
    with file_access(path.parent, "rotate the checkpoints in"):
        for _, old in checkpoint_files(run_dir)[:-keep]:
            old.unlink()
    return path


def load_latest_checkpoint(
    run_dir: str | Path, device: torch.device | str = "cpu", notify: Callable[[str], None] | None = None
) -> tuple[Path, dict[str, Any]]:
    """The checkpoint of the highest step that loads, and its state; removes temporaries of interrupted writes.

    Temporary files (``.step-*.tmp``) never match ``step-N.pt``, so a partly written file is never taken for a
    checkpoint; a damaged one (say, by the disk) is passed over for the one before it. ``notify`` gets one line
    naming the checkpoint taken and the newer ones passed over, with the first one's problem.

    Raises:
        UsageError: when no checkpoint loads (naming the newest one's problem).
    """
    folder = Path(run_dir) / CHECKPOINT_DIR
    with file_access(folder, "clean up"):
        for temporary in folder.glob(".step-*.tmp"):
            temporary.unlink(missing_ok=True)
    errors: list[UsageError] = []
    for step, path in reversed(checkpoint_files(run_dir)):
        try:
            state = load_checkpoint(path, device)
        except UsageError as err:
            errors.append(err)
            continue
        if notify is not None:
            skipped = f"; passed over {len(errors)} newer that did not load: {errors[0]}" if errors else ""
            notify(f"using checkpoint {path} (step {step}){skipped}")
        return path, state
    raise errors[0] if errors else UsageError(f"{run_dir} holds no checkpoint")


def load_checkpoint_at(run_dir: str | Path, step: int, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The state of the run's checkpoint of ``step``.

    Raises:
        UsageError: when the run keeps no checkpoint of that step (naming the steps it keeps), or that one does
            not load.
    """
    kept = dict(checkpoint_files(run_dir))
    if step not in kept:
        steps = ", ".join(str(kept_step) for kept_step in kept) or "none"
        raise UsageError(f"{run_dir} keeps no checkpoint of step {step} (it keeps steps: {steps})")
    return load_checkpoint(kept[step], device)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``: tensors and plain values only, so no code runs on unpickling.

    Raises:
        UsageError: one line, for a file that holds anything else (refused, as it could run code), for a
            truncated, damaged or foreign file, and for one that holds other values than fgan's run state (see
            :func:`fgan.run_files.check_run_state`).
    """
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # torch raises many types for damaged or unsafe files
        message = str(err).strip()
        if "Weights only load failed" in message:
            raise UsageError(
                f"refused checkpoint {path}: it holds objects other than tensors and plain values, which could run "
                "code when loaded (fgan loads checkpoints weights-only)"
            ) from None
        first_sentence = message.splitlines()[0].split(". ")[0] if message else type(err).__name__
        raise UsageError(
            f"cannot load checkpoint {path} (truncated, damaged or not a checkpoint): {first_sentence}"
        ) from None
    return check_run_state(state, Path(path))
