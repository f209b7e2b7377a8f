"""Sample sets from arrays and files: checked float32 arrays of shape ``(n, d)``, and arrays written back."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import IO

import numpy as np
from torch import Tensor

from fgan.errors import UsageError
from fgan.memory import check_fits

#: The largest float32: samples are trained on in float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_samples(values: np.ndarray | Tensor, name: str) -> np.ndarray:
    """Samples as a float32 array of shape ``(n, d)`` (a 1-D array is one feature), checked finite and non-empty."""
    array = np.asarray(values.detach().cpu() if isinstance(values, Tensor) else values)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise UsageError(f"{name}: samples must have shape (n, d), got {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise UsageError(f"{name}: no samples (shape {array.shape})")
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise UsageError(f"{name}: samples must be real numbers, got dtype {array.dtype}")
    bad = ~(np.isfinite(array) & (np.abs(array) <= _FLOAT32_MAX)).all(axis=1)
    if bad.any():
        raise UsageError(
            f"{name}: {int(bad.sum())} rows hold NaN or infinite values, or values beyond float32's "
            f"±{_FLOAT32_MAX:.4g} (the first is row {int(np.argmax(bad))})"
        )
    return array.astype(np.float32)


def load_samples(path: str | Path) -> np.ndarray:
    """Samples from a .npy file (an array), a .npz file (its only array, or the one named ``samples``) or a .csv
    file (comma-separated numbers, one sample a row; a header row is skipped), as float32 of shape ``(n, d)``.

    Raises:
        UsageError: for a missing, unreadable, empty or malformed file (one line naming it).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz", ".csv"):
        raise UsageError(f"{path}: samples must be a .npy, .npz or .csv file")
    try:
        if suffix == ".npy":
            with path.open("rb") as file:
                check_npy_header(file, path.stat().st_size, str(path))
            array = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                names = list(archive.keys())
                if len(names) != 1 and "samples" not in names:
                    raise UsageError(f"{path}: holds arrays {', '.join(names) or '(none)'}; name one 'samples'")
                name = "samples" if "samples" in names else names[0]
                member = archive.zip.getinfo(f"{name}.npy")
                with archive.zip.open(member) as file:
                    check_npy_header(file, member.file_size, f"{path} ({name})")
                array = archive[name]
        else:
            array = _read_csv(path)
    except UsageError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"{path}: cannot read samples: {first_line}") from None
    return as_samples(array, str(path))


def check_npy_header(file: IO[bytes], size: int, name: str) -> None:
    """Refuse (UsageError naming ``name``) a .npy stream of ``size`` bytes whose header claims more data than the
    file holds, or an array too large for memory, before numpy allocates it; a header numpy cannot read is left
    to ``np.load`` to name."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        reader = readers.get(np.lib.format.read_magic(file))
        if reader is None:
            return
        shape, _, dtype = reader(file)
    except ValueError:
        return
    values = math.prod(shape)
    claimed, held = values * dtype.itemsize, size - file.tell()
    if claimed > held:
        raise UsageError(f"{name}: the header claims shape {shape} ({claimed:,} bytes), the file holds {held:,}")
    check_fits(claimed + 4 * values, f"{name}: an array of shape {shape}")  # the array and its float32 copy


def _read_csv(path: Path) -> np.ndarray:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise UsageError(f"{path}: empty file")
    try:
        float(lines[0].split(",")[0])
    except ValueError:
        lines = lines[1:]  # a header row
    try:
        rows = [[float(value) for value in line.split(",")] for line in lines]
    except ValueError as err:
        raise UsageError(f"{path}: not comma-separated numbers ({err})") from None
    if not rows or len({len(row) for row in rows}) != 1:
        raise UsageError(f"{path}: rows must all have the same number of values")
    return np.asarray(rows, dtype=np.float64)


def save_array(path: str | Path, values: np.ndarray) -> None:
    """Write values as .npy or .csv (by suffix)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        np.save(path, values)
    elif path.suffix.lower() == ".csv":
        np.savetxt(path, values.reshape(len(values), -1), delimiter=",")
    else:
        raise UsageError(f"{path}: output must be a .npy or .csv file")
