"""Estimating divergences between two sample sets: the variational estimate with cross-fitted critics
(:mod:`~fgan.estimation.variational`), the k-nearest-neighbour baseline (:mod:`~fgan.estimation.knn`), and the
Pareto-k̂ reliability diagnostic (:mod:`~fgan.estimation.psis`, :mod:`~fgan.estimation.reliability`)."""

from fgan.estimation.config import CI_METHODS, MIN_SPLIT, CIMethod, EstimateConfig
from fgan.estimation.knn import KnnConfig, KnnEstimate, knn_divergence
from fgan.estimation.mlp import ClampedCritic
from fgan.estimation.samples import as_samples, load_samples, save_array
from fgan.estimation.variational import DivergenceEstimate, estimate_divergence

__all__ = [
    "CI_METHODS",
    "MIN_SPLIT",
    "CIMethod",
    "ClampedCritic",
    "DivergenceEstimate",
    "EstimateConfig",
    "KnnConfig",
    "KnnEstimate",
    "as_samples",
    "estimate_divergence",
    "knn_divergence",
    "load_samples",
    "save_array",
]
