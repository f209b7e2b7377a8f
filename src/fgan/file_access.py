"""File-system errors of the user's environment as one line naming the path, not a traceback.

A failed write or read is the user's environment, not a bug in fgan, when its error number says so: permission
denied, a read-only or full file system, a missing folder, a file where a folder should be (or the reverse), a
symbolic-link loop, a name too long. :func:`file_access` turns such an :class:`OSError` from fgan's own writes and
reads into a :class:`FileAccessError` (a :class:`~fgan.errors.UsageError`: one line, exit code 2) that names the
path; :func:`environment_error_message` lets the command line's error boundary do the same for an error that names
its file (raised by a library writing the user's output). Any other OSError, and one that names a file of fgan's
own installation, stays a bug: a traceback.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fgan.errors import UsageError

#: Error numbers that describe the file system the user gave, not a mistake of the program.
ENVIRONMENT_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.ELOOP,
        errno.ENAMETOOLONG,
        errno.EMLINK,
        errno.ENXIO,
        errno.EIO,
    }
)
_PACKAGE = Path(__file__).resolve().parent


class FileAccessError(UsageError):
    """A file or folder fgan cannot write or read, for a reason of the file system (named in the message)."""


def _reason(err: OSError) -> str:
    return err.strerror or os.strerror(err.errno or 0)


def is_environment_error(err: OSError) -> bool:
    """Whether ``err`` comes from the file system the user gave (see :data:`ENVIRONMENT_ERRNOS`)."""
    return err.errno in ENVIRONMENT_ERRNOS


@contextmanager
def file_access(path: str | Path, doing: str = "write") -> Iterator[None]:
    """Run the block; an environment OSError in it (see :func:`is_environment_error`) becomes a FileAccessError
    ``cannot DOING PATH: REASON``, naming the file the error names, unless it names none or one of fgan's
    temporary files (``.NAME.*.tmp``, written on the way to ``path``): then ``path``."""
    try:
        yield
    except OSError as err:
        if not is_environment_error(err):
            raise
        temporary = err.filename is None or os.fsdecode(err.filename).endswith(".tmp")
        named = path if temporary else os.fsdecode(err.filename)
        raise FileAccessError(f"cannot {doing} {named}: {_reason(err)}") from None


def environment_error_message(err: OSError) -> str | None:
    """The one line for an OSError that names a file outside fgan's installation and comes from the file system
    (``PATH: REASON``), or None: an error to show as a bug."""
    if not isinstance(err.filename, str | bytes | os.PathLike) or not is_environment_error(err):
        return None
    if Path(os.path.abspath(os.fsdecode(err.filename))).is_relative_to(_PACKAGE):
        return None
    target = f" -> {os.fsdecode(err.filename2)}" if err.filename2 is not None else ""
    return f"cannot write or read {os.fsdecode(err.filename)}{target}: {_reason(err)}"


def make_folder(path: Path) -> Path:
    """``path`` created with its parents (when missing) and checked writable by a probe write, fsynced: a full
    disk, a read-only folder or a file in the way is a FileAccessError now rather than after training.

    The probe is a temporary file, removed again."""
    with file_access(path, "create folder"):
        if path.exists() and not path.is_dir():
            raise FileAccessError(f"cannot create folder {path}: a file of that name is in the way")
        path.mkdir(parents=True, exist_ok=True)
    with file_access(path, "write into folder"):
        handle, probe = tempfile.mkstemp(dir=path, prefix=".probe.", suffix=".tmp")
        try:
            os.write(handle, b"fgan")
            os.fsync(handle)
        finally:
            os.close(handle)
            os.unlink(probe)
    return path
