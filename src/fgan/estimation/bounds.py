r"""Lower bounds on KL(P||Q) from the values of a log-ratio critic ``s(x) ≈ log p(x)/q(x)`` on held-out samples.

With ``a_i = s(x_i)`` on n samples of P and ``b_j = s(y_j)`` on m samples of Q:

* ``dv``, Donsker and Varadhan (1983): ``mean_i a_i - log mean_j e^{b_j}``; KL = sup over s, reached by the true
  log ratio plus any constant;
* ``nwj``, Nguyen, Wainwright and Jordan (IEEE Trans. Inf. Theory 56(11), 2010), the f-GAN bound of kl with
  T = 1 + s: ``mean_i a_i + 1 - mean_j e^{b_j}``; reached by the true log ratio itself. Since
  log z <= z - 1, ``dv >= nwj`` for every critic: DV is the tighter of the two;
* ``smile``, Song and Ermon (ICLR 2020, "Understanding the limitations of variational mutual information
  estimators"): DV with the weights clipped, ``mean_i a_i - log mean_j clip(e^{b_j}, e^{-τ}, e^{τ})``, less
  variance, biased where the true ratio leaves [e^{-τ}, e^{τ}] (Poole et al., ICML 2019, "On variational bounds of
  mutual information", trade bias for variance the same way by interpolating between bounds);
* ``plug-in``: ``mean_i a_i``, the log ratio averaged over P; no bound, exact for the true log ratio.

Every form is computed per cross-fitting fold (a fold's critic normalised on its own held-out samples of Q) and
averaged with the folds' shares of P's samples. The normal interval is ``value ± z · se`` with the delta-method
``se² = Σ_f w_f² (var_f(a)/n_f + var_f(c)/m_f)``, c the Q term's influence: ``e^{b}/mean e^{b}`` for dv, ``e^{b}``
for nwj, the clipped weights over their mean for smile, none for plug-in. Checked against Monte Carlo with the true
log ratio as critic (``tests/estimation/test_bounds.py``).
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np
from scipy.special import logsumexp

#: The forms of the KL bound (see the module docstring).
KLForm = Literal["dv", "nwj", "smile", "plug-in"]
KL_FORMS: tuple[KLForm, ...] = get_args(KLForm)


def _log_mean_exp(values: np.ndarray) -> float:
    return float(logsumexp(values) - math.log(len(values)))


def form_terms(form: KLForm, a: np.ndarray, b: np.ndarray, tau: float) -> tuple[float, np.ndarray, np.ndarray]:
    """``(value, P-term influence, Q-term influence)`` of one form on one fold's held-out log ratios."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if form == "dv":
        log_mean = _log_mean_exp(b)
        return float(a.mean()) - log_mean, a, np.exp(b - log_mean)
    if form == "nwj":
        weights = np.exp(b)
        return float(a.mean()) + 1.0 - float(weights.mean()), a, weights
    if form == "smile":
        clipped = np.clip(b, -tau, tau)
        log_mean = _log_mean_exp(clipped)
        return float(a.mean()) - log_mean, a, np.exp(clipped - log_mean)
    return float(a.mean()), a, np.zeros(1)


def kl_form(form: KLForm, a_folds: list[np.ndarray], b_folds: list[np.ndarray], tau: float) -> tuple[float, float]:
    """``(value, standard error)`` of a form over the folds' held-out log ratios (see the module docstring)."""
    total = sum(len(a) for a in a_folds)
    value, variance = 0.0, 0.0
    for a, b in zip(a_folds, b_folds, strict=True):
        fold_value, p_terms, q_terms = form_terms(form, a, b, tau)
        share = len(a) / total
        value += share * fold_value
        variance += share**2 * (p_terms.var(ddof=1) / len(p_terms) + q_terms.var() / len(q_terms))
    return value, math.sqrt(variance)


def bootstrap_kl_form(
    form: KLForm,
    a_folds: list[np.ndarray],
    b_folds: list[np.ndarray],
    tau: float,
    draws: int,
    generator: np.random.Generator,
) -> np.ndarray:
    """``draws`` values of a form over resamples (with replacement, within each fold) of the held-out samples."""
    values = np.empty(draws)
    for index in range(draws):
        resampled_a = [a[generator.integers(0, len(a), len(a))] for a in a_folds]
        resampled_b = [b[generator.integers(0, len(b), len(b))] for b in b_folds]
        values[index] = kl_form(form, resampled_a, resampled_b, tau)[0]
    return values
