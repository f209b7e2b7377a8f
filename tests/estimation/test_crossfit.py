"""The log-ratio route's choice between critics: the closed forms' validation bounds cross-validated inside a fold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fgan.estimation import crossfit
from fgan.estimation.bounds import form_terms
from fgan.estimation.config import EstimateConfig
from fgan.estimation.critics import GaussianLogRatio
from fgan.estimation.mlp import Split, validation_split


def _split(seed: int = 0, n: int = 600, dim: int = 3, dtype: torch.dtype = torch.float64) -> Split:
    generator = torch.Generator().manual_seed(seed)
    p = torch.randn(n, dim, generator=generator, dtype=dtype)
    q = torch.randn(n, dim, generator=generator, dtype=dtype) * 1.2 + 0.5
    return validation_split(p, q, 0.2, np.random.default_rng(seed))


def test_every_training_sample_of_the_fold_validates_once(monkeypatch) -> None:
    """INNER_FOLDS parts of the fold's training samples (fitted and validation alike), each scored by a fit on the
    rest: the scored parts are disjoint and cover the fold, and each fit excludes what it scores."""
    split, calls = _split(), []
    monkeypatch.setattr(
        crossfit, "_reported_bound", lambda kind, fitted, scored, config: calls.append((fitted, scored)) or 1.0
    )
    assert crossfit._closed_form_score("gaussian", split, EstimateConfig()) == 1.0
    assert len(calls) == crossfit.INNER_FOLDS
    for side, whole in (
        (0, torch.cat([split.p_fit, split.p_validation])),
        (1, torch.cat([split.q_fit, split.q_validation])),
    ):
        scored = torch.cat([call[1][side] for call in calls])
        assert torch.equal(scored.sort(0).values, whole.sort(0).values)
        for fitted, held in calls:
            assert len(fitted[side]) + len(held[side]) == len(whole)
            rows = {tuple(row) for row in fitted[side].tolist()}
            assert not any(tuple(row) in rows for row in held[side].tolist())


@pytest.mark.parametrize("form", ["dv", "dv-extrapolated"])
def test_the_score_is_the_mean_of_the_parts_bounds_in_the_reported_form(form: str) -> None:
    """Against a direct computation: Gaussian fits by hand on each part's complement (and its first half for the
    extrapolated form), the Donsker-Varadhan bound on the part, clamped to the fit's ranges."""
    split, config = _split(1), EstimateConfig(kl_form=form)
    first, second = torch.cat([split.p_fit, split.p_validation]), torch.cat([split.q_fit, split.q_validation])
    parts = list(
        zip(
            np.array_split(np.arange(len(first)), crossfit.INNER_FOLDS),
            np.array_split(np.arange(len(second)), crossfit.INNER_FOLDS),
            strict=True,
        )
    )

    def dv(a: torch.Tensor, b: torch.Tensor, a_out: torch.Tensor, b_out: torch.Tensor) -> float:
        critic = GaussianLogRatio(a, b)
        with torch.no_grad():
            on_a, on_b = critic(a), critic(b)
            scored_a = critic(a_out).clamp(on_a.min(), on_a.max())
            scored_b = critic(b_out).clamp(on_b.min(), on_b.max())
        return form_terms("dv", scored_a.numpy(), scored_b.numpy(), 0.0)[0]

    expected = []
    for a_out, b_out in parts:
        a_rest, b_rest = np.setdiff1d(np.arange(len(first)), a_out), np.setdiff1d(np.arange(len(second)), b_out)
        full = dv(first[a_rest], second[b_rest], first[a_out], second[b_out])
        if form == "dv":
            expected.append(full)
            continue
        half = dv(first[a_rest[: len(a_rest) // 2]], second[b_rest[: len(b_rest) // 2]], first[a_out], second[b_out])
        expected.append(2 * full - half if half <= full else full)
    assert crossfit._closed_form_score("gaussian", split, config) == pytest.approx(float(np.mean(expected)), rel=1e-9)


@pytest.mark.parametrize(
    ("bounds", "kept"),
    [
        ({"gaussian": 0.30, "tails": 0.32, "mlp": 0.34, crossfit.MLP_STANDARD_ERROR: 0.03}, "tails"),
        ({"gaussian": 0.30, "tails": 0.32, "mlp": 0.36, crossfit.MLP_STANDARD_ERROR: 0.03}, "mlp"),
        ({"gaussian": 0.33, "tails": 0.32, "mlp": 0.30, crossfit.MLP_STANDARD_ERROR: 0.01}, "gaussian"),
        ({"tails": 0.20, "mlp": 0.5, crossfit.MLP_STANDARD_ERROR: 0.31}, "tails"),
        ({"gaussian": 0.30, "tails": 0.32}, "tails"),
        ({"mlp": -1.0, crossfit.MLP_STANDARD_ERROR: 2.0}, "mlp"),
    ],
)
def test_the_mlp_is_kept_only_where_it_beats_the_closed_forms_by_its_standard_error(
    bounds: dict[str, float], kept: str
) -> None:
    assert crossfit.choose_critic(bounds) == kept


def test_the_mlp_standard_error_is_its_validation_bound_spread_over_resampled_validation_sets() -> None:
    """The recorded standard error of the MLP's validation bound against a bootstrap of the bound of the same
    (clamped) critic over the validation samples drawn with replacement: the delta method against resampling."""
    split = _split(2, n=3000, dtype=torch.float32)
    bounds, mlp = crossfit._validation_bounds(split, EstimateConfig(max_steps=400))
    assert mlp is not None and bounds["mlp"] == mlp.validation_bound
    with torch.no_grad():
        a = mlp.for_first(split.p_validation).double().numpy()
        b = mlp.for_second(split.q_validation).double().numpy()
    assert form_terms("dv", a, b, 0.0)[0] == pytest.approx(bounds["mlp"], rel=1e-9)
    rng = np.random.default_rng(0)
    draws = [
        form_terms("dv", a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))], 0.0)[0]
        for _ in range(2000)
    ]
    assert bounds[crossfit.MLP_STANDARD_ERROR] == pytest.approx(float(np.std(draws)), rel=0.1)
