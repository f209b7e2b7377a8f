"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from fgan.divergences import registry
from fgan.threads import THREADS_ENV

# Runs that tests compare bit for bit train at one fixed thread count (the default governor follows the load, and
# sums split across threads round differently); tests of the governor unset it.
os.environ.setdefault(THREADS_ENV, str(torch.get_num_threads()))


@pytest.fixture(autouse=True)
def _restore_divergence_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the built-in divergence registry; names a test registers are gone after it."""
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))


@pytest.fixture(autouse=True)
def _no_run_folder_left_where_pytest_runs() -> Iterator[None]:
    """A test leaves no new ``runs/NAME`` folder in the directory pytest runs in (the project, for a user): a run
    without ``--out`` goes to ``runs/`` of the working directory, so a test must give it one under ``tmp_path`` or
    change to it first."""
    runs = Path.cwd() / "runs"
    before = set(os.listdir(runs)) if runs.is_dir() else set()
    yield
    left = sorted(set(os.listdir(runs)) - before) if runs.is_dir() else []
    assert not left, f"the test left {', '.join(left)} in {runs}: give its runs an --out under tmp_path"


#: The outcome of the project's Chromium set-up (``make chromium``, run by ``make test``: .ci/install-chromium), in
#: the virtual environment: ``installed: PATH`` or ``unavailable: REASON``.
CHROMIUM_STAMP = Path(sys.prefix) / ".chromium"


def _find_chromium() -> str | None:
    found = shutil.which("chromium")
    if found is None and Path("/usr/bin/chromium").is_file():
        found = "/usr/bin/chromium"
    return found


@pytest.fixture
def private_cache(tmp_path, monkeypatch) -> None:
    """Classifiers and downloads go to a temporary cache; no system data set is found by accident (for the tests
    that train classifiers or read image data sets: ``pytestmark = pytest.mark.usefixtures("private_cache")``)."""
    monkeypatch.setenv("FGAN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FGAN_DATA_DIR", raising=False)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a Chromium browser, for headless checks of HTML output.

    Found on the PATH (or at /usr/bin/chromium), where the project's set-up installs it. When it is absent, the
    test skips only if that set-up recorded that it cannot install it on this machine (and FGAN_REQUIRE_CHROMIUM,
    set by CI, is not 1); otherwise it fails, naming the set-up to run.
    """
    found = _find_chromium()
    if found is not None:
        return found
    outcome = CHROMIUM_STAMP.read_text().strip() if CHROMIUM_STAMP.is_file() else ""
    if outcome.startswith("unavailable: ") and os.environ.get("FGAN_REQUIRE_CHROMIUM") != "1":
        pytest.skip(f"chromium is not installed and cannot be installed here: {outcome.removeprefix('unavailable: ')}")
    pytest.fail(
        "chromium is not installed: `make chromium` installs it (as root, from Debian's package) or records why it "
        f"cannot, after which this test skips ({CHROMIUM_STAMP}: {outcome or 'missing'})"
    )
