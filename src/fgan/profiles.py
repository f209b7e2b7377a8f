"""The default training settings, one table: each profile names where it applies and the settings in which it
differs from :class:`~fgan.training.TrainConfig`'s own field defaults (the ``api`` profile).

===========  ======================================  =====  =====  ===========  ============  ========  ===========
profile      applies to                              steps  batch  step size    β             schedule  stabilizer
===========  ======================================  =====  =====  ===========  ============  ========  ===========
api          ``TrainConfig()`` from Python           2000   256    2e-4         (0.5, 0.999)  constant  recommended
synthetic    ``fgan train`` on synthetic data        5000   512    1e-3         (0.5, 0.999)  linear    recommended
image        ``fgan train`` on images                5000   256    2e-4         (0.5, 0.999)  constant  recommended
table3       ``fgan reproduce gaussian-mixture``     5000   1024   1e-2         (0.9, 0.999)  linear    none
modes        ``fgan reproduce modes``                3000   512    1e-3         (0.5, 0.999)  linear    none
table4       ``fgan reproduce mnist``                5000   4096   2e-4         (0.5, 0.999)  constant  none
bench        ``fgan bench``                          2000   256    2e-4         (0.5, 0.999)  constant  none
===========  ======================================  =====  =====  ===========  ============  ========  ===========

(``recommended``: the divergence's own stabilisers, :mod:`fgan.divergences.recommendations`; ``none``: plain
Algorithm 1, so that the paper's tables are reproduced as the paper trained them.)

(``table3`` also trains at one intra-op thread (``threads=1``) instead of the thread governor of
:mod:`fgan.threads`: its networks are too small to gain much from two (about 10 % on a quiet machine, where the
governor keeps moving between one and two), and a fixed count keeps the table the same digit for digit on a busy
machine, where the governor chooses one thread anyway.)

(``fgan bench``'s gaussian-mixture setup takes Table 3's step size and β; tests/test_profiles.py checks this table
against :data:`PROFILES`.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from fgan.training import TrainConfig


@dataclass(frozen=True)
class Profile:
    """Where a set of training defaults applies, and its settings that differ from ``TrainConfig()``."""

    applies_to: str
    settings: dict[str, Any] = field(default_factory=dict)


_SYNTHETIC = {
    "steps": 5000,
    "batch_size": 512,
    "lr_generator": 1e-3,
    "lr_critic": 1e-3,
    "lr_schedule": "linear",
    "checkpoint_every": 1000,
}
_IMAGE = {"steps": 5000, "batch_size": 256, "checkpoint_every": 1000}

PROFILES = {
    "api": Profile("TrainConfig() from Python"),
    "synthetic": Profile("fgan train on synthetic data", _SYNTHETIC),
    "image": Profile("fgan train on images (the paper's Section 4.2: Adam at 2e-4, β1 = 0.5)", _IMAGE),
    "table3": Profile(
        "fgan reproduce gaussian-mixture (the paper's Section 4.1)",
        {
            "steps": 5000,
            "batch_size": 1024,
            "lr_generator": 0.01,
            "lr_critic": 0.01,
            "betas": (0.9, 0.999),
            "lr_schedule": "linear",
            "device": "cpu",
            "quiet": True,
            "stabilizer": ("none",),
            "threads": 1,
        },
    ),
    "modes": Profile(
        "fgan reproduce modes (runs kept in memory)",
        {**_SYNTHETIC, "steps": 3000, "device": "cpu", "quiet": True, "checkpoint_every": 0, "stabilizer": ("none",)},
    ),
    "table4": Profile(
        "fgan reproduce mnist (the paper's minibatches of 4,096)",
        {**_IMAGE, "batch_size": 4096, "quiet": True, "stabilizer": ("none",)},
    ),
    "bench": Profile("fgan bench", {"quiet": True, "log_every": 100, "stabilizer": ("none",)}),
}


def profile(name: str, **changes: Any) -> TrainConfig:
    """A fresh TrainConfig of the profile ``name`` with ``changes`` applied."""
    return TrainConfig(**{**PROFILES[name].settings, **changes})


def describe_profile(name: str) -> str:
    """The settings of profile ``name`` that some profile sets, as ``steps 5000, batch size 512, ...`` (the
    device and the progress display left out)."""
    keys = {key for entry in PROFILES.values() for key in entry.settings} - {"quiet", "device"}
    config = asdict(profile(name))
    return ", ".join(f"{key.replace('_', ' ')} {_shown(value)}" for key, value in config.items() if key in keys)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(map(_shown, value))
    return f"{value:g}" if isinstance(value, float) else str(value)
