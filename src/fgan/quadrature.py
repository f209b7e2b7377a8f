r"""Exact f-divergences of 1-D densities by numerical integration, and best fits by optimisation.

``D_f(P||Q) = ∫ q(x) f(p(x)/q(x)) dx`` is integrated with the trapezoidal rule on a fine grid from the
log-densities, in float64. For Gaussian mixtures and Gaussian fits the grid follows the densities
(:func:`covering_grid`): every component ``(mean, std)`` is covered over ``mean ± 12 std`` (the mass beyond is below
1e-32), each stretch of x at the spacing ``std / 2000`` of the narrowest component covering it, and
:func:`check_mass` refuses a density whose mass on the grid is not 1 within 1e-6 (a component too narrow for
float64). Where ``q f(p/q)`` overflows or underflows (one density negligible against the other, or f
growing like u³), the integrand is written as ``q h(l)`` below ``l = log r = -100`` and ``p g(l)`` above ``l = 100``,
with ``h(l) = f(e^l)`` and ``g(l) = f(e^l) / e^l`` continued linearly in l from the cap (their slope over the last
unit of l, at least 0): exact for f growing like ``u log u`` or ``-log u`` (KL, reverse KL, Jeffrey), constant
where f/u or f levels off, and finite (huge where the true value is huge, which is what an optimiser needs to be
steered away) for every divergence.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from scipy.optimize import minimize
from torch import Tensor

from fgan.divergences import Divergence
from fgan.errors import UsageError

LogDensity = Callable[[Tensor], Tensor]
#: A Gaussian component to cover: (mean, standard deviation).
Component = tuple[float, float]

_LOG_RATIO_CAP = 100.0
#: Each component is covered over mean ± TAIL_STDS standard deviations.
TAIL_STDS = 12.0
#: Grid points per standard deviation of the narrowest component covering a stretch of x.
POINTS_PER_STD = 2000
#: The most points a covering grid may have (a mixture of many very different widths is refused).
MAX_GRID_POINTS = 5_000_000
#: How far from 1 a density's mass on the grid may be.
MASS_TOLERANCE = 1e-6


def make_grid(low: float, high: float, points: int) -> Tensor:
    """An evenly spaced float64 grid."""
    return torch.linspace(low, high, points, dtype=torch.float64)


def covering_grid(components: Sequence[Component]) -> Tensor:
    """A sorted float64 grid over ``mean ± TAIL_STDS std`` of every component: each stretch between consecutive
    interval ends at the spacing ``std / POINTS_PER_STD`` of the narrowest component covering it (a stretch no
    component covers, where every density is below its tails, by its two ends).

    Raises:
        UsageError: when the grid would need more than :data:`MAX_GRID_POINTS` points.
    """
    intervals = [(mean - TAIL_STDS * std, mean + TAIL_STDS * std, std) for mean, std in components]
    ends = sorted({end for low, high, _ in intervals for end in (low, high)})
    counts = []
    for left, right in itertools.pairwise(ends):
        widths = [std for low, high, std in intervals if low <= left and right <= high]
        counts.append(math.ceil((right - left) / min(widths) * POINTS_PER_STD) + 1 if widths else 2)
    if sum(counts) > MAX_GRID_POINTS:
        raise UsageError(
            f"integrating these densities needs {sum(counts):,} grid points, more than {MAX_GRID_POINTS:,}: "
            "their standard deviations differ too much"
        )
    stretches = [
        make_grid(left, right, count) for (left, right), count in zip(itertools.pairwise(ends), counts, strict=True)
    ]
    return torch.unique(torch.cat(stretches)) if stretches else torch.tensor(ends, dtype=torch.float64)


def grid_mass(log_density: LogDensity, grid: Tensor) -> float:
    """``∫ exp(log_density)`` on ``grid`` by the trapezoidal rule (1 for a density the grid covers)."""
    return float(torch.trapezoid(torch.exp(log_density(grid)), grid))


def check_mass(log_density: LogDensity, grid: Tensor, what: str) -> None:
    """Raise UsageError unless the mass of the density ``what`` on ``grid`` is 1 within :data:`MASS_TOLERANCE`."""
    mass = grid_mass(log_density, grid)
    if not abs(mass - 1.0) <= MASS_TOLERANCE:
        raise UsageError(f"cannot integrate {what} in float64: its mass on the quadrature grid is {mass:.6g}, not 1")


def f_divergence_integrand(divergence: Divergence, log_p: Tensor, log_q: Tensor) -> Tensor:
    """``q f(p/q)`` from log-densities, finite wherever p and q are not both 0 (see the module docstring)."""
    log_ratio = log_p - log_q
    direct = torch.exp(log_q) * divergence.f(torch.exp(log_ratio))
    cap = _LOG_RATIO_CAP
    ends = torch.tensor([-cap, 1.0 - cap, cap - 1.0, cap], dtype=log_ratio.dtype, device=log_ratio.device)
    f_ends = divergence.f(torch.exp(ends))
    low, low_slope = f_ends[0], torch.clamp(f_ends[0] - f_ends[1], min=0.0)  # h(l) = f(e^l), outward per unit l
    per_p = f_ends[2:] * torch.exp(-ends[2:])  # g(l) = f(e^l) / e^l, as q f(p/q) = p g(log r)
    high, high_slope = per_p[1], torch.clamp(per_p[1] - per_p[0], min=0.0)
    below = torch.exp(log_q) * (low + low_slope * torch.clamp(-cap - log_ratio, min=0.0))
    above = torch.exp(log_p) * (high + high_slope * torch.clamp(log_ratio - cap, min=0.0))
    return torch.where(torch.isfinite(direct), direct, torch.where(log_ratio > 0, above, below))


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


def gaussian_fit_divergence(
    divergence: Divergence, log_p: LogDensity, cover: Sequence[Component], mu: float, sigma: float
) -> float:
    """``D_f(P||N(μ, σ²))`` on the grid covering ``cover`` (P's components) and N(μ, σ²); NaN when N(μ, σ²)'s
    mass on that grid is not 1 (σ too small against μ for float64)."""
    if not (math.isfinite(mu) and 0.0 < sigma < math.inf):
        return math.nan
    grid = covering_grid([*cover, (mu, sigma)])
    log_q = gaussian_log_density(mu, sigma)
    if not abs(grid_mass(log_q, grid) - 1.0) <= MASS_TOLERANCE:
        return math.nan
    return f_divergence_1d(divergence, log_p, log_q, grid)


#: Nelder-Mead's tolerances for the descent from each start, and for the refinement of the best end.
_COARSE = {"xatol": 1e-2, "fatol": 1e-4, "maxiter": 200}
_FINE = {"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000}
#: The refinement's first simplex: the best end and two points this far from it in μ and in log σ.
_STEP = 0.02


def best_gaussian_fit(
    divergence: Divergence,
    log_p: LogDensity,
    start: tuple[float, float],
    grid: Tensor | None = None,
    cover: Sequence[Component] = (),
) -> tuple[float, float, float]:
    """``θ* = argmin_θ D_f(P||N(μ, σ²))`` by Nelder-Mead over (μ, log σ), from ``start = (μ, σ)`` and from each
    component of ``cover``.

    D_f(P||N(μ, σ²)) has a local minimum at each well-separated component of P for the mode-seeking divergences
    (reverse-kl, neyman: on 0.5·N(−4, 0.6²) + 0.3·N(1, 0.5²) + 0.2·N(5, 0.8²), reverse-kl from the moment fit ends
    at (2.99, 2.02) with 1.61, against log 2 at (−4, 0.6)). So every start is descended with a loose tolerance
    (:data:`_COARSE`), and the best end is refined with a tight one (:data:`_FINE`). Each candidate is integrated on
    ``grid`` or, when it is None, on the grid covering ``cover`` (P's components) and the candidate
    (:func:`gaussian_fit_divergence`); a candidate that cannot be integrated counts as +inf.

    Returns ``(μ*, σ*, D_f(P||Q_θ*))``.
    """
    if grid is None and not cover:
        raise ValueError("best_gaussian_fit needs a grid or the components of P to cover")
    log_p_grid = None if grid is None else log_p(grid)

    def objective(params: np.ndarray) -> float:
        mu, sigma = float(params[0]), float(np.exp(params[1]))
        if grid is None or log_p_grid is None:
            value = gaussian_fit_divergence(divergence, log_p, cover, mu, sigma)
        else:
            log_q_grid = gaussian_log_density(mu, sigma)(grid)
            value = float(torch.trapezoid(f_divergence_integrand(divergence, log_p_grid, log_q_grid), grid))
        return value if np.isfinite(value) else np.inf

    starts = [np.array([mu, np.log(sigma)]) for mu, sigma in (start, *cover)]
    ends = [minimize(objective, x0=x0, method="Nelder-Mead", options=_COARSE) for x0 in starts]
    best = min(ends, key=lambda end: end.fun)
    simplex = best.x + np.array([[0.0, 0.0], [_STEP, 0.0], [0.0, _STEP]])  # near the end, not 5 % of it
    result = minimize(objective, x0=best.x, method="Nelder-Mead", options={**_FINE, "initial_simplex": simplex})
    return float(result.x[0]), float(np.exp(result.x[1])), float(result.fun)
