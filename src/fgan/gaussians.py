r"""Exact f-divergences between multivariate Gaussians, ``P = N(m1, S1)`` and ``Q = N(m2, S2)`` in R^d.

The conventions are those of :mod:`fgan.divergences`: ``D_f(P||Q) = ∫ q f(p/q)``. With ``Δ = m2 - m1``::

    kl          KL(P||Q) = ½ [tr(S2⁻¹ S1) + Δᵀ S2⁻¹ Δ - d + ln(det S2 / det S1)]
    reverse-kl  KL(Q||P)
    jeffrey     KL(P||Q) + KL(Q||P)
    hellinger   ∫ (sqrt p - sqrt q)² = 2 (1 - BC),  BC = ∫ sqrt(p q)
                  = det(S1)^¼ det(S2)^¼ / det(S̄)^½ · exp(-⅛ Δᵀ S̄⁻¹ Δ),  S̄ = (S1 + S2)/2
    pearson     χ²(P||Q) = ∫ p²/q - 1,  finite iff 2 S2 - S1 ≻ 0
    neyman      χ²(Q||P) = ∫ q²/p - 1,  finite iff 2 S1 - S2 ≻ 0

The last three come from one Gaussian integral: for real α with ``S_α = α S2 + (1 - α) S1 ≻ 0``,

    ln ∫ p^α q^{1-α} = α(α - 1)/2 · Δᵀ S_α⁻¹ Δ - ½ ln det S_α + (1 - α)/2 ln det S1 + α/2 ln det S2,

and the integral diverges when S_α is not positive definite (the exponent is -½ xᵀ (α S1⁻¹ + (1 - α) S2⁻¹) x + ...,
and α S1⁻¹ + (1 - α) S2⁻¹ = S1⁻¹ S_α S2⁻¹ is positive definite exactly when S_α is). α = ½ gives BC,
α = 2 gives ∫ p²/q and α = -1 gives ∫ q²/p. For α in (0, 1) S_α is always positive definite.

Computation. The generalized symmetric eigenproblem ``S2 v = λ S1 v`` (Cholesky-based, ``scipy.linalg.eigh``) gives
V with ``Vᵀ S1 V = I`` and ``Vᵀ S2 V = diag(λ)``. In the coordinates ``y = Vᵀ (x - m1)`` P is N(0, I) and Q is
N(z, diag(λ)) with ``z = Vᵀ Δ``: both factorise over the d coordinates, no inverse is formed, and with
``s_i = α λ_i + 1 - α``::

    KL(P||Q) = ½ Σ [1/λ_i - 1 + ln λ_i + z_i²/λ_i]
    KL(Q||P) = ½ Σ [λ_i - 1 - ln λ_i + z_i²]
    ln ∫ p^α q^{1-α} = Σ [α(α - 1)/2 · z_i²/s_i - ½ ln s_i + α/2 ln λ_i]   (divergent if some s_i <= 0)

Numerical limits: an s_i within about 1e-12 (relative) of 0 cannot be told from 0 in float64 and is treated as
divergent; a finite χ² too large for a float64 (ln ∫ > ~709) is returned as ``inf`` too. Tiny negative results of
rounding are clipped to 0 (and the Hellinger distance to at most 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from fgan.divergences import Divergence, get_divergence
from fgan.errors import UsageError

#: The divergences with a closed form between Gaussians (canonical names of :func:`fgan.divergences.get_divergence`).
GAUSSIAN_CLOSED_FORMS: tuple[str, ...] = ("kl", "reverse-kl", "jeffrey", "hellinger", "pearson", "neyman")

_SYMMETRY_RTOL = 1e-8
#: s_i = α λ_i + 1 - α at or below this (relative to |α| λ_i + |1 - α|) counts as the divergent boundary.
_BOUNDARY_RTOL = 1e-12
#: ln of the largest float64 (exp overflows above it).
_LOG_MAX_FLOAT = math.log(np.finfo(np.float64).max)


def _as_mean(value: ArrayLike, label: str) -> np.ndarray:
    """A finite float64 vector of length d >= 1 (a scalar is a 1-D mean)."""
    array = _as_float_array(value, label)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or array.size == 0:
        raise UsageError(f"{label} must be a non-empty vector, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise UsageError(f"{label} must be finite")
    return array


def _as_cov(value: ArrayLike, dim: int, label: str) -> np.ndarray:
    """A symmetric positive definite (dim, dim) float64 matrix from a matrix, a variance or a vector of variances."""
    array = _as_float_array(value, label)
    if not np.all(np.isfinite(array)):
        raise UsageError(f"{label} must be finite")
    if array.ndim == 0 or (array.ndim == 1 and array.shape == (dim,)):
        if np.any(array <= 0.0):
            raise UsageError(f"{label}: variances must be positive, got {array.tolist()}")
        return np.diag(np.broadcast_to(array, (dim,))).astype(np.float64)
    if array.shape != (dim, dim):
        raise UsageError(
            f"{label} must be a ({dim}, {dim}) matrix, a variance or {dim} variances, got shape {array.shape}"
        )
    scale = float(np.max(np.abs(array)))
    if float(np.max(np.abs(array - array.T))) > _SYMMETRY_RTOL * scale:
        raise UsageError(f"{label} is not symmetric")
    array = 0.5 * (array + array.T)
    try:
        np.linalg.cholesky(array)
    except np.linalg.LinAlgError:
        raise UsageError(f"{label} is not positive definite") from None
    return array


def _as_float_array(value: ArrayLike, label: str) -> np.ndarray:
    try:
        array = np.array(value)
        if np.iscomplexobj(array):
            raise UsageError(f"{label} must be real")
        return array.astype(np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"{label} must be an array of numbers") from None


@dataclass(frozen=True, eq=False)
class Gaussian:
    """A multivariate normal N(mean, cov) in float64.

    ``mean`` may be given as a vector (or a scalar when d = 1), ``cov`` as a (d, d) matrix, a scalar variance or a
    vector of d variances; both are validated and stored as read-only float64 arrays of shapes (d,) and (d, d).
    """

    mean: np.ndarray
    cov: np.ndarray
    _chol: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        mean = _as_mean(self.mean, "mean")
        cov = _as_cov(self.cov, mean.size, "cov")
        chol = np.linalg.cholesky(cov)
        for name, array in (("mean", mean), ("cov", cov), ("_chol", chol)):
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    @property
    def dim(self) -> int:
        """The dimension d."""
        return int(self.mean.size)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws, shape (n, d): ``mean + L z`` with ``cov = L Lᵀ`` and z standard normal."""
        if int(n) != n or n < 0:
            raise UsageError(f"the number of samples must be a non-negative integer, got {n}")
        return self.mean + rng.standard_normal((int(n), self.dim)) @ self._chol.T

    def log_prob(self, x: ArrayLike) -> np.ndarray:
        """The log-density at points ``x`` of shape (..., d); returns shape (...)."""
        points = np.asarray(x, dtype=np.float64)
        if points.ndim == 0 or points.shape[-1] != self.dim:
            raise UsageError(f"points must have shape (..., {self.dim}), got {points.shape}")
        diff = (points - self.mean).reshape(-1, self.dim)
        white = scipy.linalg.solve_triangular(self._chol, diff.T, lower=True, check_finite=False)
        log_det = 2.0 * float(np.sum(np.log(np.diag(self._chol))))
        log_density = -0.5 * (self.dim * math.log(2.0 * math.pi) + log_det + np.sum(white * white, axis=0))
        return log_density.reshape(points.shape[:-1])


