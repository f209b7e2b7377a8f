"""The estimation experiment (``fgan reproduce estimation``, :mod:`fgan.experiments.estimation_gaussians`): a
row per pair, dimension and divergence, with the true value."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from fgan.cli import main
from fgan.errors import UsageError
from fgan.experiments.estimation_gaussians import EstimateRow, exact_ratio_dv, format_rows, make_pair
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
    assert rows[0]["exact_ratio"] is not None and rows[1]["exact_ratio"] is None
    assert rows[0]["exact_ratio_relative_error"] == pytest.approx((rows[0]["exact_ratio"] - 0.245) / 0.245)


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


def test_exact_ratio_dv_is_the_bound_of_the_true_log_ratio_on_the_samples() -> None:
    """kl and reverse-kl on the 1-D shift pair (N(0, 1) against N(0.7 u, 1), u = ±1) against the same bound from
    scipy.stats' densities, and, on 400,000 samples, against the exact 0.245 within 4 standard errors."""
    p, q = make_pair("shift", 1)
    shift = float(q.mean[0])
    rng = np.random.default_rng(3)
    p_samples, q_samples = p.sample(5000, rng), q.sample(5000, rng)

    def log_ratio(x: np.ndarray, name: str) -> np.ndarray:
        log_p, log_q = norm.logpdf(x[:, 0]), norm.logpdf(x[:, 0], loc=shift)
        return log_p - log_q if name == "kl" else log_q - log_p

    for name, first, second in (("kl", p_samples, q_samples), ("reverse-kl", q_samples, p_samples)):
        by_hand = log_ratio(first, name).mean() - np.log(np.exp(log_ratio(second, name)).mean())
        assert exact_ratio_dv(name, p, q, p_samples, q_samples) == pytest.approx(by_hand, rel=1e-12)
    big_p, big_q = p.sample(400_000, rng), q.sample(400_000, rng)
    se = abs(shift) * math.sqrt(2 / 400_000)  # sd of log r under either set is |shift|
    for name in ("kl", "reverse-kl"):
        assert exact_ratio_dv(name, p, q, big_p, big_q) == pytest.approx(0.245, abs=4 * se)
    with pytest.raises(UsageError, match="kl and reverse-kl"):
        exact_ratio_dv("js", p, q, p_samples, q_samples)


def test_the_table_counts_the_exact_ratio_errors_of_kl_rows_only() -> None:
    """A kl row whose exact-ratio bound is 20 % off and a js row without one: the summary counts 1 of 1."""
    common = dict(
        pair="shift", dim=1, samples=100, repeat=0, truth=1.0, truth_se=0.0, ci_low=0.9, ci_high=1.3, covered=True,
        seconds=1.0, critics="3 mlp", k_hat=0.1, k_hat_from_first=0.2, reliable=True,
    )  # fmt: skip
    kl = EstimateRow(
        divergence="kl", estimate=1.2, relative_error=0.2, form="dv", knn=1.0, knn_relative_error=0.0,
        exact_ratio=1.2, exact_ratio_relative_error=0.2, **common,
    )  # fmt: skip
    js = EstimateRow(
        divergence="js", estimate=1.05, relative_error=0.05, form="f-gan", knn=None, knn_relative_error=None,
        exact_ratio=None, exact_ratio_relative_error=None, **common,
    )  # fmt: skip
    table = format_rows([kl, js]).splitlines()
    assert table[2].split("|")[-3].strip() == "+20.0%" and table[3].split("|")[-3].strip() == "–"
    assert table[2].split("|")[10].strip() == "yes (0.10; 0.20)"
    assert "1 of 2 estimates within 10%" in table[-1]
    assert "1 more than 15% off and flagged reliable" in table[-1]
    assert "the exact log ratio on the same samples is more than 15% off in 1 of 1" in table[-1]
