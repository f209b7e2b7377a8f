"""Whether a held-out estimate can be trusted: the Pareto-k̂ of its terms (:mod:`fgan.estimation.psis`).

A bound is a difference of two sample means over held-out samples, one per set. A mean converges at a usable rate
only when the values' tail is light enough: k̂ at most ``min(1 - 1/log10(n), 0.7)`` (Vehtari et al.). The Q term
of the KL bounds is a mean of importance weights ``e^{s(y)}`` (unbounded in the critic); the P term, of the log
ratio. k̂ is taken on the right tail of the Q term and on both tails of the P term (its distance from its median);
for the weights, also as read from their values on the P samples (:func:`fgan.estimation.psis.size_biased_k_hat`),
which reach the tail that Q's samples miss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fgan.estimation.psis import k_hat_threshold, pareto_k_hat, size_biased_k_hat


@dataclass
class Reliability:
    """The k̂ of each term (``nan`` where the tail is too short to fit), and the warnings they raise."""

    k_hat: dict[str, float]
    warnings: list[str] = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        """No warning."""
        return not self.warnings


def assess(
    p_term: np.ndarray, q_term: np.ndarray, q_term_name: str, log_weights_on_p: np.ndarray | None = None
) -> Reliability:
    """The k̂ of the held-out P term and Q term values, a warning for each above its threshold; with
    ``log_weights_on_p`` (the log of the Q term's weights at the held-out samples of the other set: for the KL
    bounds, the log ratio on the first set), also the weights' k̂ read from those (``q_term_from_p``)."""
    k_hat = {
        "q_term": pareto_k_hat(q_term),
        "p_term": pareto_k_hat(np.abs(p_term - np.median(p_term))),
    }
    held_out = "on held-out samples"
    checked = [("q_term", q_term, f"{q_term_name} {held_out}"), ("p_term", p_term, f"the P term {held_out}")]
    if log_weights_on_p is not None:
        k_hat["q_term_from_p"] = size_biased_k_hat(log_weights_on_p)
        where = "read from their values at the held-out samples of the first set"
        checked.append(("q_term_from_p", log_weights_on_p, f"{q_term_name}, {where}"))
    warnings = []
    for name, values, what in checked:
        limit = k_hat_threshold(len(values))
        if not math.isnan(k_hat[name]) and k_hat[name] > limit:
            warnings.append(
                f"unreliable: Pareto k-hat {k_hat[name]:.2f} > {limit:.2f} for {what}; its "
                "mean does not converge at a usable rate, so the estimate and its interval cannot be trusted"
            )
    return Reliability(k_hat, warnings)
