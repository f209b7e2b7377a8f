"""File-name-safe folder names for user-given names (divergences such as ``f:(u-1)**2/(u+1)``).

A name without a character that a file name cannot hold is its own folder name (``kl``, ``alpha:0.5``,
``f:u*log(u)``); otherwise each such character (``/``, ``\\``, a control character) becomes ``_`` and
``-`` plus the first 8 hex digits of the name's SHA-256 is appended, so that two names never share a folder:
``f:(u-1)**2/(u+1)`` is ``f:(u-1)**2_(u+1)-<8 hex>``, the same on every run.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")


def folder_name(name: str) -> str:
    """``name`` as one path component: unchanged when safe, else with ``_`` for each unsafe character (and for a
    name that is empty, ``.`` or ``..``) and a digest of ``name`` appended (see the module docstring)."""
    if not _UNSAFE.search(name) and name not in ("", ".", ".."):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{_UNSAFE.sub('_', name).strip('.') or '_'}-{digest}"