def _log_power_integral(alpha: float, lam: np.ndarray, z: np.ndarray) -> float:
    """``ln ∫ p^α q^{1-α}`` in the whitened coordinates of the module docstring; ``inf`` where it diverges."""
    s = alpha * lam + (1.0 - alpha)
    if np.any(s <= _BOUNDARY_RTOL * (abs(alpha) * lam + abs(1.0 - alpha))):
        return math.inf
    return float(np.sum(0.5 * alpha * (alpha - 1.0) * z * z / s - 0.5 * np.log(s) + 0.5 * alpha * np.log(lam)))


def _chi_square(log_integral: float) -> float:
    """``∫ ... - 1`` from its log, clipped at 0; ``inf`` past float64's range."""
    if log_integral > _LOG_MAX_FLOAT:
        return math.inf
    return max(0.0, math.expm1(log_integral))


def gaussian_divergence(
    name: str | Divergence, mean_p: ArrayLike, cov_p: ArrayLike, mean_q: ArrayLike, cov_q: ArrayLike
) -> float:
    """The exact ``D_f(P||Q)`` for ``P = N(mean_p, cov_p)`` and ``Q = N(mean_q, cov_q)``.

    Args:
        name: one of :data:`GAUSSIAN_CLOSED_FORMS` (any spelling :func:`fgan.divergences.get_divergence` accepts).
        mean_p, mean_q: vectors of length d (a scalar when d = 1).
        cov_p, cov_q: (d, d) symmetric positive definite matrices, scalar variances or vectors of d variances.

    Returns:
        The divergence as a float; ``math.inf`` for Pearson or Neyman χ² where the integral diverges.

    Raises:
        UsageError: an unsupported name, or means and covariances of the wrong shape, not finite, not symmetric or
            not positive definite.
    """
    supported = ", ".join(GAUSSIAN_CLOSED_FORMS)
    try:
        canonical = get_divergence(name).name
    except ValueError:
        raise UsageError(f"unknown divergence {name!r}; closed forms for Gaussians: {supported}") from None
    if canonical not in GAUSSIAN_CLOSED_FORMS:
        raise UsageError(f"no closed form for {canonical!r} between Gaussians; supported: {supported}")

    m1 = _as_mean(mean_p, "mean_p")
    m2 = _as_mean(mean_q, "mean_q")
    if m1.shape != m2.shape:
        raise UsageError(f"mean_p and mean_q differ in length: {m1.size} and {m2.size}")
    s1 = _as_cov(cov_p, m1.size, "cov_p")
    s2 = _as_cov(cov_q, m1.size, "cov_q")

    # S2 v = λ S1 v with Vᵀ S1 V = I, Vᵀ S2 V = diag(λ): P = N(0, I), Q = N(z, diag(λ)) in y = Vᵀ (x - m1).
    lam, vectors = scipy.linalg.eigh(s2, s1)
    if np.any(lam <= 0.0):
        raise UsageError("cov_p and cov_q are too ill-conditioned for float64")
    z = vectors.T @ (m2 - m1)
    z2 = z * z

    if canonical in ("kl", "reverse-kl", "jeffrey"):
        log_lam = np.log(lam)
        forward = 0.5 * float(np.sum(1.0 / lam - 1.0 + log_lam + z2 / lam))
        backward = 0.5 * float(np.sum(lam - 1.0 - log_lam + z2))
        value = {"kl": forward, "reverse-kl": backward, "jeffrey": forward + backward}[canonical]
        return max(0.0, value)
    if canonical == "hellinger":
        return min(2.0, max(0.0, -2.0 * math.expm1(_log_power_integral(0.5, lam, z))))
    if canonical == "pearson":
        return _chi_square(_log_power_integral(2.0, lam, z))
    return _chi_square(_log_power_integral(-1.0, lam, z))  # neyman
