"""Training by variational divergence minimisation: Algorithm 1 of the paper, or alternating updates.

``Trainer`` takes any generator and critic ``nn.Module`` (see :mod:`fgan.models` for what they must provide), a
data sampler (see :mod:`fgan.data`) and a divergence, and runs

* ``single-step`` (the default, Algorithm 1): one minibatch from P and one from Q_θ per step; the critic ascends
  and the generator descends F(θ, ω), both gradients taken at the same point, by one forward and one backward
  pass (see :meth:`Trainer.single_step`);
* ``alternating``: ``critic_steps`` critic updates on fresh minibatches, then one generator update.

``precision`` runs the networks under autocast (``bf16``, or ``fp16`` with loss scaling) with float32 weights and
optimiser state; the divergence arithmetic (g_f, f*, the bound) is always float32.

Per step it records the bound F (the running divergence estimate), both losses and both gradient norms, keeping
them on the device and reading them every ``log_every`` steps. Before any update it checks that the losses and the
gradient norms are finite: a non-finite one stops the run with :class:`NonFiniteError` (``on_nonfinite="stop"``,
nothing is applied) or skips the step and counts it (``"skip"``). On SIGINT (Ctrl-C) it finishes the step, writes
a checkpoint and raises KeyboardInterrupt. :meth:`Trainer.load_state_dict` restores a checkpoint, every random
generator included, so a resumed run on the CPU ends with the same parameters, bit for bit, as one that was never
interrupted.
"""

from __future__ import annotations

import json
import math
import random
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from fgan import distributed
from fgan.data import Sampler
from fgan.divergences import Divergence, get_divergence
from fgan.errors import UsageError
from fgan.models import sample_latent
from fgan.objectives import GENERATOR_OBJECTIVES, generator_loss, variational_bound
from fgan.options import check_options, option
from fgan.runs import LOG_FILE, METRICS_FILE, save_checkpoint

