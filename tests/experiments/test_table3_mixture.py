"""The paper's Section 4.1 reproduction: the learned fit matches the exact best fit, the bound the divergence."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import optimize, stats

from fgan.cli import main
from fgan.data import PAPER_MIXTURE, parse_mixture
from fgan.divergences import PAPER_DIVERGENCES, get_divergence
from fgan.errors import UsageError
from fgan.experiments import table3_cross, table3_mixture
from fgan.experiments.table3_mixture import (
    check_mixture,
    cross_start_bounds,
    default_config,
    divergence_at,
    fit_from_starts,
    fit_into_run,
    fit_one,
    format_starts,
    format_table,
    selection_bound,
    starting_points,
)
from fgan.gaussians import gaussian_divergence
from fgan.snapshots import SnapshotRecorder
from fgan.step import NonFiniteError

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
    far = format_table([dataclasses.replace(row, divergence_at_hat=6.1e300)])  # a χ² of a far fit: not 300 digits
    assert "| 6.1e+300 |" in far
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


def _mixture_quantile(spec: str, level: float) -> float:
    """The ``level`` quantile of the 1-D mixture ``spec``, by root finding on its CDF (scipy)."""
    components = [tuple(float(x) for x in part.split(":")) for part in spec.split(",")]
    total = sum(weight for weight, _, _ in components)

    def cdf(x: float) -> float:
        return sum(weight * stats.norm.cdf(x, mean, std) for weight, mean, std in components) / total - level

    return float(optimize.brentq(cdf, -100.0, 100.0, xtol=1e-12))


def test_starting_points_are_the_generators_own_then_quantiles_of_p() -> None:
    spec = "0.5:-4:0.6,0.3:1:0.5,0.2:5:0.8"
    mixture = check_mixture(spec)
    assert starting_points(mixture, 1) == [(0.0, 1.0)]  # Table 3's own start, LocationScaleGenerator's N(0, 1)
    starts = starting_points(mixture, 5, seed=3)
    assert starts[0] == (0.0, 1.0) and len(starts) == 5
    weights, means, stds = np.array([0.5, 0.3, 0.2]), np.array([-4.0, 1.0, 5.0]), np.array([0.6, 0.5, 0.8])
    exact_std = math.sqrt(float(weights @ (stds**2 + means**2)) - float(weights @ means) ** 2)
    for j, (mu, sigma) in enumerate(starts[1:], start=1):
        assert mu == pytest.approx(_mixture_quantile(spec, (j - 0.5) / 4), abs=0.03)
        assert sigma == pytest.approx(exact_std / 4, rel=0.01)
    assert starting_points(mixture, 5, seed=3) == starts  # the seed fixes the samples


def _fake_fits(
    tmp_path, monkeypatch, bounds: list[float | None], refits: list[float], cross: list[float] | None = None
) -> tuple:
    """fit_from_starts over len(bounds) starts, with each start's F (None: training fails), fresh critic's F and
    the other starts' critics' F (``cross``, one per finished start; None: below every other bound) given instead
    of trained."""

    def fake_fit(spec, divergence_name, config, recorder, folder, start, index):
        if bounds[index] is None:
            raise NonFiniteError(f"non-finite critic loss at step 7 (start {index})")
        folder.mkdir(parents=True)
        (folder / "score.json").write_text("{}")
        row = fit_one(parse_mixture("1:0:1"), "kl", default_config(steps=1))
        return dataclasses.replace(row, objective_hat=bounds[index], mu_hat=float(index), start=index)

    monkeypatch.setattr(table3_mixture, "fit_into_run", fake_fit)
    monkeypatch.setattr(table3_mixture, "train_critic", lambda mixture, q, name, seed: refits.pop(0))
    monkeypatch.setattr(
        table3_mixture,
        "cross_start_bounds",
        lambda mixture, name, folders, rows: cross or [-100.0] * len(rows),
    )
    monkeypatch.setattr(table3_mixture, "write_snapshots", lambda snapshots, folder, name: [])  # none recorded
    starts = [(float(index), 1.0) for index in range(len(bounds))]
    return fit_from_starts("1:0:1", "kl", default_config(steps=1), starts, 1, tmp_path)


def test_restarts_keep_the_smallest_of_the_larger_bounds_and_its_run_folder(tmp_path, monkeypatch) -> None:
    """Start 1's own critic failed (F = -10, below the constant critic's 0): the fresh critic's 2.0 outvotes it, so
    start 2 (the larger bound 0.5) is kept; start 3 failed and is listed, never kept."""
    kept, fits = _fake_fits(tmp_path, monkeypatch, [1.0, -10.0, 0.4, None], [0.9, 2.0, 0.5])
    assert kept.start == 2 and kept is fits[2] and [row.start for row in fits] == [0, 1, 2, 3]
    assert kept.objective_refit == 0.5 and selection_bound(kept) == 0.5
    assert fits[-1].failure.startswith("non-finite critic loss") and math.isnan(fits[-1].objective_hat)
    copied = json.loads((tmp_path / "runs" / "kl" / "score.json").read_text())  # the kept start's folder, copied
    assert copied == dataclasses.asdict(kept) and copied["mu_hat"] == 2.0
    assert format_starts(fits, [kept]).count("| yes |") == 1 and "| failed |" in format_starts(fits, [kept])
    assert sorted(path.name for path in (tmp_path / "starts" / "kl").iterdir()) == ["0", "1", "2"]


def test_restarts_let_another_starts_critic_outvote_a_short_one(tmp_path, monkeypatch) -> None:
    """Start 0's own and fresh critics fell short (F 1.0 and 0.9); start 1's critic reads its Q at 1.3, above start
    1's own bounds (1.2): so start 1 is kept, and the bounds are written to the starts' score.json."""
    kept, fits = _fake_fits(tmp_path, monkeypatch, [1.0, 1.2], [0.9, 1.1], cross=[1.3, 1.15])
    assert kept.start == 1 and [selection_bound(row) for row in fits] == [1.3, 1.2]
    assert json.loads((tmp_path / "starts" / "kl" / "0" / "score.json").read_text())["objective_cross"] == 1.3


def test_cross_start_bounds_are_lower_bounds_of_the_exact_divergence(tmp_path) -> None:
    """Two short kl fits: each fit's Q scored by the other's critic on fresh samples lands at or below the exact
    D_f(P‖Q_θ̂) by quadrature (up to sampling noise), and above the constant critic's 0."""
    spec, config = "0.5:-1:0.5,0.5:1:0.5", dataclasses.replace(default_config(steps=300), update="alternating")
    starts = [(0.0, 1.0), (0.5, 1.5)]
    folders = [tmp_path / str(index) for index in range(2)]
    rows = [
        fit_into_run(spec, "kl", config, SnapshotRecorder(1, config.steps), folder, start, index)
        for index, (folder, start) in enumerate(zip(folders, starts, strict=True))
    ]
    mixture = parse_mixture(spec)
    for row, bound in zip(rows, cross_start_bounds(mixture, "kl", folders, rows), strict=True):
        exact = divergence_at(get_divergence("kl"), mixture, row.mu_hat, row.sigma_hat)
        assert 0.0 < bound <= exact + 0.01


