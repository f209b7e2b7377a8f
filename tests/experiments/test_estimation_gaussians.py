"""The estimation experiment (``fgan reproduce estimation``, :mod:`fgan.experiments.estimation_gaussians`): a
row per pair, dimension and divergence, with the true value."""

from __future__ import annotations

import json
import math

import pytest

from fgan.cli import main
from fgan.experiments.estimation_pairs import heavy_tailed_truth


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
    assert rows[0]["samples"] == 1500 and rows[0]["form"] == "dv-extrapolated" and rows[0]["knn"] is not None
    assert rows[1]["form"] == "f-gan" and rows[1]["knn"] is None  # kNN gives kl and reverse-kl only


def test_heavy_tailed_truth_matches_closed_forms() -> None:
    """The mixture Monte Carlo against the exact KL of Laplace (scale b, variance 1) against Gaussian coordinates:
    per coordinate KL(L||N) = -h(L) + E_L[x²]/2 + ½ ln 2π with h(L) = 1 + ln 2b, and
    KL(N||L) = -h(N) + ln 2b + E_N|x|/b with h(N) = ½ (1 + ln 2π), E_N|x| = sqrt(2/π)."""
    b = 1 / math.sqrt(2)
    exact_kl = -(1 + math.log(2 * b)) + 0.5 + 0.5 * math.log(2 * math.pi)
    exact_reverse = -0.5 * (1 + math.log(2 * math.pi)) + math.log(2 * b) + math.sqrt(2 / math.pi) / b
    for name, exact in (("kl", exact_kl), ("reverse-kl", exact_reverse)):
        truth, se = heavy_tailed_truth(name, "laplace", 2)
        assert truth == pytest.approx(2 * exact, abs=4 * se) and se < 0.002
