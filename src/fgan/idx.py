"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a header followed by the data, all big-endian::

    2 bytes   zero
    1 byte    type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    1 byte    number of dimensions n (at least 1)
    4n bytes  the dimension sizes, each a big-endian uint32
    the rest  prod(sizes) values of the type, big-endian, in C (row-major) order

The whole file may be gzip-compressed (the published files are); the reader recognises that by the gzip magic
bytes 1f 8b, not by the file name. Every problem with a file, from a missing file through a broken gzip stream to
a header that disagrees with the data, is a :class:`~fgan.errors.UsageError` with a one-line message that starts
with the file's path.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from fgan.errors import UsageError, one_line
from fgan.runs import atomic_write

#: The data type of each IDX type code, as stored (big-endian).
IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
#: The most data a file may claim (4 GiB); the reader refuses larger headers before reading any data.
MAX_DATA_BYTES = 1 << 32
#: The most dimensions read (numpy's arrays have at most 32 in numpy 1 and 64 in numpy 2).
MAX_DIMENSIONS = 32
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in the IDX file ``path`` (gzip-compressed or not), in native byte order.

    Raises:
        UsageError: when the file cannot be read, its gzip stream is truncated or corrupt, or it is not a valid
            IDX file (bad magic, unknown type code, no dimensions, short header, too little or too much data).
    """
    path = Path(path)
    try:
        with path.open("rb") as file:
            gzipped = file.read(2) == GZIP_MAGIC
            file.seek(0)
            return _parse(gzip.GzipFile(fileobj=file) if gzipped else file, str(path))
    except (OSError, EOFError, zlib.error) as err:
        broken_gzip = isinstance(err, (EOFError, zlib.error, gzip.BadGzipFile))
        problem = "truncated or corrupt gzip stream" if broken_gzip else "cannot read file"
        detail = one_line(getattr(err, "strerror", None) or err)
        raise UsageError(f"{path}: {problem}: {detail}") from None


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Atomically write ``array`` to ``path`` as an IDX file, gzip-compressed when ``compress`` is true or, when it
    is None, when the name ends in ``.gz``.

    Raises:
        UsageError: when the dtype is not uint8, int8, int16, int32, float32 or float64, or the array has no
            dimensions or one longer than 2**32 - 1.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _TYPE_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise UsageError(
            f"{path}: IDX cannot hold dtype {array.dtype}; use uint8, int8, int16, int32, float32, float64"
        )
    if array.ndim == 0 or max(array.shape) > 0xFFFFFFFF:
        raise UsageError(f"{path}: IDX needs 1 or more dimensions of at most 2**32 - 1, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = array.astype(IDX_DTYPES[code], copy=False).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")

    def write(file: IO[bytes]) -> None:
        with gzip.GzipFile(fileobj=file, mode="wb", mtime=0) if compress else contextlib.nullcontext(file) as out:
            out.write(header)
            out.write(body)

    atomic_write(path, write)


def _parse(stream: IO[bytes] | gzip.GzipFile, name: str) -> np.ndarray:
    """The array in the IDX byte ``stream``; ``name`` (the file) starts every error message."""
    magic = _read_at_most(stream, 4)
    if not magic:
        raise UsageError(f"{name}: empty file, not an IDX file")
    if len(magic) < 4:
        raise UsageError(f"{name}: truncated IDX header: {len(magic)} bytes, the magic number alone needs 4")
    if magic[:2] != b"\0\0":
        raise UsageError(f"{name}: not an IDX file: the magic number starts with {magic[:2].hex()}, not 0000")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        raise UsageError(f"{name}: unknown IDX type code 0x{code:02X}")
    if not 1 <= ndim <= MAX_DIMENSIONS:
        raise UsageError(f"{name}: IDX header gives {ndim} dimensions; an IDX file needs 1 to {MAX_DIMENSIONS}")
    sizes = _read_at_most(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise UsageError(
            f"{name}: truncated IDX header: {ndim} dimension sizes need {4 * ndim} bytes, found {len(sizes)}"
        )
    shape = struct.unpack(f">{ndim}I", sizes)
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    if expected > MAX_DATA_BYTES:
        raise UsageError(
            f"{name}: IDX header claims {expected} data bytes (shape {shape}), over the limit of {MAX_DATA_BYTES}"
        )
    data = _read_at_most(stream, expected + 1)
    if len(data) < expected:
        raise UsageError(f"{name}: truncated IDX file: expected {expected} data bytes, found {len(data)}")
    if len(data) > expected:
        raise UsageError(f"{name}: trailing bytes after the {expected} data bytes of the IDX file")
    return np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("=")).reshape(shape)


def _read_at_most(stream: IO[bytes] | gzip.GzipFile, limit: int) -> bytearray:
    """Up to ``limit`` bytes of ``stream``, fewer at its end; read in chunks, so that a large ``limit`` allocates
    no more than the bytes actually there."""
    data = bytearray()
    while len(data) < limit:
        chunk = stream.read(min(_CHUNK, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return data