UPDATES = ("single-step", "alternating")
OPTIMIZERS = ("adam", "sgd")
LR_SCHEDULES = ("constant", "linear")
NONFINITE_ACTIONS = ("stop", "skip")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("fp32", "bf16", "fp16")
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: The per-step quantities, in the order of a metrics row (and of metrics.jsonl's keys after ``step``).
METRIC_NAMES = ("bound", "critic_loss", "generator_loss", "critic_grad_norm", "generator_grad_norm")


class NonFiniteError(RuntimeError):
    """A loss or gradient was NaN or infinite; the message names the step, divergence and quantity."""


@dataclass
class TrainConfig:
    """Options of a training run (all have defaults, the ``api`` profile of :mod:`fgan.profiles`; the run folder
    stores them resolved)."""

    steps: int = option(2000, help="training steps", low=0, resumable=True)
    batch_size: int = option(256, help="minibatch size", low=1)
    update: Literal["single-step", "alternating"] = option(
        "single-step",
        help="single-step: Algorithm 1; alternating: k critic steps, then one generator step",
        choices=UPDATES,
    )
    critic_steps: int = option(1, help="critic steps per generator step (alternating update)", low=1)
    generator_objective: Literal["minimax", "alternative"] = option(
        "minimax",
        help="minimax: descend F (Algorithm 1); alternative: ascend E_Q[g_f(V)] (Section 3.2)",
        choices=GENERATOR_OBJECTIVES,
    )
    optimizer: Literal["adam", "sgd"] = option("adam", help="optimiser of both networks", choices=OPTIMIZERS)
    lr_generator: float = option(2e-4, help="generator step size", low=0, low_open=True)
    lr_critic: float = option(2e-4, help="critic step size", low=0, low_open=True)
    betas: tuple[float, float] = option(
        (0.5, 0.999), help="Adam's β1 and β2", low=0, high=1, high_open=True, metavar="BETA"
    )
    lr_schedule: Literal["constant", "linear"] = option(
        "constant", help="linear: step sizes fall to 0 at the end", choices=LR_SCHEDULES
    )
    critic_penalty: float | None = option(
        None,
        help="penalty LAMBDA/2 (E_P[V²] + E_Q[V²]) on the raw critic output; None: the divergence's own "
        "(0.01 for tv, 0 for the others)",
        low=0,
        metavar="LAMBDA",
    )
    clip_grad_norm: float | None = option(None, help="clip each network's gradient norm", low=0, low_open=True)
    on_nonfinite: Literal["stop", "skip"] = option(
        "stop",
        help="a NaN or infinite loss or gradient: stop the run, or skip the step and count it",
        choices=NONFINITE_ACTIONS,
    )
    seed: int = option(0, help="random seed")
    device: str = option("auto", help="auto: cuda, then mps, then cpu", choices=DEVICES, resumable=True)
    precision: Literal["fp32", "bf16", "fp16"] = option(
        "fp32",
        help="the networks' arithmetic: bf16 or fp16 (loss-scaled) autocast with float32 weights; the divergence "
        "arithmetic stays float32",
        choices=PRECISIONS,
    )
    compile: bool = option(False, help="torch.compile both networks (pays off on long runs and GPUs)")
    log_every: int = option(50, help="read the metrics from the device and write them every N steps", low=1)
    checkpoint_every: int = option(0, help="also checkpoint every N steps (0: only at the end)", low=0)
    keep_checkpoints: int = option(3, help="the newest checkpoints kept in the run folder", low=1)
    quiet: bool = option(False, help="no progress bar", resumable=True)

    def validate(self) -> None:
        """Raise UsageError naming the first option out of range (see :func:`fgan.options.check_options`)."""
        check_options(self)


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


def rng_state() -> dict[str, Any]:
    """Every random generator's state (torch, CUDA where present, numpy, Python) as tensors and plain values,
    loadable with ``torch.load(weights_only=True)``."""
    _, keys, position, has_gauss, cached_gaussian = np.random.get_state()  # noqa: NPY002 -- the global generator
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(  # noqa: NPY002 -- the global generator
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    random.setstate((python_state["version"], tuple(python_state["internal"].tolist()), python_state["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _make_optimizer(config: TrainConfig, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam or SGD over ``params``, in the fused implementation (one kernel for all parameters) where torch has one
    for their device and dtype; the for-each one otherwise."""
    fused = all(param.device.type in ("cpu", "cuda", "mps") and param.is_floating_point() for param in params)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=config.betas, fused=fused, foreach=None if fused else True)
    return torch.optim.SGD(params, lr=lr, fused=fused, foreach=None if fused else True)


@dataclass
class StepMetrics:
    """Per-step records: F (the bound), the critic and generator losses and the norms of their gradients (for
    ``alternating``, those of the step's last critic update)."""

    step: list[int] = field(default_factory=list)
    bound: list[float] = field(default_factory=list)
    critic_loss: list[float] = field(default_factory=list)
    generator_loss: list[float] = field(default_factory=list)
    critic_grad_norm: list[float] = field(default_factory=list)
    generator_grad_norm: list[float] = field(default_factory=list)

    def append(self, row: dict[str, float | None]) -> None:
        """Add one metrics.jsonl row (null, a non-finite value, or a missing one is read as NaN)."""
        self.step.append(int(row["step"]))
        for name in METRIC_NAMES:
            value = row.get(name)
            getattr(self, name).append(math.nan if value is None else float(value))


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
        distributed.check_batch_size(self.config.batch_size)
        self.device = distributed.local_device(resolve_device(self.config.device))
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
        self._autocast_dtype = _AUTOCAST_DTYPES.get(self.config.precision)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.config.precision == "fp16")
        self._local_forward, self._synced_forward = {}, {}
        for module in (self.generator, self.critic):
            self._local_forward[module] = torch.compile(module) if self.config.compile else module
            if distributed.world_size() > 1:
                synced = DistributedDataParallel(module)
                self._synced_forward[module] = torch.compile(synced) if self.config.compile else synced
            else:  # one process: the same (compiled once) forward
                self._synced_forward[module] = self._local_forward[module]
        self._reversal_only = self.config.generator_objective == "minimax" and not self.config.critic_penalty
        self._couples_samples = critic_couples_samples(self.critic)
        self.passes, self.passes_note = self._choose_passes()
        self.step = 0
        self.skipped_steps = 0
        #: Single steps whose generator gradient took a second backward pass (see :meth:`_one_backward_pass`).
        self.second_pass_steps = 0
        self.history = StepMetrics()
        self.last_checkpoint: Path | None = None
        self._pending: list[Tensor] = []
        self._interrupted = False
        self._saved_step: int | None = None
        self._callbacks: list[tuple[int, Callable[[Trainer], None]]] = []

    def _choose_passes(self) -> tuple[int, str]:
        """How many backward passes a single step takes, and a sentence saying why (for the run's log)."""
        if self._reversal_only:
            return 1, (
                "single-step update: one forward and one backward pass (minimax objective without a critic penalty: "
                "the generator's gradient is the critic's, reversed at the generated samples)"
            )
        if not self._couples_samples:
            return 1, (
                "single-step update: one forward and one backward pass (the critic treats samples independently: the "
                "gradient flowing into each generated sample is rescaled to the generator's objective)"
            )
        return 2, (
            "single-step update: two backward passes, because the critic couples the samples of a batch (batch "
            f"norm) and the {self.config.generator_objective} objective"
            + (" with a critic penalty" if self.config.critic_penalty else "")
            + " needs a per-sample rescaling that coupling does not allow"
        )

    def add_callback(self, every: int, callback: Callable[[Trainer], None]) -> None:
        """Call ``callback(trainer)`` after every ``every``-th step (image grids, snapshots, evaluations).

        The callback runs between steps with both networks in training mode; one that switches a network to
        eval mode (to generate, say) must switch it back.
        """
        if every < 1:
            raise UsageError(f"a callback needs every >= 1, got {every}")
        self._callbacks.append((every, callback))

    def _lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at ``step``: 1, or falling linearly to 0 at ``config.steps`` (and staying 0
        for steps beyond it)."""
        if self.config.lr_schedule == "constant":
            return 1.0
        return max(0.0, 1.0 - step / max(1, self.config.steps))

    def _forward(self, module: nn.Module, inputs: Tensor, sync: bool = True) -> Tensor:
        """``module(inputs)``: compiled when ``config.compile`` is set; with several processes through its
        DistributedDataParallel wrapper when ``sync`` (its gradients of the next backward pass are then averaged
        across processes, so pass False when that pass takes none of them); in bf16 and fp16 under autocast, with the
        output cast to float32, so that the divergence arithmetic never runs in reduced precision."""
        forward = (self._synced_forward if sync else self._local_forward)[module]
        if self._autocast_dtype is None:
            return forward(inputs)
        with torch.autocast(self.device.type, dtype=self._autocast_dtype):
            return forward(inputs).float()

    def _critic_both(self, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        """The critic's outputs on the real and the generated batch: one forward pass over both, concatenated, when
        the critic treats samples independently (fewer, larger matrix products); two passes when it couples them."""
        if self._couples_samples:
            return self._forward(self.critic, real), self._forward(self.critic, fake)
        outputs = self._forward(self.critic, torch.cat([real.to(fake.dtype), fake]))
        return outputs[: len(real)], outputs[len(real) :]

    def _real_batch(self) -> Tensor:
        """This process's share of a global minibatch from P (see :mod:`fgan.distributed`)."""
        return distributed.shard(self.data.sample(self.config.batch_size, self.device))

    def _generate(self, sync: bool = True) -> Tensor:
        """Samples of Q_θ from this process's share of a global minibatch of latent codes."""
        latent = distributed.shard(sample_latent(self.generator, self.config.batch_size, self.device))
        return self._forward(self.generator, latent, sync)

    def _backward(self, loss: Tensor, params: list[nn.Parameter], retain_graph: bool = False) -> tuple[Tensor, ...]:
        """∂loss/∂params by a backward pass into ``.grad`` (which lets DistributedDataParallel average them across
        processes); in fp16 of the scaled loss. A parameter the loss does not reach gets a zero gradient."""
        for param in params:
            param.grad = None
        torch.autograd.backward(self._scaled(loss), inputs=params, retain_graph=retain_graph)
        return tuple(torch.zeros_like(param) if param.grad is None else param.grad for param in params)

    def _scaled(self, loss: Tensor) -> Tensor:
        """The loss multiplied by the fp16 loss scale (unchanged in fp32 and bf16)."""
        return self.scaler.scale(loss) if self.scaler.is_enabled() else loss

    def _apply(
        self,
        losses: dict[str, Tensor],
        updates: list[tuple[torch.optim.Optimizer, list[nn.Parameter], tuple[Tensor, ...]]],
    ) -> Tensor:
        """Check the losses and gradients, then step each ``(optimizer, params, grads)``.

        Returns the losses (averaged across processes, so that every process takes the same decision and the
        records are those of the global batch) followed by the gradient norms. In fp16 the gradients are unscaled
        first, and a step whose gradients overflowed is skipped by the loss scaler (which lowers its scale), as
        mixed-precision training expects; the losses are still checked.
        """
        for optimizer, params, grads in updates:
            for param, grad in zip(params, grads, strict=True):
                param.grad = grad
            if self.scaler.is_enabled():
                self.scaler.unscale_(optimizer)
        norms = [torch.nn.utils.get_total_norm([param.grad for param in params]) for _, params, _ in updates]
        row = torch.stack([*(loss.detach().to(norms[0].dtype) for loss in losses.values()), *norms])
        distributed.all_reduce_mean(row[: len(losses)])
        names = [*losses, *(f"{self._player(params)} gradient" for _, params, _ in updates)]
        checked = len(losses) if self.scaler.is_enabled() else len(row)
        if self._all_finite(names[:checked], row[:checked]):
            for (optimizer, params, _), norm in zip(updates, norms, strict=True):
                if self.config.clip_grad_norm is not None:
                    torch.nn.utils.clip_grads_with_norm_(params, self.config.clip_grad_norm, norm)
                self.scaler.step(optimizer)
        self.scaler.update()
        return row

    def _player(self, params: list[nn.Parameter]) -> str:
        return "critic" if params is self.critic_params else "generator"

    def _all_finite(self, names: list[str], values: Tensor) -> bool:
        """True when every value is finite. Otherwise raise NonFiniteError naming the first bad one, or, with
        ``on_nonfinite="skip"``, count the step as skipped and return False. One device sync per call."""
        flags = torch.isfinite(values).tolist()
        if all(flags):
            return True
        if self.config.on_nonfinite == "skip":
            self.skipped_steps += 1
            return False
        bad = next(name for name, flag in zip(names, flags, strict=True) if not flag)
        kept = f"the last good checkpoint is {self.last_checkpoint}" if self.last_checkpoint else "no checkpoint yet"
        raise NonFiniteError(
            f"non-finite {bad} at step {self.step + 1} with divergence {self.divergence.name}; nothing of this step "
            f"was applied; {kept} (try --clip-grad-norm, a smaller learning rate or --on-nonfinite skip)"
        )

    def _critic_objective(self, critic_real: Tensor, critic_fake: Tensor) -> tuple[Tensor, Tensor]:
        """The bound F and the critic's loss: -F plus the output penalty λ/2 (E_P[V²] + E_Q[V²]) when λ > 0."""
        bound = variational_bound(self.divergence, critic_real, critic_fake)
        loss = -bound
        if self.config.critic_penalty:
            loss = loss + 0.5 * self.config.critic_penalty * (critic_real.square().mean() + critic_fake.square().mean())
        return bound, loss

    def _fake_gradient_factor(
        self, critic_fake: Tensor, loss_critic: Tensor, loss_generator: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Per generated sample i, r_i = (∂L_g/∂v_i) / (∂L_c/∂v_i), and whether every r_i can be trusted.

        Without coupling between samples, the gradient of L_g at the generated sample x_i is r_i times that of L_c,
        so scaling what flows back into x_i by r_i turns the critic's backward pass into the generator's. r_i is
        trusted where |∂L_c/∂v_i| is at least the square root of the smallest normal float (so the critic's backward
        pass has not lost it to underflow) or where ∂L_g/∂v_i is 0.
        """
        critic_cotangent, generator_cotangent = (
            torch.autograd.grad(loss, critic_fake, retain_graph=True)[0].reshape(-1)
            for loss in (loss_critic, loss_generator)
        )
        usable = critic_cotangent.abs() >= math.sqrt(torch.finfo(critic_cotangent.dtype).tiny)
        factor = torch.where(usable, generator_cotangent / torch.where(usable, critic_cotangent, 1.0), 0.0)
        trusted = ((usable | (generator_cotangent == 0)) & torch.isfinite(factor)).all()
        return factor, trusted

    def _one_backward_pass(
        self, fake: Tensor, critic_fake: Tensor, loss_critic: Tensor, loss_generator: Tensor
    ) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        """Both players' gradients from one backward pass of the critic's loss.

        With the minimax objective and no critic penalty, L_g = -L_c + (terms without θ), so the gradient flowing
        back into the generated samples is negated (a gradient reversal; exact whatever the critic). Otherwise it is
        scaled per sample by :meth:`_fake_gradient_factor`; a step where a factor cannot be trusted (a critic output
        so extreme that the critic's cotangent underflows) takes the generator's gradient by a second pass.
        """
        if self._reversal_only:
            factor, trusted = None, None
            hook = fake.register_hook(torch.neg)
        else:
            factor, trusted = self._fake_gradient_factor(critic_fake, loss_critic, loss_generator)
            hook = fake.register_hook(lambda grad: grad * factor.view(-1, *[1] * (grad.ndim - 1)).to(grad.dtype))
        try:
            grads = self._backward(loss_critic, self.critic_params + self.generator_params, factor is not None)
        finally:
            hook.remove()
        critic_grads, generator_grads = grads[: len(self.critic_params)], grads[len(self.critic_params) :]
        if trusted is not None and not distributed.all_ranks_agree(trusted):
            self.second_pass_steps += 1
            generator_grads = torch.autograd.grad(self._scaled(loss_generator), self.generator_params)
            for grad in generator_grads:  # taken outside DistributedDataParallel's backward hooks
                distributed.all_reduce_mean(grad)
        return critic_grads, generator_grads

    def single_step(self) -> Tensor:
        """Algorithm 1: both players' gradients at the same (θ, ω), then both updates.

        One forward pass (the generator, the critic on real and generated samples) and, where the critic treats
        samples independently or the objective is minimax without a critic penalty, one backward pass serve both
        players (:meth:`_one_backward_pass`); otherwise the generator's gradient takes a second backward pass
        (``passes`` says which, and why). Returns (F, L_c, L_g, |∇_ω L_c|, |∇_θ L_g|).
        """
        real = self._real_batch()
        fake = self._generate()
        critic_real, critic_fake = self._critic_both(real, fake)
        bound, loss_critic = self._critic_objective(critic_real, critic_fake)
        loss_generator = generator_loss(self.divergence, critic_fake, self.config.generator_objective)
        if self.passes == 1:
            critic_grads, generator_grads = self._one_backward_pass(fake, critic_fake, loss_critic, loss_generator)
        else:
            critic_grads = self._backward(loss_critic, self.critic_params, retain_graph=True)
            generator_grads = self._backward(loss_generator, self.generator_params)
        return self._apply(
            {"bound F": bound, "critic loss": loss_critic, "generator loss": loss_generator},
            [
                (self.critic_optimizer, self.critic_params, critic_grads),
                (self.generator_optimizer, self.generator_params, generator_grads),
            ],
        )

    def alternating_step(self) -> Tensor:
        """``critic_steps`` critic updates (generator fixed), then one generator update. Returns (F, L_c, L_g,
        |∇_ω L_c|, |∇_θ L_g|), F, L_c and the critic's norm from the last critic update."""
        for _ in range(self.config.critic_steps):
            real = self._real_batch()
            with torch.no_grad():
                fake = self._generate(sync=False)
            bound, loss_critic = self._critic_objective(*self._critic_both(real, fake))
            critic_grads = self._backward(loss_critic, self.critic_params)
            critic_row = self._apply(
                {"bound F": bound, "critic loss": loss_critic},
                [(self.critic_optimizer, self.critic_params, critic_grads)],
            )
        critic_fake = self._forward(self.critic, self._generate(), sync=False)
        loss_generator = generator_loss(self.divergence, critic_fake, self.config.generator_objective)
        generator_grads = self._backward(loss_generator, self.generator_params)
        generator_row = self._apply(
            {"generator loss": loss_generator}, [(self.generator_optimizer, self.generator_params, generator_grads)]
        )
        return torch.cat([critic_row[:2], generator_row[:1], critic_row[2:], generator_row[1:]])

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._interrupted:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self._interrupted = True

    def train(self, steps: int | None = None, time_limit: float | None = None) -> StepMetrics:
        """Run ``steps`` more steps (default: up to ``config.steps``) and return the per-step history.

        ``time_limit`` (seconds) ends training at the first step boundary after that much wall time, for training
        under a time budget. On SIGINT (in the main thread) the current step is finished, a checkpoint written
        (with a run folder) and KeyboardInterrupt raised; ``last_checkpoint`` names the file.
        """
        target = self.config.steps if steps is None else self.step + steps
        update = self.single_step if self.config.update == "single-step" else self.alternating_step
        show = not self.config.quiet and sys.stderr.isatty()
        self.generator.train()
        self.critic.train()
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous_handler = signal.signal(signal.SIGINT, self._on_sigint) if in_main_thread else None
        self._interrupted = False
        if self.config.update == "single-step":
            self.log(self.passes_note, show=self.passes == 2 and not self.config.quiet)
        deadline = math.inf if time_limit is None else time.monotonic() + time_limit
        try:
            with (
                tqdm(total=target, initial=self.step, disable=not show, unit="step", dynamic_ncols=True) as bar,
                warnings.catch_warnings(),
            ):
                # An optimiser step skipped on purpose (fp16 loss scaling that overflowed, on_nonfinite="skip")
                # makes torch warn that a schedule moved before its optimiser: expected here.
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)` before")
                while self.step < target and not self._interrupted and time.monotonic() < deadline:
                    self._pending.append(update())
                    for scheduler in self.schedulers:
                        scheduler.step()
                    self.step += 1
                    if self.step % self.config.log_every == 0 or self.step == target:
                        self._flush()
                        bar.set_postfix(estimate=f"{self.history.bound[-1]:.4f}")
                    for every, callback in self._callbacks:
                        if self.step % every == 0:
                            callback(self)
                    if self.run_dir is not None and self.config.checkpoint_every:
                        if self.step % self.config.checkpoint_every == 0:
                            self.save()
                    bar.update(1)
        finally:
            self._flush()
            if in_main_thread:
                signal.signal(signal.SIGINT, previous_handler)
        if self.run_dir is not None and self._saved_step != self.step:
            self.save()
        if self._interrupted:
            raise KeyboardInterrupt
        return self.history

    def log(self, message: str, show: bool = False) -> None:
        """Append a time-stamped line to the run folder's ``run.log`` (with a run folder); ``show`` also prints it
        to stderr."""
        if self.run_dir is not None:
            with open(self.run_dir / LOG_FILE, "a") as file:
                file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} step {self.step}: {message}\n")
        if show:
            print(f"fgan: {message}", file=sys.stderr)

    def _flush(self) -> None:
        """Move the pending per-step metrics off the device, into the history and metrics.jsonl."""
        if not self._pending:
            return
        rows = torch.stack(self._pending).cpu().tolist()
        first = self.step - len(rows) + 1
        self._pending.clear()
        lines = []
        for offset, values in enumerate(rows):
            row = {"step": first + offset, **dict(zip(METRIC_NAMES, values, strict=True))}
            self.history.append(row)
            lines.append(json.dumps({key: _json_number(value) for key, value in row.items()}) + "\n")
        if self.run_dir is not None:
            with open(self.run_dir / METRICS_FILE, "a") as file:
                file.writelines(lines)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue: both networks and optimisers, the schedules, the step, the skipped
        steps, the resolved config and every random generator's state."""
        return {
            "step": self.step,
            "skipped_steps": self.skipped_steps,
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "generator_optimizer": self.generator_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "schedulers": [scheduler.state_dict() for scheduler in self.schedulers],
            "scaler": self.scaler.state_dict(),
            "config": json.loads(json.dumps(asdict(self.config))),
            "divergence": self.divergence.name,
            "rng": rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint of :meth:`state_dict`.

        Raises:
            UsageError: when the checkpoint belongs to another divergence or another model (one line).
        """
        if state.get("divergence") != self.divergence.name:
            raise UsageError(
                f"checkpoint was trained with divergence {state.get('divergence')!r}, not {self.divergence.name!r}"
            )
        try:
            self.generator.load_state_dict(state["generator"])
            self.critic.load_state_dict(state["critic"])
            self.generator_optimizer.load_state_dict(state["generator_optimizer"])
            self.critic_optimizer.load_state_dict(state["critic_optimizer"])
            for scheduler, scheduler_state in zip(self.schedulers, state["schedulers"], strict=True):
                scheduler.load_state_dict(scheduler_state)
            if state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            set_rng_state(state["rng"])
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UsageError(f"checkpoint does not match this run's models: {first_line}") from None
        self.step = int(state["step"])
        self.skipped_steps = int(state["skipped_steps"])
        self._saved_step = self.step

    def save(self) -> Path:
        """Write a checkpoint of the current state into the run folder (metrics flushed first)."""
        if self.run_dir is None:
            raise UsageError("this trainer has no run folder to save to")
        self._flush()
        self.last_checkpoint = save_checkpoint(self.run_dir, self.step, self.state_dict(), self.config.keep_checkpoints)
        self._saved_step = self.step
        return self.last_checkpoint


def critic_couples_samples(critic: nn.Module) -> bool:
    """Whether the critic's output for one sample depends on the other samples of its batch: it has batch norm,
    or a submodule with a true ``couples_samples`` attribute (set it on a custom layer that mixes samples, such as
    minibatch discrimination, so that the trainer does not rescale gradients per sample)."""
    batch_norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
    return any(
        isinstance(module, batch_norms) or getattr(module, "couples_samples", False) for module in critic.modules()
    )


def _json_number(value: float) -> float | None:
    """JSON has no NaN or infinity: write them as null."""
    return value if isinstance(value, int) or np.isfinite(value) else None
