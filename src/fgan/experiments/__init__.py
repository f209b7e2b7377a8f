"""Reproductions of the paper's experiments (``fgan reproduce NAME``), each an :class:`~fgan.experiments.protocol.
Experiment`, by subcommand name in :data:`EXPERIMENTS`."""

from __future__ import annotations

from typing import Any

from fgan.experiments.estimation_gaussians import EstimationGaussians
from fgan.experiments.mode_coverage import ModeCoverage
from fgan.experiments.protocol import Experiment
from fgan.experiments.table3_mixture import Table3Mixture
from fgan.experiments.table4_images import Table4Images

#: Every experiment by its ``fgan reproduce`` subcommand; a new experiment is one class and one entry here.
EXPERIMENTS: dict[str, Experiment[Any, Any]] = {
    experiment.name: experiment
    for experiment in (Table3Mixture(), EstimationGaussians(), Table4Images(), ModeCoverage())
}
