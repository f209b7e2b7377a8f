"""One training step: the gradient math of Algorithm 1 (``single-step``) and of alternating updates.

:class:`StepEngine` owns what a step computes with: both networks' forward passes (compiled with
``torch.compile``, averaged across processes by DistributedDataParallel, run under autocast in bf16 and fp16 with
float32 outputs), their optimisers and the fp16 loss scaler. A step draws the minibatches, forms the losses from
the :class:`~fgan.critic_objective.CriticObjective`, takes the gradients (in one backward pass where the route of
:func:`~fgan.critic_objective.generator_gradient_route` allows), checks that losses and gradients are finite,
clips the gradients and steps the optimisers. It returns a :class:`StepRecord` whose values stay on the device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from fgan import distributed
from fgan.critic_objective import (
    CriticBatch,
    CriticObjective,
    cotangent_ratio,
    critic_couples_samples,
    generator_gradient_route,
)
from fgan.data import Sampler
from fgan.diagnostics import SaturationTest, saturated_fraction
from fgan.models import sample_latent
from fgan.objectives import GeneratorObjective, generator_loss

#: ``TrainConfig.update``: Algorithm 1, or ``critic_steps`` critic updates then one generator update.
UpdateRule = Literal["single-step", "alternating"]
#: ``TrainConfig.optimizer``: the optimiser of both networks.
OptimizerName = Literal["adam", "sgd"]
#: ``TrainConfig.precision``: the networks' arithmetic (bf16 and fp16 under autocast, fp16 loss-scaled).
Precision = Literal["fp32", "bf16", "fp16"]
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: The per-step quantities of a :class:`StepRecord`, in the order of metrics.jsonl's keys after ``step``.
METRIC_NAMES = (
    "bound",
    "critic_loss",
    "generator_loss",
    "critic_grad_norm",
    "generator_grad_norm",
    "saturated_fraction",
)
#: What a message about a non-finite value calls each quantity.
_QUANTITY_NAMES = {
    "bound": "bound F",
    "critic_loss": "critic loss",
    "generator_loss": "generator loss",
    "critic_grad_norm": "critic gradient",
    "generator_grad_norm": "generator gradient",
}


class NonFiniteError(RuntimeError):
    """A loss or gradient was NaN or infinite; the message names the step, divergence and quantity."""


@dataclass
class StepRecord:
    """What one step measured, as 0-d tensors on the device: F, the critic's and the generator's losses, the norms of
    their gradients (for ``alternating``, F, L_c and the critic's norm of the step's last critic update), the
    fraction of generated samples on which g_f saturates (:func:`fgan.diagnostics.saturated_fraction`); and
    whether the generator's gradient took a second backward pass where one was planned."""

    bound: Tensor
    critic_loss: Tensor
    generator_loss: Tensor
    critic_grad_norm: Tensor
    generator_grad_norm: Tensor
    saturated_fraction: Tensor
    second_pass: bool = False

    def metrics(self) -> list[Tensor]:
        """The six quantities in the order of :data:`METRIC_NAMES`."""
        return [getattr(self, name) for name in METRIC_NAMES]


class StepOptions(Protocol):
    """The options of :class:`fgan.training.TrainConfig` a step reads."""

    @property
    def batch_size(self) -> int: ...
    @property
    def update(self) -> UpdateRule: ...
    @property
    def critic_steps(self) -> int: ...
    @property
    def generator_objective(self) -> GeneratorObjective: ...
    @property
    def optimizer(self) -> OptimizerName: ...
    @property
    def lr_generator(self) -> float: ...
    @property
    def lr_critic(self) -> float: ...
    @property
    def betas(self) -> tuple[float, float]: ...
    @property
    def clip_grad_norm(self) -> float | None: ...
    @property
    def precision(self) -> Precision: ...
    @property
    def compile(self) -> bool: ...


#: One player's update: its name, optimiser, parameters and their gradients.
PlayerUpdate = tuple[str, torch.optim.Optimizer, list[nn.Parameter], tuple[Tensor, ...]]


