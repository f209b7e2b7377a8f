r"""Exact f-divergences of 1-D densities by numerical integration, and best fits by optimisation.

``D_f(P||Q) = ∫ q(x) f(p(x)/q(x)) dx`` is integrated with the trapezoidal rule on a fine grid from the
log-densities, in float64. Where ``q f(p/q)`` overflows (one density negligible against the other, or f growing
like u³) the ratio is capped at ``|log r| = 100`` and q replaced by ``p / r`` at the cap: the integrand stays finite
for every divergence, and huge where the true value is huge, which is what an optimiser needs to be steered away.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.optimize import minimize
from torch import Tensor

from fgan.divergences import Divergence

LogDensity = Callable[[Tensor], Tensor]

_LOG_RATIO_CAP = 100.0
#: The grid of the reference sheet: 200,001 points over [-15, 20].
DEFAULT_GRID = (-15.0, 20.0, 200_001)


def make_grid(low: float, high: float, points: int) -> Tensor:
    """An evenly spaced float64 grid."""
    return torch.linspace(low, high, points, dtype=torch.float64)


def f_divergence_integrand(divergence: Divergence, log_p: Tensor, log_q: Tensor) -> Tensor:
    """``q f(p/q)`` from log-densities, finite wherever p and q are not both 0 (see the module docstring)."""
    log_ratio = log_p - log_q
    direct = torch.exp(log_q) * divergence.f(torch.exp(log_ratio))
    capped_ratio = torch.clamp(log_ratio, -_LOG_RATIO_CAP, _LOG_RATIO_CAP)
    capped_log_q = torch.where(log_ratio > _LOG_RATIO_CAP, log_p - _LOG_RATIO_CAP, log_q)
    capped = torch.exp(capped_log_q) * divergence.f(torch.exp(capped_ratio))
    return torch.where(torch.isfinite(direct), direct, capped)


def f_divergence_1d(divergence: Divergence, log_p: LogDensity, log_q: LogDensity, grid: Tensor) -> float:
    """``D_f(P||Q)`` for 1-D densities given as log-density functions, by the trapezoidal rule on ``grid``."""
    integrand = f_divergence_integrand(divergence, log_p(grid), log_q(grid))
    return float(torch.trapezoid(integrand, grid))


def gaussian_log_density(mean: float | Tensor, std: float | Tensor) -> LogDensity:
    """The log-density of N(mean, std²) as a function of x."""

    def log_density(x: Tensor) -> Tensor:
        return torch.distributions.Normal(
            torch.as_tensor(mean, dtype=x.dtype), torch.as_tensor(std, dtype=x.dtype)
        ).log_prob(x)

    return log_density


def best_gaussian_fit(
    divergence: Divergence, log_p: LogDensity, start: tuple[float, float], grid: Tensor | None = None
) -> tuple[float, float, float]:
    """``θ* = argmin_θ D_f(P||N(μ, σ²))`` by Nelder-Mead over (μ, log σ), starting from ``start = (μ, σ)``.

    Returns ``(μ*, σ*, D_f(P||Q_θ*))``.
    """
    grid = make_grid(*DEFAULT_GRID) if grid is None else grid
    log_p_grid = log_p(grid)

    def objective(params: np.ndarray) -> float:
        mu, log_sigma = float(params[0]), float(params[1])
        log_q_grid = gaussian_log_density(mu, float(np.exp(log_sigma)))(grid)
        value = float(torch.trapezoid(f_divergence_integrand(divergence, log_p_grid, log_q_grid), grid))
        return value if np.isfinite(value) else np.inf

    result = minimize(
        objective,
        x0=np.array([start[0], np.log(start[1])]),
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000},
    )
    return float(result.x[0]), float(np.exp(result.x[1])), float(result.fun)
