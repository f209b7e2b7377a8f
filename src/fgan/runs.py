"""The run folder: resolved config, metrics as JSON lines, checkpoints and plots.

Layout of a run folder::

    config.json          the resolved configuration (every option, defaults filled in)
    metrics.jsonl        one JSON object per training step: step, bound, critic_loss, generator_loss,
                         critic_grad_norm, generator_grad_norm
    run.log              the trainer's notes, one time-stamped line each
    checkpoints/         step-XXXXXXXX.pt every N steps and at the end (the last K kept), loaded weights-only
    plots/               training curves and samples

Every file is written atomically (temporary file, flush, fsync, rename), so a crash never leaves a half-written
file under a final name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import torch

from fgan.errors import UsageError

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
    or the whole new one."""
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


def write_json(path: Path, value: Any) -> None:
    """Atomically write ``value`` as indented JSON."""
    atomic_write(path, lambda file: file.write((json.dumps(value, indent=2) + "\n").encode()))


def prepare_run_dir(path: str | Path, force: bool = False) -> Path:
    """Create a run folder; refuse one that already holds a run unless ``force``.

    Raises:
        UsageError: when ``path`` holds a run (a config.json) and ``force`` is off, or is a file.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"output folder {path} is a file")
    if (path / CONFIG_FILE).exists() and not force:
        raise UsageError(f"output folder {path} already holds a run; choose another --out or pass --force")
    path.mkdir(parents=True, exist_ok=True)
    if force:
        (path / METRICS_FILE).unlink(missing_ok=True)
        for old in [*(path / CHECKPOINT_DIR).glob("step-*.pt"), *(path / SAMPLES_DIR).glob("step-*.png")]:
            old.unlink()
    return path


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The resolved config of a run folder."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise UsageError(f"{run_dir} is not a run folder (no {CONFIG_FILE})")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"cannot read {path}: {err}") from None


def read_metrics(run_dir: str | Path) -> list[dict[str, int | float | None]]:
    """Every complete line of a run's metrics.jsonl (a line cut short by a crash is left out)."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def truncate_metrics(run_dir: str | Path, step: int) -> None:
    """Keep the metrics of steps up to ``step`` only (those a resumed run will not repeat), atomically."""
    rows = [row for row in read_metrics(run_dir) if isinstance(row_step := row.get("step"), int) and row_step <= step]
    text = "".join(json.dumps(row) + "\n" for row in rows)
    atomic_write(Path(run_dir) / METRICS_FILE, lambda file: file.write(text.encode()))


def save_checkpoint(run_dir: Path, step: int, state: dict[str, Any], keep: int) -> Path:
    """Atomically write ``checkpoints/step-XXXXXXXX.pt`` and delete all but the newest ``keep``."""
    folder = run_dir / CHECKPOINT_DIR
    path = folder / f"step-{step:08d}.pt"
    atomic_write(path, lambda file: torch.save(state, file))
    for old in sorted(folder.glob("step-*.pt"))[:-keep]:
        old.unlink()
    return path


def load_latest_checkpoint(run_dir: str | Path, device: torch.device | str = "cpu") -> tuple[Path, dict[str, Any]]:
    """The newest checkpoint that loads, and its state; removes temporaries of interrupted writes.

    Temporary files (``.step-*.tmp``) never match ``step-*.pt``, so a partly written file is never taken for a
    checkpoint; a damaged one (say, by the disk) is passed over for the one before it.

    Raises:
        UsageError: when no checkpoint loads (naming the newest one's problem).
    """
    folder = Path(run_dir) / CHECKPOINT_DIR
    for temporary in folder.glob(".step-*.tmp"):
        temporary.unlink(missing_ok=True)
    newest_error = None
    for path in sorted(folder.glob("step-*.pt"), reverse=True):
        try:
            return path, load_checkpoint(path, device)
        except UsageError as err:
            newest_error = newest_error or err
    raise newest_error or UsageError(f"{run_dir} holds no checkpoint")


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``: tensors and plain values only, so no code runs on unpickling.

    Raises:
        UsageError: one line, for a file that holds anything else (refused, as it could run code), and for a
            truncated, damaged or foreign file.
    """
    try:
        return torch.load(path, map_location=device, weights_only=True)
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
