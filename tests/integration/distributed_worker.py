"""Trains a few small cases with the Python API; started by tests/integration/test_torchrun.py under torchrun (each rank
saves its final parameters) and imported by it to train the same cases in one process."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor, nn

from fgan import distributed
from fgan.data import ring
from fgan.models import MLPCritic, MLPGenerator
from fgan.training import TrainConfig, Trainer, seed_everything

BASE = TrainConfig(
    steps=8, batch_size=32, lr_generator=1e-3, lr_critic=1e-3, device="cpu", quiet=True, stabilizer=("none",)
)


class BatchNormCritic(nn.Module):
    """A critic that couples the samples of a batch: the two-pass path, two critic forward passes per step."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)


#: name -> (divergence, training options, critic with batch norm)
CASES = {
    "minimax": ("js", BASE, False),
    "alternative-penalty": ("kl", replace(BASE, generator_objective="alternative", critic_penalty=0.1), False),
    "alternating": ("pearson", replace(BASE, update="alternating", critic_steps=2), False),
    "batch-norm-two-pass": ("gan", replace(BASE, generator_objective="alternative"), True),
    "r1-sn-noise-ema-one-pass": ("js", replace(BASE, stabilizer=("r1", "sn", "noise", "ema")), False),
    "roth-double-backward": ("kl", replace(BASE, stabilizer=("roth",), roth_gamma=0.5), False),
    "r2-alternating": ("hellinger", replace(BASE, stabilizer=("r2",), update="alternating", critic_steps=2), False),
}


def train_cases() -> dict[str, Tensor]:
    """Every case's final parameters (generator, then critic), flattened."""
    results = {}
    for name, (divergence, config, batch_norm) in CASES.items():
        seed_everything(0)
        generator = MLPGenerator(2, latent_dim=3, hidden=16)
        critic = BatchNormCritic() if batch_norm else MLPCritic(2, hidden=16)
        Trainer(generator, critic, ring(), divergence, config).train()
        results[name] = torch.cat([p.detach().flatten() for p in [*generator.parameters(), *critic.parameters()]])
    return results


if __name__ == "__main__":
    distributed.init_from_environment("cpu")
    torch.save(train_cases(), Path(sys.argv[1]) / f"rank{distributed.rank()}.pt")
    distributed.shutdown()
