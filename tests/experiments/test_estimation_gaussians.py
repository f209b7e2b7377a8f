"""The estimation experiment (``fgan reproduce estimation``, :mod:`fgan.experiments.estimation_gaussians`): a
row per pair, dimension and divergence, with the true value."""

from __future__ import annotations

import json

import pytest

from fgan.cli import main


def test_reproduce_estimation_rows(capsys) -> None:
    assert (
        main(
            [
                "reproduce",
                "estimation",
                "--dims",
                "1",
                "--pairs",
                "shift",
                "--divergence",
                "kl",
                "--divergence",
                "js",
                "--samples",
                "1500",
                "--max-steps",
                "200",
                "--json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [(row["pair"], row["dim"], row["divergence"]) for row in rows] == [("shift", 1, "kl"), ("shift", 1, "js")]
    assert rows[0]["truth"] == pytest.approx(0.245) and rows[0]["truth_se"] == 0.0
    assert rows[1]["truth_se"] > 0.0  # js has no closed form: Monte Carlo
