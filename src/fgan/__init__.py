"""fgan: train generative neural samplers by variational f-divergence minimisation.

The f-GAN method of Nowozin, Cseke and Tomioka (NIPS 2016): a generator Q_θ and a critic V_ω play the saddle-point
game F(θ, ω) = E_P[g_f(V_ω(x))] - E_{Q_θ}[f*(g_f(V_ω(x)))] for any f-divergence D_f.

Modules: :mod:`fgan.divergences` (every f, its conjugate and activation), :mod:`fgan.objectives` (the bound and the
losses), :mod:`fgan.training` (Algorithm 1 and alternating updates), :mod:`fgan.data` (synthetic data),
:mod:`fgan.datasets` (every data set by name), :mod:`fgan.models` (generators and critics), :mod:`fgan.quadrature`
(exact divergences of 1-D densities),
:mod:`fgan.runs` (the run folder), :mod:`fgan.estimation` (divergence estimation from samples),
:mod:`fgan.gaussians` (exact divergences between Gaussians), :mod:`fgan.divergences.custom` (divergences from any
convex f),
:mod:`fgan.idx` (IDX files), :mod:`fgan.images` (MNIST, Fashion-MNIST, digits, image folders),
:mod:`fgan.image_models` (the paper's MNIST pair, DCGAN), :mod:`fgan.grids` (image grids), :mod:`fgan.parzen`
(Parzen-window log-likelihood), :mod:`fgan.features` (classifier-feature metrics), :mod:`fgan.evaluation`
(scoring image runs), :mod:`fgan.runner` (runs from a config), :mod:`fgan.cli` (the command line).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fgan import data, datasets, image_models, images, models
    from fgan.divergences import Divergence, get_divergence, list_divergences, register_divergence
    from fgan.errors import UsageError
    from fgan.estimation import DivergenceEstimate, EstimateConfig, estimate_divergence
    from fgan.objectives import critic_loss, generator_loss, variational_bound
    from fgan.training import TrainConfig, Trainer, seed_everything

__version__ = "0.1.0"

#: Where each public name lives; imported on first use (PEP 562), so that ``import fgan`` (and ``fgan --help``)
#: imports neither torch nor scipy.
_EXPORTS = {
    "Divergence": "fgan.divergences",
    "get_divergence": "fgan.divergences",
    "list_divergences": "fgan.divergences",
    "register_divergence": "fgan.divergences",
    "UsageError": "fgan.errors",
    "DivergenceEstimate": "fgan.estimation",
    "EstimateConfig": "fgan.estimation",
    "estimate_divergence": "fgan.estimation",
    "critic_loss": "fgan.objectives",
    "generator_loss": "fgan.objectives",
    "variational_bound": "fgan.objectives",
    "TrainConfig": "fgan.training",
    "Trainer": "fgan.training",
    "seed_everything": "fgan.training",
}
_SUBMODULES = ("data", "datasets", "image_models", "images", "models")


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its module on first use."""
    if name in _SUBMODULES:
        return importlib.import_module(f"fgan.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'fgan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_SUBMODULES])


__all__ = [
    "Divergence",
    "DivergenceEstimate",
    "EstimateConfig",
    "TrainConfig",
    "Trainer",
    "UsageError",
    "critic_loss",
    "data",
    "datasets",
    "estimate_divergence",
    "generator_loss",
    "get_divergence",
    "image_models",
    "images",
    "list_divergences",
    "models",
    "register_divergence",
    "seed_everything",
    "variational_bound",
]
