"""The trained critic of the variational estimate: an MLP early-stopped on a validation split, clamped to the range
of its outputs on its training samples."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from fgan.critic_objective import CriticBatch, CriticObjective
from fgan.divergences import Divergence
from fgan.errors import UsageError
from fgan.estimation.config import EstimateConfig
from fgan.models import MLPCritic
from fgan.objectives import variational_bound


class ClampedCritic(nn.Module):
    """A trained critic whose output is clamped to ``[low, high]``."""

    low: Tensor
    high: Tensor

    def __init__(self, critic: nn.Module, low: Tensor, high: Tensor) -> None:
        super().__init__()
        self.critic = critic
        self.register_buffer("low", low)
        self.register_buffer("high", high)

    def forward(self, x: Tensor) -> Tensor:
        return torch.clamp(self.critic(x), self.low, self.high)


@dataclass
class Split:
    """The training samples of one fold cut into the part a critic is fitted on and the validation part."""

    p_fit: Tensor
    q_fit: Tensor
    p_validation: Tensor
    q_validation: Tensor


def validation_split(p_data: Tensor, q_data: Tensor, fraction: float, generator: np.random.Generator) -> Split:
    """A random ``fraction`` of each set held out for validation, the rest to fit on."""
    p_order, q_order = generator.permutation(len(p_data)), generator.permutation(len(q_data))
    p_cut, q_cut = round(len(p_data) * fraction), round(len(q_data) * fraction)
    return Split(p_data[p_order[p_cut:]], q_data[q_order[q_cut:]], p_data[p_order[:p_cut]], q_data[q_order[:q_cut]])


@dataclass
class TrainedCritic:
    """A critic trained on a split: clamped to its range on the fitted samples of P (``for_p``) and of Q
    (``for_q``), its best step, its validation curve."""

    for_p: ClampedCritic
    for_q: ClampedCritic
    best_step: int
    curve: list[dict[str, float]]


def train_critic(divergence: Divergence, split: Split, config: EstimateConfig) -> TrainedCritic:
    """An MLP critic trained on ``split``'s fitted samples to maximise the f-GAN bound, the steps chosen by the
    bound on its validation samples (every ``eval_every`` steps; stopped after ``patience`` without a gain)."""
    device = split.p_fit.device
    critic = MLPCritic(split.p_fit.shape[1], config.hidden, config.depth, config.activation).to(device)
    optimizer = torch.optim.Adam(critic.parameters(), lr=config.lr)
    best_bound, best_state, best_step, waited = -math.inf, copy.deepcopy(critic.state_dict()), 0, 0
    curve: list[dict[str, float]] = []
    running = []
    objective = CriticObjective(divergence)  # the trainer's critic objective, without a penalty
    p_train, q_train = split.p_fit, split.q_fit
    for step in range(1, config.max_steps + 1):
        real = p_train[torch.randint(len(p_train), (config.batch_size,), device=device)]
        fake = q_train[torch.randint(len(q_train), (config.batch_size,), device=device)]
        bound, loss = objective(CriticBatch(real, fake, critic(real), critic(fake)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running.append(bound.detach())
        if step % config.eval_every == 0 or step == config.max_steps:
            with torch.no_grad():
                validation = float(
                    variational_bound(divergence, critic(split.p_validation), critic(split.q_validation))
                )
            curve.append(
                {"step": step, "train_bound": float(torch.stack(running).mean()), "validation_bound": validation}
            )
            running.clear()
            if validation > best_bound:
                best_bound, best_state, best_step, waited = validation, copy.deepcopy(critic.state_dict()), step, 0
            else:
                waited += 1
                if waited >= config.patience:
                    break
    if best_step == 0:  # no validation bound was finite: every step made the critic worse than none
        raise UsageError(
            f"the critic's training diverged (no finite validation bound in {step} steps) at --lr {config.lr:g}; "
            "try a smaller --lr"
        )
    critic.load_state_dict(best_state)
    critic.eval()
    with torch.no_grad():
        p_seen, q_seen = critic(p_train), critic(q_train)
    return TrainedCritic(
        ClampedCritic(critic, p_seen.min(), p_seen.max()),
        ClampedCritic(critic, q_seen.min(), q_seen.max()),
        best_step,
        curve,
    )
