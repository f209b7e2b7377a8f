"""Stabilisers of f-GAN training, composable, each one option value of ``TrainConfig.stabilizer``:

========  ==========================================================================  =================================
name      what it does                                                                source
========  ==========================================================================  =================================
roth      critic loss + γ/2 (E_P[w_P ||∇_x V||²] + E_Q[w_Q ||∇_x V||²]), the noise     Roth, Lucchi, Nowozin, Hofmann,
          convolution's regulariser derived for the divergence (``roth_gamma``)        NIPS 2017
r1        critic loss + γ/2 E_P[||∇_x V||²] (``r1_gamma``)                              Mescheder, Geiger, Nowozin,
                                                                                       ICML 2018
r2        critic loss + γ/2 E_Q[||∇_x V||²] (``r2_gamma``)                              same
sn        spectral normalisation of every Linear and Conv layer of the critic         Miyato et al., ICLR 2018
noise     instance noise N(0, σ_t²) on real and generated critic inputs, σ_t falling   Sønderby et al., ICLR 2017
          linearly from ``instance_noise`` to 0 at the last step
ema       generator weights averaged θ̄ ← β θ̄ + (1 - β) θ (``ema_decay``), used for     Yazıcı et al., ICLR 2019
          samples and evaluation, checkpointed
========  ==========================================================================  =================================

``none`` is plain Algorithm 1; ``recommended`` (the default) the divergence's row of
:data:`fgan.divergences.recommendations.RECOMMENDED`, and ``recommended ema`` that row plus the stabilisers named
after it. The three penalties are critic terms of
:mod:`fgan.critic_objective` (R1 keeps the one-pass step; Roth and R2 take the generator's gradient by a second
backward pass, which run.log names); ``sn`` wraps the critic's layers with
``torch.nn.utils.parametrizations.spectral_norm``; ``noise`` is the step engine's ``input_noise_std``; ``ema`` is a
:class:`fgan.ema.GeneratorAverage` kept by the trainer.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from fgan.divergences import Divergence
from fgan.errors import UsageError

STABILIZERS = ("roth", "r1", "r2", "sn", "noise", "ema")
#: The stabilisers that are gradient penalties (critic terms with ∇_x V).
PENALTIES = ("roth", "r1", "r2")
#: The values ``--stabilizer`` accepts: a stabiliser, or one of the two words that stand alone.
STABILIZER_CHOICES = ("recommended", "none", *STABILIZERS)
#: Each stabiliser's weight option of TrainConfig and the value it takes unless the recommendation or the user sets
#: one (R1: Mescheder et al.'s γ = 10, which on the ring, seed 0, with the 8-D z of the time, made all nine divergences
#: of the modes table cover 8 of 8 modes where 0.1 and 1 did not; Roth et al. use γ = 0.1 on 2-D data).
WEIGHT_DEFAULTS = {"roth": ("roth_gamma", 0.1), "r1": ("r1_gamma", 10.0), "r2": ("r2_gamma", 0.1)}
WEIGHT_DEFAULTS |= {"noise": ("instance_noise", 0.1), "ema": ("ema_decay", 0.999)}


def resolve_stabilizers(config: Any, divergence: Divergence) -> str:
    """Resolve ``config.stabilizer`` in place and return the line for run.log that says what trains.

    ``recommended`` becomes the divergence's stabilisers, their weights set where the user left them None, followed
    by the stabilisers named after it that the recommendation lacks (``recommended ema``: the recommendation plus
    the averaged generator; ``("none",)`` where nothing is left); every weight option of a stabiliser in use that
    is still None gets its default (:data:`WEIGHT_DEFAULTS`), the others become None. A resolved config resolves
    to itself.

    Raises:
        UsageError: for ``none`` next to other values, ``recommended`` anywhere but first, a value named twice, or
            a gradient penalty with ``compile``.
    """
    chosen = tuple(config.stabilizer)
    if len(set(chosen)) != len(chosen):
        raise UsageError(f"stabilizer named twice: {' '.join(chosen)}")
    if "none" in chosen and len(chosen) > 1:
        raise UsageError(f"stabilizer none stands alone, got {' '.join(chosen)}")
    if "recommended" in chosen[1:]:
        raise UsageError(f"stabilizer recommended comes first, before those it adds, got {' '.join(chosen)}")
    why = "as given"
    if chosen[:1] == ("recommended",):
        recommendation = divergence.recommended_stabilizer
        added = tuple(name for name in chosen[1:] if name not in recommendation.stabilizers)
        chosen = (*recommendation.stabilizers, *added) or ("none",)
        for name, value in recommendation.settings.items():
            if getattr(config, name) is None:
                setattr(config, name, value)
        plus = f" plus {' '.join(added)}" if added else ""
        why = (
            f"the recommendation for {divergence.name}{plus}: {recommendation.evidence}; --stabilizer none trains plain"
        )
    config.stabilizer = chosen
    penalties = [name for name in chosen if name in PENALTIES]
    if penalties and config.compile:
        raise UsageError(
            f"stabilizer {penalties[0]} takes a double backward (the critic's input gradient), which torch.compile "
            "does not support: drop --compile or the penalty"
        )
    for name, (weight, default) in WEIGHT_DEFAULTS.items():
        if name not in chosen:
            setattr(config, weight, None)
        elif getattr(config, weight) is None:
            setattr(config, weight, default)
    return f"stabilizer: {describe_stabilizers(config)} ({why})"


def describe_stabilizers(config: Any) -> str:
    """``roth (roth gamma 0.1) + ema (ema decay 0.999)``, or ``none (plain Algorithm 1)``, for a resolved config."""
    if tuple(config.stabilizer) == ("none",):
        return "none (plain Algorithm 1)"
    parts = []
    for name in config.stabilizer:
        weight = WEIGHT_DEFAULTS.get(name)
        parts.append(
            name if weight is None else f"{name} ({weight[0].replace('_', ' ')} {getattr(config, weight[0]):g})"
        )
    return " + ".join(parts)


def penalty_weights(config: Any) -> dict[str, float]:
    """The keyword weights of :class:`fgan.critic_objective.CriticObjective` for the resolved ``config``'s
    penalties (0 for those not in use)."""
    return {WEIGHT_DEFAULTS[name][0]: getattr(config, WEIGHT_DEFAULTS[name][0]) or 0.0 for name in PENALTIES}


def spectral_normalize(critic: nn.Module) -> nn.Module:
    """Reparametrise every Linear and Conv layer of ``critic`` by its weight over its largest singular value
    (``torch.nn.utils.parametrizations.spectral_norm``, one power iteration per forward in training mode; the
    iteration's vectors are buffers, so checkpoints hold them). In place; returns the critic."""
    layers = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d)
    for module in list(critic.modules()):
        if isinstance(module, layers):
            nn.utils.parametrizations.spectral_norm(module)
    return critic


def instance_noise_std(initial: float, step: int, steps: int) -> float:
    """σ_t = σ_0 max(0, 1 - t/T): annealed linearly from ``initial`` at step 0 to 0 at the last step ``steps``."""
    return initial * max(0.0, 1.0 - step / max(1, steps))
