"""Where fgan keeps what it can make again: downloaded data sets (``data/NAME``) and its trained feature
classifiers (``classifiers/``)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The user's fgan cache: ``$FGAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/fgan``, else ``~/.cache/fgan``."""
    if os.environ.get("FGAN_CACHE_DIR"):
        return Path(os.environ["FGAN_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "fgan"
    return Path.home() / ".cache" / "fgan"