def test_restarts_raise_when_every_start_fails(tmp_path, monkeypatch) -> None:
    with pytest.raises(NonFiniteError, match=r"every start of kl failed; the last: non-finite critic loss"):
        _fake_fits(tmp_path, monkeypatch, [None, None], [])


def test_a_failed_fit_exits_1_in_one_line(tmp_path, monkeypatch, capsys) -> None:
    def failing(*args, **kwargs):
        raise NonFiniteError("non-finite generator gradient at step 3 with divergence kl")

    monkeypatch.setattr(table3_mixture, "fit_into_run", failing)
    assert main(["reproduce", "gaussian-mixture", "--divergence", "kl", "--out", str(tmp_path / "t3")]) == 1
    err = capsys.readouterr().err
    assert "non-finite generator gradient at step 3" in err and "Traceback" not in err


@pytest.mark.slow
def test_restarts_find_the_heaviest_component_under_reverse_kl(tmp_path, monkeypatch) -> None:
    """reverse-kl from Table 3's start N(0, 1) ends on the lighter component of 0.7 N(-3, 0.5²) + 0.3 N(3, 0.5²)
    (or between them); a start from P's lower quantile ends on θ* = (-3, 0.5), D = -log 0.7, and is kept."""
    monkeypatch.setattr(table3_cross, "CRITIC_STEPS", 600)
    out = tmp_path / "t3"
    argv = ["reproduce", "gaussian-mixture", "--mixture", "0.7:-3:0.5,0.3:3:0.5", "--divergence", "reverse-kl"]
    argv += ["--restarts", "3", "--steps", "600", "--update", "alternating", "--critic-steps", "5"]
    assert main([*argv, "--snapshots", "1", "--out", str(out), "--json"]) == 0
    (row,) = json.loads((out / "table.json").read_text())
    assert row["start"] == 1 and row["divergence_star"] == pytest.approx(-math.log(0.7), abs=1e-3)
    assert abs(row["mu_hat"] - row["mu_star"]) <= 0.1 and abs(row["sigma_hat"] - row["sigma_star"]) <= 0.1
    starts = json.loads((out / "starts.json").read_text())
    assert [fit["start"] for fit in starts] == [0, 1, 2]
    assert starts[0]["divergence_at_hat"] > row["divergence_at_hat"] + 0.5  # the generator's own start falls short
    assert json.loads((out / "runs" / "reverse-kl" / "score.json").read_text()) == row
