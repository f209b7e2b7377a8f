"""The paper's Section 4.1 reproduction: the learned fit matches the exact best fit, the bound the divergence."""

from __future__ import annotations

import pytest

from fgan.cli import main
from fgan.data import PAPER_MIXTURE, parse_mixture
from fgan.divergences import PAPER_DIVERGENCES
from fgan.errors import UsageError
from fgan.experiments.table3_mixture import check_mixture, default_config, fit_one, format_table
from fgan.gaussians import gaussian_divergence

#: The reference sheet's best fits (quadrature on 200,001 points over [-15, 20], Nelder-Mead).
REFERENCE = {
    "kl": (0.288, 1.010, 1.830),
    "reverse-kl": (0.251, 1.584, 1.629),
    "js": (0.130, 1.313, 1.753),
    "jeffrey": (0.579, 1.325, 1.702),
    "pearson": (0.662, 0.566, 1.927),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_DIVERGENCES)
def test_paper_divergences_meet_the_done_criteria_with_the_defaults(name: str) -> None:
    row = fit_one(parse_mixture(PAPER_MIXTURE), name, default_config(seed=0))
    divergence_star, mu_star, sigma_star = REFERENCE[name]
    assert (row.divergence_star, row.mu_star, row.sigma_star) == pytest.approx(
        (divergence_star, mu_star, sigma_star), abs=2e-3
    )
    assert abs(row.mu_hat - row.mu_star) <= 0.1
    assert abs(row.sigma_hat - row.sigma_star) <= 0.1
    assert abs(row.objective_hat - row.divergence_at_hat) <= max(0.02, 0.1 * abs(row.divergence_at_hat))
    assert row.divergence_at_hat >= row.divergence_star - 1e-6  # θ* is the minimiser


def test_table_lists_every_row() -> None:
    row = fit_one(parse_mixture("1:0:1"), "kl", default_config(steps=50))
    table = format_table([row, row])
    assert table.count("| kl |") == 2 and "σ*" in table
    assert row.mu_star == pytest.approx(0.0, abs=1e-4) and row.sigma_star == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(("spec", "mean", "std"), [("1:50:1", 50.0, 1.0), ("1:0:1000", 0.0, 1000.0)])
def test_best_fit_of_a_gaussian_far_away_or_wide_is_exact(spec: str, mean: float, std: float) -> None:
    """The grid was fixed at [-15, 20]: 1:50:1 gave μ* = 19.97 and D_f = -1e-195 (issue 19, item 3)."""
    row = fit_one(check_mixture(spec), "kl", default_config(steps=20))
    assert row.mu_star == pytest.approx(mean, abs=1e-4 * std)
    assert row.sigma_star == pytest.approx(std, rel=1e-4)
    assert row.divergence_star == pytest.approx(0.0, abs=1e-8)
    closed_form = gaussian_divergence("kl", mean, std**2, row.mu_hat, row.sigma_hat**2)
    assert row.divergence_at_hat == pytest.approx(closed_form, rel=1e-6)


def test_a_mixture_too_narrow_for_float64_is_refused_in_one_line() -> None:
    with pytest.raises(UsageError, match=r"cannot integrate the mixture '1:0:1e-300'") as caught:
        check_mixture("1:0:1e-300")
    assert "\n" not in str(caught.value)


def test_reproduce_refuses_a_mixture_too_narrow_for_float64_before_training(tmp_path, capsys) -> None:
    """--mixture 1:0:1e-300 printed a torch message (issue 19, item 11)."""
    out = tmp_path / "t3"
    assert main(["reproduce", "gaussian-mixture", "--mixture", "1:0:1e-300", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot integrate the mixture '1:0:1e-300'" in err
    assert not out.exists()
