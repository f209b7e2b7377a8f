"""Training by variational divergence minimisation: Algorithm 1 of the paper, or alternating updates.

``Trainer`` takes any generator and critic ``nn.Module`` (see :mod:`fgan.models` for what they must provide), a
data sampler (see :mod:`fgan.data`) and a divergence, and runs

* ``single-step`` (the default, Algorithm 1): one minibatch from P and one from Q_θ per step; the critic ascends
  and the generator descends F(θ, ω), both gradients taken at the same point;
* ``alternating``: ``critic_steps`` critic updates on fresh minibatches, then one generator update.

Per step it records the bound F (the running divergence estimate) and both losses, keeping them on the device and
reading them every ``log_every`` steps.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from fgan.data import Sampler
from fgan.divergences import Divergence, get_divergence
from fgan.errors import UsageError
from fgan.models import sample_latent
from fgan.objectives import GENERATOR_OBJECTIVES, generator_loss, variational_bound
from fgan.runs import METRICS_FILE, save_checkpoint

UPDATES = ("single-step", "alternating")
OPTIMIZERS = ("adam", "sgd")
LR_SCHEDULES = ("constant", "linear")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class TrainConfig:
    """Options of a training run (all have defaults; the run folder stores them resolved)."""

    steps: int = 2000
    batch_size: int = 256
    update: Literal["single-step", "alternating"] = "single-step"
    critic_steps: int = 1
    generator_objective: Literal["minimax", "alternative"] = "minimax"
    optimizer: Literal["adam", "sgd"] = "adam"
    lr_generator: float = 2e-4
    lr_critic: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_schedule: Literal["constant", "linear"] = "constant"
    critic_penalty: float | None = None
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    checkpoint_every: int = 0
    keep_checkpoints: int = 3
    quiet: bool = False

    def validate(self) -> None:
        """Raise UsageError naming the first option out of range."""
        checks = [
            (self.steps >= 0, f"steps must be >= 0, got {self.steps}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (self.critic_steps >= 1, f"critic steps must be >= 1, got {self.critic_steps}"),
            (self.update in UPDATES, f"unknown update {self.update!r}; valid: {', '.join(UPDATES)}"),
            (
                self.generator_objective in GENERATOR_OBJECTIVES,
                f"unknown generator objective {self.generator_objective!r}; valid: {', '.join(GENERATOR_OBJECTIVES)}",
            ),
            (self.optimizer in OPTIMIZERS, f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}"),
            (self.lr_generator > 0 and self.lr_critic > 0, "learning rates must be > 0"),
            (self.critic_penalty is None or self.critic_penalty >= 0, "critic penalty must be >= 0"),
            (
                self.lr_schedule in LR_SCHEDULES,
                f"unknown learning-rate schedule {self.lr_schedule!r}; valid: {', '.join(LR_SCHEDULES)}",
            ),
            (self.device in DEVICES, f"unknown device {self.device!r}; valid: {', '.join(DEVICES)}"),
            (self.log_every >= 1, f"log every must be >= 1, got {self.log_every}"),
            (self.checkpoint_every >= 0, f"checkpoint every must be >= 0, got {self.checkpoint_every}"),
            (self.keep_checkpoints >= 1, f"keep checkpoints must be >= 1, got {self.keep_checkpoints}"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; a named device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("device cuda asked for, but torch sees no CUDA device")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UsageError("device mps asked for, but torch sees no MPS device")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's random generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 -- users' code may draw from numpy's global generator
    torch.manual_seed(seed)


def _make_optimizer(config: TrainConfig, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=config.betas)
    return torch.optim.SGD(params, lr=lr)


@dataclass
class StepMetrics:
    """Per-step records: F (the bound), the critic loss and the generator loss."""

    step: list[int] = field(default_factory=list)
    bound: list[float] = field(default_factory=list)
    critic_loss: list[float] = field(default_factory=list)
    generator_loss: list[float] = field(default_factory=list)


class Trainer:
    """Trains ``generator`` against ``critic`` on ``data`` under ``divergence``.

    Args:
        generator: maps ``sample_latent(generator, n)`` to samples of shape ``(n, data.dim)``.
        critic: maps samples to raw outputs V(x), one per sample.
        data: a sampler of real minibatches (``sample(n, device)``).
        divergence: a :class:`~fgan.divergences.Divergence` or its name.
        config: training options. The trainer seeds torch, numpy and Python's ``random`` with ``config.seed``
            when it is created; seed (:func:`seed_everything`) before building the networks as well for a run
            that is reproducible from its initial weights on.
        run_dir: a prepared run folder (see :func:`fgan.runs.prepare_run_dir`) to write metrics and checkpoints
            to, or None to keep everything in memory.
    """

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        data: Sampler,
        divergence: Divergence | str,
        config: TrainConfig | None = None,
        run_dir: str | Path | None = None,
    ) -> None:
        self.config = replace(config) if config is not None else TrainConfig()  # a copy: resolved values go here
        self.config.validate()
        seed_everything(self.config.seed)
        self.divergence = get_divergence(divergence)
        if self.config.critic_penalty is None:
            self.config.critic_penalty = self.divergence.default_critic_penalty
        self.device = resolve_device(self.config.device)
        self.generator = generator.to(self.device)
        self.critic = critic.to(self.device)
        self.data = data
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.generator_params = [p for p in self.generator.parameters() if p.requires_grad]
        self.critic_params = [p for p in self.critic.parameters() if p.requires_grad]
        self.generator_optimizer = _make_optimizer(self.config, self.generator_params, self.config.lr_generator)
        self.critic_optimizer = _make_optimizer(self.config, self.critic_params, self.config.lr_critic)
        self.schedulers = [
            torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_factor)
            for optimizer in (self.generator_optimizer, self.critic_optimizer)
        ]
        self.step = 0
        self.history = StepMetrics()
        self._pending: list[Tensor] = []
        self._saved_step: int | None = None

    def _lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at ``step``: 1, or falling linearly to 0 at ``config.steps`` (and staying 0
        for steps beyond it)."""
        if self.config.lr_schedule == "constant":
            return 1.0
        return max(0.0, 1.0 - step / max(1, self.config.steps))

    def _critic_outputs(self, batch_size: int) -> tuple[Tensor, Tensor]:
        real = self.data.sample(batch_size, self.device)
        fake = self.generator(sample_latent(self.generator, batch_size, self.device))
        return self.critic(real), self.critic(fake)

    @staticmethod
    def _apply(optimizer: torch.optim.Optimizer, params: list[nn.Parameter], grads: tuple[Tensor, ...]) -> None:
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad
        optimizer.step()

    def _critic_objective(self, critic_real: Tensor, critic_fake: Tensor) -> tuple[Tensor, Tensor]:
        """The bound F and the critic's loss: -F plus the output penalty λ/2 (E_P[V²] + E_Q[V²]) when λ > 0."""
        bound = variational_bound(self.divergence, critic_real, critic_fake)
        loss = -bound
        if self.config.critic_penalty:
            loss = loss + 0.5 * self.config.critic_penalty * (critic_real.square().mean() + critic_fake.square().mean())
        return bound, loss

    def single_step(self) -> Tensor:
        """Algorithm 1: both players' gradients at the same (θ, ω), then both updates. Returns (F, L_c, L_g)."""
        critic_real, critic_fake = self._critic_outputs(self.config.batch_size)
        bound, loss_critic = self._critic_objective(critic_real, critic_fake)
        loss_generator = generator_loss(self.divergence, critic_fake, self.config.generator_objective)
        critic_grads = torch.autograd.grad(loss_critic, self.critic_params, retain_graph=True)
        generator_grads = torch.autograd.grad(loss_generator, self.generator_params)
        self._apply(self.critic_optimizer, self.critic_params, critic_grads)
        self._apply(self.generator_optimizer, self.generator_params, generator_grads)
        return torch.stack([bound, loss_critic, loss_generator]).detach()

    def alternating_step(self) -> Tensor:
        """``critic_steps`` critic updates (generator fixed), then one generator update. Returns (F, L_c, L_g)."""
        batch_size = self.config.batch_size
        for _ in range(self.config.critic_steps):
            real = self.data.sample(batch_size, self.device)
            with torch.no_grad():
                fake = self.generator(sample_latent(self.generator, batch_size, self.device))
            bound, loss_critic = self._critic_objective(self.critic(real), self.critic(fake))
            self._apply(self.critic_optimizer, self.critic_params, torch.autograd.grad(loss_critic, self.critic_params))
        fake = self.generator(sample_latent(self.generator, batch_size, self.device))
        loss_generator = generator_loss(self.divergence, self.critic(fake), self.config.generator_objective)
        generator_grads = torch.autograd.grad(loss_generator, self.generator_params)
        self._apply(self.generator_optimizer, self.generator_params, generator_grads)
        return torch.stack([bound, loss_critic, loss_generator]).detach()

    def train(self, steps: int | None = None) -> StepMetrics:
        """Run ``steps`` more steps (default: up to ``config.steps``) and return the per-step history."""
        target = self.config.steps if steps is None else self.step + steps
        update = self.single_step if self.config.update == "single-step" else self.alternating_step
        show = not self.config.quiet and sys.stderr.isatty()
        self.generator.train()
        self.critic.train()
        with tqdm(total=target, initial=self.step, disable=not show, unit="step", dynamic_ncols=True) as bar:
            while self.step < target:
                self._pending.append(update())
                for scheduler in self.schedulers:
                    scheduler.step()
                self.step += 1
                if self.step % self.config.log_every == 0 or self.step == target:
                    self._flush()
                    bar.set_postfix(estimate=f"{self.history.bound[-1]:.4f}")
                if self.config.checkpoint_every and self.step % self.config.checkpoint_every == 0:
                    self.save()
                bar.update(1)
        self._flush()
        if self.run_dir is not None and self._saved_step != self.step:
            self.save()
        return self.history

    def _flush(self) -> None:
        """Move the pending per-step metrics off the device, into the history and metrics.jsonl."""
        if not self._pending:
            return
        rows = torch.stack(self._pending).cpu().tolist()
        first = self.step - len(rows) + 1
        self._pending.clear()
        lines = []
        for offset, (bound, loss_critic, loss_generator) in enumerate(rows):
            step = first + offset
            self.history.step.append(step)
            self.history.bound.append(bound)
            self.history.critic_loss.append(loss_critic)
            self.history.generator_loss.append(loss_generator)
            row = {"step": step, "bound": bound, "critic_loss": loss_critic, "generator_loss": loss_generator}
            lines.append(json.dumps(row) + "\n")
        if self.run_dir is not None:
            with open(self.run_dir / METRICS_FILE, "a") as file:
                file.writelines(lines)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue: both networks and optimisers, the step, the config, RNG states."""
        state = {
            "step": self.step,
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "generator_optimizer": self.generator_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "schedulers": [scheduler.state_dict() for scheduler in self.schedulers],
            "config": json.loads(json.dumps(asdict(self.config))),
            "divergence": self.divergence.name,
            "rng_torch": torch.get_rng_state(),
        }
        if self.device.type == "cuda":
            state["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def save(self) -> Path:
        """Write a checkpoint of the current state into the run folder."""
        if self.run_dir is None:
            raise UsageError("this trainer has no run folder to save to")
        path = save_checkpoint(self.run_dir, self.step, self.state_dict(), self.config.keep_checkpoints)
        self._saved_step = self.step
        return path
