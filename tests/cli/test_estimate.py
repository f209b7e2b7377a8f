"""``fgan estimate``: absurd step sizes refused in one line (issue 19, item 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fgan.cli import main


@pytest.fixture
def sample_files(tmp_path: Path) -> list[str]:
    generator = np.random.default_rng(0)
    p, q = tmp_path / "p.npy", tmp_path / "q.npy"
    np.save(p, generator.normal(size=(200, 1)))
    np.save(q, generator.normal(1.0, 1.0, size=(200, 1)))
    return ["estimate", "--p", str(p), "--q", str(q), "--max-steps", "20", "--eval-every", "10"]


@pytest.mark.parametrize(("lr", "message"), [("inf", "got inf"), ("nan", "got nan"), ("1e300", "in (0, 1]")])
def test_a_non_finite_or_absurd_lr_is_one_line(
    sample_files: list[str], lr: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--lr inf exited 0 with critics stopped at step 0; --lr 1e300 was a traceback."""
    assert main([*sample_files, "--lr", lr]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "--lr" in err


def test_a_critic_that_diverges_is_one_line_not_an_estimate(
    sample_files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sample_files, "--lr", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "diverged" in err and "smaller --lr" in err
