r"""Cross-fitting: both sets cut into ``folds`` parts; each part is scored by a critic fitted on the other parts.

Two routes. The f-GAN route (every divergence but kl and reverse-kl) trains the MLP critic of
:mod:`fgan.estimation.mlp` on the divergence's own bound. The log-ratio route (kl; reverse-kl as kl with the sets
swapped) lets each fold choose its critic from a small family (:data:`fgan.estimation.critics.CRITIC_KINDS`): the
Ledoit-Wolf Gaussian fit, the tail-feature fit and the MLP trained on the kl bound (log ratio ``V - 1``),
compared by their bound on samples they were not fitted on, in the form the estimate reports: the MLP's on a
validation split of the fold's training samples (at its best step), the closed forms' cross-validated over
:data:`INNER_FOLDS` parts of the fold's training samples. Every candidate's validation bound is a lower bound on
KL, so choosing the larger is choosing the tighter. The MLP's bound is the largest of its validation curve, read
on the samples that chose its step, so it is optimistic by about its noise; it is chosen only where it beats the
closed forms by more than its standard error (the one-standard-error rule, :func:`choose_critic`). The choice uses
only the fold's training samples, so the held-out part that scores the chosen critic stays unseen and the interval
is not biased by the choice. A closed
form, having no steps, is then refitted on all of the fold's training samples (and on half of them, for the
extrapolated form). A critic's output on held-out samples of a set is clamped to its range on that set's training
samples (a critic can run away in a region only one set reaches).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from fgan.divergences import Divergence, get_divergence
from fgan.estimation.bounds import HeldOut, fold_terms, kl_form
from fgan.estimation.config import EstimateConfig
from fgan.estimation.critics import AffineOutput, GaussianLogRatio, TailFeatureLogRatio
from fgan.estimation.mlp import ClampedCritic, Split, train_critic, validation_split

#: The critics fitted without steps, by kind.
CLOSED_FORM: dict[str, type[GaussianLogRatio] | type[TailFeatureLogRatio]] = {
    "gaussian": GaussianLogRatio,
    "tails": TailFeatureLogRatio,
}


@dataclass
class Folds:
    """What the folds' critics give: the critics (clamped to their range on both training sets, raw output V of
    the estimated divergence), per fold the chosen critic, its best step (0 for a critic fitted without steps),
    the validation bound of each candidate, and the validation curves of the MLP critics, chosen or not (each
    point with its fold); the held-out outputs on P
    (``real``) and Q (``fake``) per fold: raw outputs V on the f-GAN route, log ratios of the first set to the
    second on the log-ratio route."""

    critics: list[nn.Module] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    best_steps: list[int] = field(default_factory=list)
    validation_bounds: list[dict[str, float]] = field(default_factory=list)
    curve: list[dict[str, float]] = field(default_factory=list)
    real: list[Tensor] = field(default_factory=list)
    fake: list[Tensor] = field(default_factory=list)
    half_real: list[Tensor | None] = field(default_factory=list)
    half_fake: list[Tensor | None] = field(default_factory=list)

    def held_out(self) -> list[HeldOut]:
        """The log-ratio route's held-out outputs per fold, as float64 arrays."""

        def array(values: Tensor | None) -> np.ndarray | None:
            return None if values is None else values.double().numpy()

        return [
            HeldOut(real.double().numpy(), fake.double().numpy(), array(half_real), array(half_fake))
            for real, fake, half_real, half_fake in zip(
                self.real, self.fake, self.half_real, self.half_fake, strict=True
            )
        ]


