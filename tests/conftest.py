"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fgan.divergences import registry


@pytest.fixture(autouse=True)
def _restore_divergence_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the built-in divergence registry; names a test registers are gone after it."""
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))


#: Seconds one ``apt-get`` call may take (installing Chromium fetches a few hundred MB of packages).
APT_TIMEOUT = 1800


def _apt_get(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["apt-get", *arguments],
        capture_output=True,
        text=True,
        timeout=APT_TIMEOUT,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def _find_chromium() -> str | None:
    found = shutil.which("chromium")
    if found is None and Path("/usr/bin/chromium").is_file():
        found = "/usr/bin/chromium"
    return found


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a Chromium browser, for headless checks of HTML output.

    Found on the PATH (or at /usr/bin/chromium). When absent and running as root, Debian's package is installed
    with ``apt-get install --no-install-recommends chromium`` (after ``apt-get update`` only when that fails); a
    failed install fails the test. When absent and not root, the test is skipped.
    """
    found = _find_chromium()
    if found is not None:
        return found
    if os.geteuid() != 0:
        pytest.skip("chromium is not installed (as root the test installs it: apt-get install chromium)")
    install = ["install", "-y", "--no-install-recommends", "chromium"]
    try:
        result = _apt_get(*install)
        if result.returncode != 0:
            _apt_get("update")
            result = _apt_get(*install)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"installing chromium with apt-get failed: {err}")
    found = _find_chromium()
    if result.returncode != 0 or found is None:
        pytest.fail(f"installing chromium with apt-get failed (exit {result.returncode}): {result.stderr[-2000:]}")
    return found
