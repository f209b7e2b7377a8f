"""The options of the variational estimate (:func:`fgan.estimation.estimate_divergence`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from fgan.estimation.bounds import KL_FORMS, KLForm
from fgan.estimation.critics import CRITIC_KINDS
from fgan.models import ACTIVATIONS
from fgan.options import check_options, option
from fgan.training import DEVICES

#: ``EstimateConfig.ci``: the normal approximation, or bootstrap percentiles.
CIMethod = Literal["normal", "bootstrap"]
CI_METHODS: tuple[CIMethod, ...] = get_args(CIMethod)
#: The fewest samples a split may hold.
MIN_SPLIT = 10


@dataclass
class EstimateConfig:
    """Options of :func:`fgan.estimation.estimate_divergence`."""

    hidden: int = option(64, help="critic units per hidden layer", low=1)
    depth: int = option(2, help="critic hidden layers", low=1)
    activation: str = option("elu", help="the critic's hidden activation", choices=ACTIVATIONS)
    max_steps: int = option(4000, help="most steps per critic", low=1)
    batch_size: int = option(1024, help="minibatch size", low=1)
    lr: float = option(1e-3, help="Adam step size", low=0, low_open=True, high=1)
    folds: int = option(3, help="cross-fitting folds", low=2)
    validation_fraction: float = option(
        0.15,
        help="share of each fold's training samples held out to stop early and to choose the critic",
        low=0,
        low_open=True,
        high=1,
        high_open=True,
    )
    eval_every: int = option(100, help="steps between validation bounds", low=1)
    patience: int = option(8, help="validation bounds without improvement before a critic stops", low=1)
    critics: tuple[str, ...] = option(
        CRITIC_KINDS,
        help="kl, reverse-kl: the critics each fold chooses from by its validation bound (gaussian: a Ledoit-Wolf "
        "Gaussian fit; mlp: the trained network)",
        choices=CRITIC_KINDS,
        flag="critic",
    )
    kl_form: KLForm = option("dv-extrapolated", help="kl, reverse-kl: the form of the bound reported", choices=KL_FORMS)
    smile_tau: float = option(5.0, help="kl, reverse-kl: the clip of the smile form, e^-τ to e^τ", low=0, low_open=True)
    ci: CIMethod = option("normal", help="interval: normal approximation or bootstrap", choices=CI_METHODS)
    level: float = option(0.95, help="confidence level", low=0, low_open=True, high=1, high_open=True)
    bootstrap_samples: int = option(1000, help="bootstrap resamples of the interval", low=10)
    seed: int = option(0, help="random seed")
    device: str = option("auto", help="auto: cuda, then mps, then cpu", choices=DEVICES)

    def validate(self) -> None:
        """Raise UsageError naming the first option out of range (see :func:`fgan.options.check_options`)."""
        check_options(self)
