"""Sizes against memory: a size the user asks for (network widths, image sizes, sample counts, array headers) is
refused in one line before anything of that size is allocated, when it cannot fit in the memory available.

The memory available is ``MemAvailable`` of /proc/meminfo on Linux, else the physical memory
(``os.sysconf``); where neither is known, nothing is refused.
"""

from __future__ import annotations

import os

from fgan.errors import UsageError

_MEMINFO = "/proc/meminfo"
_UNKNOWN = 1 << 62


def available_memory() -> int:
    """Bytes of memory a new allocation may take (see the module docstring)."""
    try:
        with open(_MEMINFO) as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return _UNKNOWN


def byte_text(count: float) -> str:
    """``count`` bytes as ``"12.3 GiB"`` (or MiB, KiB, bytes)."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count:,.0f} bytes"


def check_fits(count: float, what: str) -> None:
    """Raise UsageError when ``count`` bytes, needed by ``what`` (``"--n 10000000000: samples of 784 values"``), are
    more than the memory available."""
    available = available_memory()
    if count > available:
        raise UsageError(f"{what}: {byte_text(count)} of memory needed, more than the {byte_text(available)} available")