def make_optimizer(options: StepOptions, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam or SGD over ``params``, in the fused implementation (one kernel for all parameters) where torch has one
    for their device and dtype; the for-each one otherwise."""
    fused = all(param.device.type in ("cpu", "cuda", "mps") and param.is_floating_point() for param in params)
    if options.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=options.betas, fused=fused, foreach=None if fused else True)
    return torch.optim.SGD(params, lr=lr, fused=fused, foreach=None if fused else True)


class StepEngine:
    """Takes steps of ``generator`` against ``critic`` on ``data`` under ``objective``.

    Args:
        generator, critic, data: as for :class:`fgan.training.Trainer`; moved to ``device``.
        objective: the critic's objective.
        options: the training options (a resolved :class:`fgan.training.TrainConfig`).
        device: where the networks train.
        on_nonfinite: called with the name of the first non-finite loss or gradient of an update (before anything
            of it is applied); it raises to stop, or returns to skip the update.

    ``input_noise_std`` (set by the trainer before each step, 0 by default) is the standard deviation of the
    instance noise added to both the real and the generated samples the critic sees (Sønderby et al. 2016).
    """

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        data: Sampler,
        objective: CriticObjective,
        options: StepOptions,
        device: torch.device,
        on_nonfinite: Callable[[str], None],
    ) -> None:
        self.generator, self.critic, self.data = generator.to(device), critic.to(device), data
        self.objective, self.options, self.device, self.on_nonfinite = objective, options, device, on_nonfinite
        self.generator_params = [p for p in self.generator.parameters() if p.requires_grad]
        self.critic_params = [p for p in self.critic.parameters() if p.requires_grad]
        self.generator_optimizer = make_optimizer(options, self.generator_params, options.lr_generator)
        self.critic_optimizer = make_optimizer(options, self.critic_params, options.lr_critic)
        self._autocast_dtype = _AUTOCAST_DTYPES.get(options.precision)
        self._saturation_test = SaturationTest.of(objective.divergence)
        self.scaler = torch.amp.GradScaler(device.type, enabled=options.precision == "fp16")
        self._local_forward, self._synced_forward = {}, {}
        for module in (self.generator, self.critic):
            self._local_forward[module] = torch.compile(module) if options.compile else module
            if distributed.world_size() > 1:
                synced = DistributedDataParallel(module)
                self._synced_forward[module] = torch.compile(synced) if options.compile else synced
            else:  # one process: the same (compiled once) forward
                self._synced_forward[module] = self._local_forward[module]
        self.couples_samples = critic_couples_samples(self.critic)
        self.route = generator_gradient_route(objective, options.generator_objective, self.couples_samples)
        self.input_noise_std = 0.0

    @property
    def passes(self) -> int:
        """Backward passes a single step plans: 1, or 2 on the ``second pass`` route."""
        return 2 if self.route.kind == "second pass" else 1

    @property
    def passes_note(self) -> str:
        """A sentence for the run's log: the forward and backward passes of a single step, and why."""
        backward = "one backward pass" if self.passes == 1 else "two backward passes"
        if not self.couples_samples:
            return f"single-step update: one forward and {backward} ({self.route.reason})"
        return (
            "single-step update: two forward passes of the critic, the real and the generated batch apart (it couples "
            "the samples of a batch: batch norm or a layer declaring couples_samples), one of the generator, and "
            f"{backward} ({self.route.reason})"
        )

    def step(self) -> StepRecord:
        """One step of ``options.update``."""
        return self.single_step() if self.options.update == "single-step" else self.alternating_step()

    def single_step(self) -> StepRecord:
        """Algorithm 1: both players' gradients at the same (θ, ω), then both updates.

        One forward pass (the generator, the critic on real and generated samples) and, on the ``reversal`` and
        ``rescaling`` routes, one backward pass serve both players (:meth:`_one_backward_pass`); on the ``second
        pass`` route the generator's gradient takes a second backward pass.
        """
        real = self._real_batch()
        fake = self.generate()
        batch = self._critic_batch(real, fake)
        critic_fake = batch.critic_fake
        bound, loss_critic = self.objective(batch)
        loss_generator = generator_loss(self.objective.divergence, critic_fake, self.options.generator_objective)
        second_pass = False
        if self.passes == 1:
            critic_grads, generator_grads, second_pass = self._one_backward_pass(
                fake, critic_fake, loss_critic, loss_generator
            )
        else:
            critic_grads = self._backward(loss_critic, self.critic_params, retain_graph=True)
            generator_grads = self._backward(loss_generator, self.generator_params)
        values = self._apply(
            {"bound": bound, "critic_loss": loss_critic, "generator_loss": loss_generator},
            [
                ("critic", self.critic_optimizer, self.critic_params, critic_grads),
                ("generator", self.generator_optimizer, self.generator_params, generator_grads),
            ],
        )
        return StepRecord(**values, saturated_fraction=self._saturation(critic_fake), second_pass=second_pass)

    def alternating_step(self) -> StepRecord:
        """``critic_steps`` critic updates (generator fixed), then one generator update."""
        for _ in range(self.options.critic_steps):
            real = self._real_batch()
            with torch.no_grad():
                fake = self.generate(sync=False)
            bound, loss_critic = self.objective(self._critic_batch(real, fake))
            critic_grads = self._backward(loss_critic, self.critic_params)
            critic_values = self._apply(
                {"bound": bound, "critic_loss": loss_critic},
                [("critic", self.critic_optimizer, self.critic_params, critic_grads)],
            )
        critic_fake = self.forward(self.critic, self._noisy(self.generate()), sync=False)
        loss_generator = generator_loss(self.objective.divergence, critic_fake, self.options.generator_objective)
        generator_grads = self._backward(loss_generator, self.generator_params)
        generator_values = self._apply(
            {"generator_loss": loss_generator},
            [("generator", self.generator_optimizer, self.generator_params, generator_grads)],
        )
        saturation = self._saturation(critic_fake)
        return StepRecord(**critic_values, **generator_values, saturated_fraction=saturation, second_pass=False)

    def _one_backward_pass(
        self, fake: Tensor, critic_fake: Tensor, loss_critic: Tensor, loss_generator: Tensor
    ) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...], bool]:
        """Both players' gradients from one backward pass of the critic's loss, the gradient flowing back into the
        generated samples negated (``reversal``) or scaled per sample by :func:`cotangent_ratio` (``rescaling``);
        and whether a ratio could not be trusted (a critic output so extreme that the critic's cotangent
        underflows), so that the generator's gradient took a second pass after all."""
        if self.route.kind == "reversal":
            ratio, trusted = None, None
            hook = fake.register_hook(torch.neg)
        else:
            ratio, trusted = cotangent_ratio(critic_fake, loss_critic, loss_generator)
            hook = fake.register_hook(lambda grad: (grad * ratio.view(-1, *[1] * (grad.ndim - 1))).to(grad.dtype))
        try:
            grads = self._backward(loss_critic, self.critic_params + self.generator_params, ratio is not None)
        finally:
            hook.remove()
        critic_grads, generator_grads = grads[: len(self.critic_params)], grads[len(self.critic_params) :]
        if trusted is None or distributed.all_ranks_agree(trusted):
            return critic_grads, generator_grads, False
        generator_grads = torch.autograd.grad(self._scaled(loss_generator), self.generator_params)
        for grad in generator_grads:  # taken outside DistributedDataParallel's backward hooks
            distributed.all_reduce_mean(grad)
        return critic_grads, generator_grads, True

    def forward(self, module: nn.Module, inputs: Tensor, sync: bool = True, keep_dtype: bool = False) -> Tensor:
        """``module(inputs)``: compiled when ``options.compile`` is set; with several processes through its
        DistributedDataParallel wrapper when ``sync`` (its gradients of the next backward pass are then averaged
        across processes, so pass False when that pass takes none of them); in bf16 and fp16 under autocast, with the
        output cast to float32, so that the divergence arithmetic never runs in reduced precision, unless
        ``keep_dtype`` (the generated batch, which only the critic's autocast reads: a float32 copy would be cast
        back to the same values there, forward and backward)."""
        forward = (self._synced_forward if sync else self._local_forward)[module]
        if self._autocast_dtype is None:
            return forward(inputs)
        with torch.autocast(self.device.type, dtype=self._autocast_dtype):
            outputs = forward(inputs)
        return outputs if keep_dtype else outputs.float()

    def _critic_batch(self, real: Tensor, fake: Tensor) -> CriticBatch:
        """The critic's :class:`~fgan.critic_objective.CriticBatch` on ``real`` and ``fake``, with instance noise
        on both, and inputs that require gradients where a term takes ∇_x V (a generated batch drawn without
        gradients becomes a leaf that does); the input gradients are taken unscaled, also in fp16 (∇_x V is of
        order 1, and the fp16 loss scale of 2^16 would overflow half precision there)."""
        real, fake = self._noisy(real), self._noisy(fake)
        wanted = self.objective.input_gradients
        if "real" in wanted:
            real = real.detach().requires_grad_(True)
        if "fake" in wanted and not fake.requires_grad:
            fake = fake.detach().requires_grad_(True)
        critic_real, critic_fake = self._critic_both(real, fake)
        return CriticBatch(real, fake, critic_real, critic_fake)

    def _noisy(self, samples: Tensor) -> Tensor:
        """``samples`` (this process's share of a minibatch) plus N(0, input_noise_std²) instance noise, this
        process's share of the noise of the global minibatch (so that every process draws alike, and several
        processes train as one does); unchanged at std 0."""
        if not self.input_noise_std:
            return samples
        shape = (self.options.batch_size, *samples.shape[1:])
        dtype = torch.promote_types(samples.dtype, torch.float32)  # drawn as wide as the sum it joins
        noise = distributed.shard(torch.randn(shape, device=samples.device, dtype=dtype))
        return (samples + self.input_noise_std * noise).to(samples.dtype)

    def _saturation(self, critic_fake: Tensor) -> Tensor:
        """The step's :func:`~fgan.diagnostics.saturated_fraction` of the generated samples, averaged across
        processes."""
        test, critic_fake = self._saturation_test, critic_fake.detach()
        fraction = (
            saturated_fraction(self.objective.divergence, critic_fake) if test is None else test.fraction(critic_fake)
        )
        distributed.all_reduce_mean(fraction)
        return fraction

    def _critic_both(self, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        """The critic's outputs on the real and the generated batch: one forward pass over both, concatenated, when
        the critic treats samples independently (fewer, larger matrix products); two passes when it couples them."""
        if self.couples_samples:
            return self.forward(self.critic, real), self.forward(self.critic, fake)
        outputs = self.forward(self.critic, torch.cat([real.to(fake.dtype), fake]))
        return outputs[: len(real)], outputs[len(real) :]

    def _real_batch(self) -> Tensor:
        """This process's share of a global minibatch from P (see :mod:`fgan.distributed`)."""
        return distributed.shard(self.data.sample(self.options.batch_size, self.device))

    def generate(self, sync: bool = True) -> Tensor:
        """Samples of Q_θ from this process's share of a global minibatch of latent codes; in bf16 and fp16 in the
        autocast dtype (see :meth:`forward`)."""
        latent = distributed.shard(sample_latent(self.generator, self.options.batch_size, self.device))
        return self.forward(self.generator, latent, sync, keep_dtype=True)

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

    def _apply(self, losses: dict[str, Tensor], updates: list[PlayerUpdate]) -> dict[str, Tensor]:
        """Check the losses and gradients, then step each ``(player, optimizer, params, grads)``.

        Returns the losses (averaged across processes, so that every process takes the same decision and the
        records are those of the global batch) and each player's gradient norm, under their :class:`StepRecord`
        names. In fp16 the gradients are unscaled first, and a step whose gradients overflowed is skipped by the
        loss scaler (which lowers its scale), as mixed-precision training expects; the losses are still checked.
        """
        for _, optimizer, params, grads in updates:
            for param, grad in zip(params, grads, strict=True):
                param.grad = grad
            if self.scaler.is_enabled():
                self.scaler.unscale_(optimizer)
        norms = [torch.nn.utils.get_total_norm(grads) for _, _, _, grads in updates]  # now each .grad, unscaled
        row = torch.stack([*(loss.detach().to(norms[0].dtype) for loss in losses.values()), *norms])
        distributed.all_reduce_mean(row[: len(losses)])
        names = [*losses, *(f"{player}_grad_norm" for player, _, _, _ in updates)]
        checked = len(losses) if self.scaler.is_enabled() else len(row)
        if self._all_finite(names[:checked], row[:checked]):
            for (_, optimizer, params, _), norm in zip(updates, norms, strict=True):
                if self.options.clip_grad_norm is not None:
                    torch.nn.utils.clip_grads_with_norm_(params, self.options.clip_grad_norm, norm)
                self.scaler.step(optimizer)
        self.scaler.update()
        return dict(zip(names, row.unbind(), strict=True))

    def _all_finite(self, names: list[str], values: Tensor) -> bool:
        """True when every value is finite; otherwise :attr:`on_nonfinite` hears of the first bad one (and raises,
        or returns for the update to be skipped). One device sync per call."""
        flags = torch.isfinite(values).tolist()
        if all(flags):
            return True
        self.on_nonfinite(next(_QUANTITY_NAMES[name] for name, flag in zip(names, flags, strict=True) if not flag))
        return False
