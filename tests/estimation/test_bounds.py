"""The KL bound forms against Monte Carlo with the true log ratio as critic, and their standard errors."""

from __future__ import annotations

import numpy as np
import pytest

from fgan.estimation.bounds import KL_FORMS, HeldOut, bootstrap_kl_form, form_terms, kl_form

SHIFT = 1.0
TRUTH = SHIFT**2 / 2  # KL(N(0, 1) || N(1, 1))


def true_log_ratio(x: np.ndarray) -> np.ndarray:
    """log N(x; 0, 1) - log N(x; 1, 1) = -x + 1/2."""
    return -SHIFT * x + SHIFT**2 / 2


def held_out(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return true_log_ratio(rng.standard_normal(n)), true_log_ratio(rng.standard_normal(n) + SHIFT)


@pytest.mark.parametrize("form", KL_FORMS)
def test_every_form_with_the_true_log_ratio_is_the_kl(form) -> None:
    a, b = held_out(400_000, 0)
    value, se = kl_form(form, [HeldOut(a, b)], tau=5.0)
    assert value == pytest.approx(TRUTH, abs=max(4 * se, 0.005))
    assert 0 < se < 0.01


def test_dv_is_at_least_nwj_and_shift_invariant() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.3, 1.0, 500), rng.normal(-0.2, 1.2, 500)
    dv, nwj = form_terms("dv", a, b, 0.0)[0], form_terms("nwj", a, b, 0.0)[0]
    assert dv >= nwj
    assert form_terms("dv", a + 3.0, b + 3.0, 0.0)[0] == pytest.approx(dv)
    assert form_terms("nwj", a + 3.0, b + 3.0, 0.0)[0] < nwj - 1.0


def test_smile_clips_the_weights() -> None:
    a, b = np.zeros(4), np.array([-10.0, 0.0, 0.0, 10.0])
    clipped = np.log(np.mean(np.exp(np.clip(b, -1.0, 1.0))))
    assert form_terms("smile", a, b, 1.0)[0] == pytest.approx(-clipped)
    assert form_terms("dv", a, b, 1.0)[0] < form_terms("smile", a, b, 1.0)[0]


def test_folds_are_weighted_by_their_share() -> None:
    a1, b1 = np.full(10, 1.0), np.zeros(10)
    a2, b2 = np.full(30, 2.0), np.zeros(30)
    assert kl_form("plug-in", [HeldOut(a1, b1), HeldOut(a2, b2)], 5.0)[0] == pytest.approx(0.25 * 1.0 + 0.75 * 2.0)


def test_normal_standard_error_matches_the_spread_over_replicates() -> None:
    values, errors = [], []
    for seed in range(300):
        a, b = held_out(500, 100 + seed)
        value, se = kl_form("dv", [HeldOut(a, b)], 5.0)
        values.append(value)
        errors.append(se)
    assert np.mean(errors) == pytest.approx(np.std(values), rel=0.15)
    a, b = held_out(500, 7)
    draws = bootstrap_kl_form("dv", [HeldOut(a, b)], 5.0, 400, np.random.default_rng(0))
    assert draws.std() == pytest.approx(np.mean(errors), rel=0.25)


def test_extrapolation_cancels_a_one_over_n_shortfall() -> None:
    """A critic whose bound falls short by c/n, fitted on n and n/2 samples: 2 dv_n - dv_{n/2} is the KL."""
    a, b = held_out(200_000, 3)
    exact = kl_form("dv", [HeldOut(a, b)], 5.0)[0]
    noise = np.random.default_rng(4)
    shortfall = 0.1  # the critic fitted on n samples: log ratio + a zero-mean error of variance 2 · 0.1
    err_p, err_q = noise.standard_normal(len(a)), noise.standard_normal(len(b))
    fold = HeldOut(
        a + np.sqrt(2 * shortfall) * err_p,
        b + np.sqrt(2 * shortfall) * err_q,
        a + np.sqrt(4 * shortfall) * err_p,
        b + np.sqrt(4 * shortfall) * err_q,
    )
    assert kl_form("dv", [fold], 5.0)[0] == pytest.approx(exact - shortfall, abs=0.02)
    assert kl_form("dv-extrapolated", [fold], 5.0)[0] == pytest.approx(exact, abs=0.03)
    assert kl_form("dv-extrapolated", [HeldOut(a, b)], 5.0) == kl_form("dv", [HeldOut(a, b)], 5.0)


@pytest.mark.parametrize("half_offset", [np.nan, 5.0])
def test_no_extrapolation_from_a_half_fit_that_is_not_shorter(half_offset: float) -> None:
    """A half fit whose held-out dv is NaN, or above the full fit's (a critic that only looks better on these
    samples, as a degenerate fit of nearly separable sets does), leaves the fold at its dv."""
    a, b = held_out(2000, 5)
    fold = HeldOut(a, b, a + half_offset, b)  # dv of the half fit: the full fit's + half_offset
    assert kl_form("dv-extrapolated", [fold], 5.0) == kl_form("dv", [HeldOut(a, b)], 5.0)
