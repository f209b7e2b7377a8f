r"""The k-nearest-neighbour estimators of KL(P||Q) from samples: a baseline beside the variational estimate.

Wang, Kulkarni and Verdú, "Divergence estimation for multidimensional densities via k-nearest-neighbor distances"
(IEEE Trans. Inf. Theory 55(5), 2009), and Pérez-Cruz, "Kullback-Leibler divergence estimation of continuous
distributions" (ISIT 2008). With ``x_1 .. x_n`` from P and ``y_1 .. y_m`` from Q in d dimensions, ρ_k(i) the
distance from x_i to its k-th nearest neighbour among the other x, and ν_k(i) that to its k-th nearest among the y:

* ``fixed``: ``D̂ = d/n Σ_i log(ν_k(i)/ρ_k(i)) + log(m/(n-1))`` (consistent for fixed k);
* ``adaptive`` (the bias-corrected form of Wang et al., their eq. with data-dependent k_i, l_i): with
  ε(i) = max(ρ_k(i), ν_k(i)), k_i the number of other x and l_i the number of y within ε(i),
  ``D̂ = d/n Σ_i log(ν_{l_i}(i)/ρ_{k_i}(i)) + 1/n Σ_i [ψ(k_i) - ψ(l_i)] + log(m/(n-1))``, ψ the digamma function;
  (k_i/l_i estimates the ratio of the densities at x_i with one radius for both; ψ(k_i) - ψ(l_i) is the
  unbiased log of it).

Distances are Euclidean, from scipy's KD-tree (:class:`scipy.spatial.cKDTree`). Its bias grows with the dimension
and with the divergence (far-apart sets): the variational estimate is the one to trust there. The reverse
divergence KL(Q||P) is the same estimator with the sets swapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from fgan.errors import UsageError
from fgan.options import check_options, option

#: ``KnnConfig.variant``.
KnnVariant = Literal["adaptive", "fixed"]
KNN_VARIANTS: tuple[KnnVariant, ...] = get_args(KnnVariant)
#: The divergences the k-nearest-neighbour estimators give.
KNN_DIVERGENCES = ("kl", "reverse-kl")


@dataclass
class KnnConfig:
    """Options of :func:`knn_divergence`."""

    k: int = option(3, help="k-nearest-neighbour estimate: the neighbour rank k", low=1)
    variant: KnnVariant = option(
        "adaptive", help="k-nearest-neighbour estimate: bias-corrected radii, or fixed k", choices=KNN_VARIANTS
    )


@dataclass
class KnnEstimate:
    """The result of :func:`knn_divergence`."""

    divergence: str
    estimate: float
    k: int
    variant: str
    n_p: int
    n_q: int
    method: str = "knn"


def knn_kl(p: np.ndarray, q: np.ndarray, k: int, variant: KnnVariant = "adaptive") -> float:
    """KL(P||Q) from samples ``p`` of shape ``(n, d)`` and ``q`` of shape ``(m, d)`` (see the module docstring).

    Raises:
        UsageError: for fewer than k + 1 samples of P or k of Q, or repeated samples that make a distance 0.
    """
    n, dim = p.shape
    m = len(q)
    if n <= k or m < k:
        raise UsageError(f"the k-nearest-neighbour estimate with k = {k} needs more than {k} samples of each set")
    p_tree, q_tree = cKDTree(p), cKDTree(q)
    rho = _kth_distances(p_tree, p, k + 1)  # the first neighbour of x_i among the x is itself
    nu = _kth_distances(q_tree, p, k)
    correction = 0.0
    if variant == "adaptive":
        radius = np.maximum(rho, nu)
        k_i = p_tree.query_ball_point(p, radius, return_length=True) - 1
        l_i = q_tree.query_ball_point(p, radius, return_length=True)
        rho = _ranked_distances(p_tree, p, k_i + 1)
        nu = _ranked_distances(q_tree, p, l_i)
        correction = float(np.mean(digamma(k_i) - digamma(l_i)))
    if np.any(rho <= 0) or np.any(nu <= 0):
        raise UsageError(
            "repeated samples make a nearest-neighbour distance 0: the k-nearest-neighbour estimate needs distinct "
            "points (raise --k)"
        )
    return float(dim * np.mean(np.log(nu / rho)) + correction + np.log(m / (n - 1)))


def _kth_distances(tree: cKDTree, points: np.ndarray, k: int) -> np.ndarray:
    """The distance from each point to its k-th nearest neighbour in ``tree``."""
    distances, _ = tree.query(points, k=[k])
    return distances[:, 0]


def _ranked_distances(tree: cKDTree, points: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """The distance from each point to its ``ranks[i]``-th nearest neighbour in ``tree`` (ranks >= 1)."""
    distances = np.empty(len(points))
    for rank in np.unique(ranks):
        chosen = ranks == rank
        distances[chosen] = _kth_distances(tree, points[chosen], int(rank))
    return distances


def knn_divergence(
    p_samples: np.ndarray, q_samples: np.ndarray, divergence: str, config: KnnConfig | None = None
) -> KnnEstimate:
    """KL(P||Q) (``kl``) or KL(Q||P) (``reverse-kl``) by :func:`knn_kl`, from checked sample arrays.

    Raises:
        UsageError: for another divergence, bad options or too few samples.
    """
    config = config or KnnConfig()
    check_options(config)
    if divergence not in KNN_DIVERGENCES:
        raise UsageError(
            f"the k-nearest-neighbour estimate gives {' and '.join(KNN_DIVERGENCES)} only, not {divergence}"
        )
    first, second = (p_samples, q_samples) if divergence == "kl" else (q_samples, p_samples)
    estimate = knn_kl(np.asarray(first, np.float64), np.asarray(second, np.float64), config.k, config.variant)
    return KnnEstimate(divergence, estimate, config.k, config.variant, len(p_samples), len(q_samples))
