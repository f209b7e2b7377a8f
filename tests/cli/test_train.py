"""``fgan train``: a parametric divergence trains with the parameter as given (issue 19, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fgan.cli import main
from fgan.divergences import get_divergence
from tests.helpers import quick_run


@pytest.mark.parametrize("name", ["alpha:0.1234567", "js-weighted:0.99999999"])
def test_the_run_records_and_resumes_the_exact_parameter(tmp_path: Path, name: str, capsys) -> None:
    """alpha:0.1234567 trained alpha:0.123457; js-weighted:0.99999999 was refused with "got 1.0"."""
    run = tmp_path / "run"
    assert main(["train", "--data", "mixture", "--divergence", name, "--out", str(run), *quick_run(2, 16)]) == 0
    recorded = json.loads((run / "config.json").read_text())["divergence"]
    assert recorded == name and get_divergence(recorded).name == name
    assert main(["train", "--resume", str(run), "--steps", "3", "--quiet"]) == 0
    assert f"of {name};" in capsys.readouterr().out