def fold_parts(
    n_p: int, n_q: int, folds: int, generator: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per fold, ``(P training indices, P held-out indices, Q training, Q held-out)``."""
    return complement_parts(generator.permutation(n_p), generator.permutation(n_q), folds)


def complement_parts(
    p_order: np.ndarray, q_order: np.ndarray, folds: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``p_order`` and ``q_order`` (indices) each cut into ``folds`` consecutive parts; per part, ``(P indices of the
    other parts, P part, Q indices of the other parts, Q part)``."""
    p_folds = np.array_split(p_order, folds)
    q_folds = np.array_split(q_order, folds)
    parts = []
    for fold in range(folds):
        p_rest = np.concatenate([part for index, part in enumerate(p_folds) if index != fold])
        q_rest = np.concatenate([part for index, part in enumerate(q_folds) if index != fold])
        parts.append((p_rest, p_folds[fold], q_rest, q_folds[fold]))
    return parts


def fgan_cross_fit(
    divergence: Divergence, p_data: Tensor, q_data: Tensor, config: EstimateConfig, generator: np.random.Generator
) -> Folds:
    """The f-GAN route: per fold an MLP trained on the divergence's bound, scored on the held-out part."""
    result = Folds()
    for fold, (p_rest, p_out, q_rest, q_out) in enumerate(
        fold_parts(len(p_data), len(q_data), config.folds, generator)
    ):
        split = validation_split(p_data[p_rest], q_data[q_rest], config.validation_fraction, generator)
        trained = train_critic(divergence, split, config)
        with torch.no_grad():
            result.real.append(trained.for_p(p_data[p_out]).cpu())
            result.fake.append(trained.for_q(q_data[q_out]).cpu())
        low = torch.minimum(trained.for_p.low, trained.for_q.low)
        high = torch.maximum(trained.for_p.high, trained.for_q.high)
        result.critics.append(ClampedCritic(trained.for_p.critic, low, high))
        result.kinds.append("mlp")
        result.best_steps.append(trained.best_step)
        result.validation_bounds.append({"mlp": max(point["validation_bound"] for point in trained.curve)})
        result.curve.extend({"fold": fold, **point} for point in trained.curve)
    return result


@dataclass
class _Candidate:
    """A fitted log-ratio critic clamped for held-out samples of the first set and of the second (to its range on
    each set's fitted samples), its validation bound, best step and curve."""

    for_first: ClampedCritic
    for_second: ClampedCritic
    validation_bound: float
    standard_error: float = 0.0
    best_step: int = 0
    curve: list[dict[str, float]] = field(default_factory=list)


def _clamped(log_ratio: nn.Module, first: Tensor, second: Tensor) -> tuple[ClampedCritic, ClampedCritic]:
    """``log_ratio`` clamped for held-out samples of the first set and of the second, to its ranges on ``first`` and
    on ``second``."""
    with torch.no_grad():
        on_first, on_second = log_ratio(first), log_ratio(second)
    return (
        ClampedCritic(log_ratio, on_first.min(), on_first.max()),
        ClampedCritic(log_ratio, on_second.min(), on_second.max()),
    )


def _candidate(log_ratio: nn.Module, first: Tensor, second: Tensor, split: Split) -> _Candidate:
    """``log_ratio`` clamped to its ranges on ``first`` and ``second`` (:func:`_clamped`), with its bound on
    ``split``'s validation samples and that bound's delta-method standard error."""
    for_first, for_second = _clamped(log_ratio, first, second)
    with torch.no_grad():
        a, b = for_first(split.p_validation), for_second(split.q_validation)
    bound, standard_error = kl_form("dv", [HeldOut(a.double().cpu().numpy(), b.double().cpu().numpy())], 0.0)
    return _Candidate(for_first, for_second, bound, standard_error)


#: Inner folds of a fold's training samples over which a closed-form critic's validation bound is averaged.
INNER_FOLDS = 5


def _reported_bound(
    kind: str, fitted: tuple[Tensor, Tensor], scored: tuple[Tensor, Tensor], config: EstimateConfig
) -> float:
    """The bound of the ``kind`` critic fitted on ``fitted`` (samples of the first set, of the second) on the
    ``scored`` samples, in the form the estimate reports: with ``dv-extrapolated``, 2·DV(n) − DV(n/2) from a second
    fit on half of the fitted samples (:func:`fgan.estimation.bounds.fold_terms`)."""
    fit, (first, second) = CLOSED_FORM[kind], fitted
    fits = [(first, second)]
    if config.kl_form == "dv-extrapolated":
        fits.append((first[: len(first) // 2], second[: len(second) // 2]))
    outputs = []
    for a, b in fits:
        for_first, for_second = _clamped(fit(a, b), a, b)
        with torch.no_grad():
            outputs += [for_first(scored[0]).double().numpy(), for_second(scored[1]).double().numpy()]
    return fold_terms("dv-extrapolated" if len(fits) == 2 else "dv", HeldOut(*outputs), config.smile_tau)[0]


def _closed_form_score(kind: str, split: Split, config: EstimateConfig) -> float:
    """The ``kind`` critic's validation bound, cross-validated inside the fold: the fold's training samples (those
    of ``split``, fitted and validation alike, in their random order) cut into :data:`INNER_FOLDS` parts, each scored
    by the critic fitted on the others (:func:`_reported_bound`), the mean of the parts' bounds. Every training
    sample of the fold validates once, so the choice between critics whose bounds differ by less than one split's
    noise is not left to one split (a 50-D fold's single split of 667 samples a set chose a critic 0.2 nats worse
    on the held-out part); the held-out part of the fold stays unseen."""
    first = torch.cat([split.p_fit, split.p_validation])
    second = torch.cat([split.q_fit, split.q_validation])
    bounds = [
        _reported_bound(kind, (first[a_rest], second[b_rest]), (first[a_out], second[b_out]), config)
        for a_rest, a_out, b_rest, b_out in complement_parts(np.arange(len(first)), np.arange(len(second)), INNER_FOLDS)
    ]
    return float(np.mean(bounds))


def _validation_bounds(split: Split, config: EstimateConfig) -> tuple[dict[str, float], _Candidate | None]:
    """Each critic of the family's validation bound (the closed forms' cross-validated inside the fold,
    :func:`_closed_form_score`; the MLP's on ``split``'s validation samples, at its best step), and the MLP fitted on
    ``split`` (its log ratio is its kl output V less 1) where the family has it."""
    bounds = {kind: _closed_form_score(kind, split, config) for kind in CLOSED_FORM if kind in config.critics}
    if "mlp" not in config.critics:
        return bounds, None
    trained = train_critic(get_divergence("kl"), split, config)
    mlp = _candidate(AffineOutput(trained.for_p.critic, 1.0, -1.0), split.p_fit, split.q_fit, split)
    mlp.best_step, mlp.curve = trained.best_step, trained.curve
    bounds["mlp"], bounds[MLP_STANDARD_ERROR] = mlp.validation_bound, mlp.standard_error
    return bounds, mlp


#: The key of a fold's validation bounds under which the MLP's standard error is recorded.
MLP_STANDARD_ERROR = "mlp_standard_error"


def choose_critic(bounds: dict[str, float]) -> str:
    r"""The critic a fold keeps, from its validation bounds (:func:`_validation_bounds`): the closed form with the
    largest, unless the MLP's bound exceeds it by more than the MLP's standard error.

    The closed forms' bounds are means over inner folds whose scored parts chose nothing; the MLP's is the maximum
    of its validation curve on the samples that chose its step, optimistic by about its noise (on the 3-D Student
    t and Laplace pairs, reverse-kl at 5,000 samples a set, folds that kept the MLP by the raw comparison scored
    15-22 % below the truth on their held-out parts where the exact log ratio was within 10 %). Preferring the
    simpler model unless the more flexible one is better by more than one standard error is the
    one-standard-error rule (Breiman, Friedman, Olshen and Stone, *Classification and Regression Trees*, 1984;
    Hastie, Tibshirani and Friedman, *The Elements of Statistical Learning*, 2nd ed., 2009, Section 7.10). With the
    MLP alone in the family it is kept whatever its bound."""
    closed = {kind: bound for kind, bound in bounds.items() if kind in CLOSED_FORM}
    if not closed:
        return "mlp"
    best = max(closed, key=lambda kind: closed[kind])
    if "mlp" in bounds and bounds["mlp"] - bounds[MLP_STANDARD_ERROR] > closed[best]:
        return "mlp"
    return best


def log_ratio_cross_fit(
    divergence: Divergence, p_data: Tensor, q_data: Tensor, config: EstimateConfig, generator: np.random.Generator
) -> Folds:
    """The log-ratio route for KL(first || second), ``(first, second) = (P, Q)`` for kl and ``(Q, P)`` for
    reverse-kl; the critics stored give V of ``divergence`` (``1 + log p/q`` for kl, ``log p/q`` for reverse-kl)."""
    swapped = divergence.name == "reverse-kl"
    first, second = (q_data, p_data) if swapped else (p_data, q_data)
    result = Folds()
    parts = fold_parts(len(first), len(second), config.folds, generator)
    for fold, (a_rest, a_out, b_rest, b_out) in enumerate(parts):
        split = validation_split(first[a_rest], second[b_rest], config.validation_fraction, generator)
        bounds, mlp = _validation_bounds(split, config)
        kind = choose_critic(bounds)
        half_real, half_fake = None, None
        if kind == "mlp":
            assert mlp is not None
            chosen = mlp
        else:  # no steps to choose: refitted on all the fold's training samples, and on half
            fit = CLOSED_FORM[kind]
            chosen = _Candidate(
                *_clamped(fit(first[a_rest], second[b_rest]), first[a_rest], second[b_rest]), bounds[kind]
            )
            a_half, b_half = first[a_rest[: len(a_rest) // 2]], second[b_rest[: len(b_rest) // 2]]
            half_first, half_second = _clamped(fit(a_half, b_half), a_half, b_half)
            with torch.no_grad():
                half_real, half_fake = half_first(first[a_out]).cpu(), half_second(second[b_out]).cpu()
        result.half_real.append(half_real)
        result.half_fake.append(half_fake)
        with torch.no_grad():
            result.real.append(chosen.for_first(first[a_out]).cpu())
            result.fake.append(chosen.for_second(second[b_out]).cpu())
        low = torch.minimum(chosen.for_first.low, chosen.for_second.low)
        high = torch.maximum(chosen.for_first.high, chosen.for_second.high)
        log_ratio = ClampedCritic(chosen.for_first.critic, low, high)
        result.critics.append(AffineOutput(log_ratio, -1.0, 0.0) if swapped else AffineOutput(log_ratio, 1.0, 1.0))
        result.kinds.append(kind)
        result.best_steps.append(chosen.best_step)
        result.validation_bounds.append(bounds)
        if mlp is not None:  # its curve whether chosen or not: the steps it ran are the estimate's cost
            result.curve.extend({"fold": fold, **point} for point in mlp.curve)
    return result
