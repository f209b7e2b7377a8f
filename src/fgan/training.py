"""Training by variational divergence minimisation: Algorithm 1 of the paper, or alternating updates.

``Trainer`` takes any generator and critic ``nn.Module`` (see :mod:`fgan.models` for what they must provide), a
data sampler (see :mod:`fgan.data`) and a divergence, and runs

* ``single-step`` (the default, Algorithm 1): one minibatch from P and one from Q_θ per step; the critic ascends
  and the generator descends F(θ, ω), both gradients taken at the same point, by one forward and one backward
  pass where the critic's objective allows (see :mod:`fgan.critic_objective`);
* ``alternating``: ``critic_steps`` critic updates on fresh minibatches, then one generator update.

The gradient math of a step (autocast, loss scaling, the finiteness check, clipping, the optimiser steps) is
:class:`fgan.step.StepEngine`'s; the trainer is the loop around it. ``precision`` runs the networks under autocast
(``bf16``, or ``fp16`` with loss scaling) with float32 weights and optimiser state; the divergence arithmetic (g_f,
f*, the bound) is always float32.

Per step it records the bound F (the running divergence estimate), both losses and both gradient norms, keeping
them on the device and reading them every ``log_every`` steps. Before any update the engine checks that the losses
and the gradient norms are finite: a non-finite one stops the run with :class:`NonFiniteError`
(``on_nonfinite="stop"``, nothing is applied) or skips the update and counts it (``"skip"``). On SIGINT (Ctrl-C)
it finishes the step, writes a checkpoint and raises KeyboardInterrupt. :meth:`Trainer.load_state_dict` restores a
checkpoint, every random generator included, so a resumed run on the CPU ends with the same parameters, bit for
bit, as one that was never interrupted.
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
from typing import Any, Literal, get_args

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from fgan import distributed
from fgan.critic_objective import CriticObjective
from fgan.data import Sampler
from fgan.diagnostics import SaturationWatch
from fgan.divergences import Divergence, get_divergence
from fgan.ema import GeneratorAverage
from fgan.errors import UsageError
from fgan.memory import check_fits
from fgan.objectives import GENERATOR_OBJECTIVES, GeneratorObjective
from fgan.options import check_options, option
from fgan.runs import LOG_FILE, METRICS_FILE, append_text, save_checkpoint
from fgan.stabilizers import (
    STABILIZER_CHOICES,
    WEIGHT_DEFAULTS,
    instance_noise_std,
    penalty_weights,
    resolve_stabilizers,
    spectral_normalize,
)
from fgan.step import (
    METRIC_NAMES,
    NonFiniteError,
    OptimizerName,
    Precision,
    StepEngine,
    StepRecord,
    UpdateRule,
)
from fgan.threads import thread_policy

#: ``TrainConfig.lr_schedule``: constant step sizes, or falling linearly to 0 at the last step.
LRSchedule = Literal["constant", "linear"]
#: ``TrainConfig.on_nonfinite``: what a NaN or infinite loss or gradient does.
NonFiniteAction = Literal["stop", "skip"]
UPDATES: tuple[UpdateRule, ...] = get_args(UpdateRule)
OPTIMIZERS: tuple[OptimizerName, ...] = get_args(OptimizerName)
LR_SCHEDULES: tuple[LRSchedule, ...] = get_args(LRSchedule)
NONFINITE_ACTIONS: tuple[NonFiniteAction, ...] = get_args(NonFiniteAction)
DEVICES = ("auto", "cpu", "cuda", "mps")
#: The most critic steps per generator step: beyond it a run takes hours before the generator moves at all.
MAX_CRITIC_STEPS = 1000
#: The one-line warning of a run in fp16 on the CPU.
CPU_FP16_WARNING = (
    "warning: --precision fp16 on the CPU: float16 autocast has no fast CPU kernels (a step can take minutes); "
    "use fp32 or bf16 there, fp16 on a GPU"
)
PRECISIONS: tuple[Precision, ...] = get_args(Precision)


def _penalty_weight(stabilizer: str, penalty: str) -> Any:
    """The option of a gradient penalty's weight γ (None: the recommendation's, else the stabiliser's default)."""
    default = WEIGHT_DEFAULTS[stabilizer][1]
    return option(
        None,
        help=f"{stabilizer}: the weight GAMMA of GAMMA/2 {penalty} (None: the recommendation's, else {default:g})",
        low=0,
        metavar="GAMMA",
    )


@dataclass
class TrainConfig:
    """Options of a training run (all have defaults, the ``api`` profile of :mod:`fgan.profiles`; the run folder
    stores them resolved)."""

    steps: int = option(2000, help="training steps", low=0, resumable=True)
    batch_size: int = option(256, help="minibatch size", low=1)
    update: UpdateRule = option(
        "single-step",
        help="single-step: Algorithm 1; alternating: k critic steps, then one generator step",
        choices=UPDATES,
    )
    critic_steps: int = option(
        1, help="critic steps per generator step (alternating update)", low=1, high=MAX_CRITIC_STEPS
    )
    generator_objective: GeneratorObjective = option(
        "minimax",
        help="minimax: descend F (Algorithm 1); alternative: ascend E_Q[g_f(V)] (Section 3.2)",
        choices=GENERATOR_OBJECTIVES,
    )
    optimizer: OptimizerName = option("adam", help="optimiser of both networks", choices=OPTIMIZERS)
    lr_generator: float = option(2e-4, help="generator step size", low=0, low_open=True)
    lr_critic: float = option(2e-4, help="critic step size", low=0, low_open=True)
    betas: tuple[float, float] = option(
        (0.5, 0.999), help="Adam's β1 and β2", low=0, high=1, high_open=True, metavar="BETA"
    )
    lr_schedule: LRSchedule = option("constant", help="linear: step sizes fall to 0 at the end", choices=LR_SCHEDULES)
    lr_schedule_span: tuple[int, int] | None = option(
        None,
        help="linear: the steps START END over which the step sizes fall from their full value to 0 (full before "
        "START, 0 after END); None: 0 and --steps",
        low=0,
        metavar="STEP",
    )
    critic_penalty: float | None = option(
        None,
        help="penalty LAMBDA/2 (E_P[V²] + E_Q[V²]) on the raw critic output; None: the divergence's own "
        "(0.01 for tv, 0 for the others)",
        low=0,
        metavar="LAMBDA",
    )
    stabilizer: tuple[str, ...] = option(
        ("recommended",),
        help="stabilisers, combinable (see fgan.stabilizers): roth (Roth et al. 2017), r1, r2 (gradient penalties on "
        "real, generated samples), sn (spectral norm of the critic), noise (annealed instance noise), ema (averaged "
        "generator); none: plain Algorithm 1; recommended: the divergence's own (divergence.recommended_stabilizer), "
        "first of a list to add to it (recommended ema)",
        choices=STABILIZER_CHOICES,
        metavar="NAME",
    )
    roth_gamma: float | None = _penalty_weight("roth", "Ω (Roth et al.'s regulariser)")
    r1_gamma: float | None = _penalty_weight("r1", "E_P[|∇V|²]")
    r2_gamma: float | None = _penalty_weight("r2", "E_Q[|∇V|²]")
    instance_noise: float | None = option(
        None,
        help="noise: the initial std of the instance noise, annealed linearly to 0 (None: the recommendation's, "
        "else 0.1)",
        low=0,
        metavar="STD",
    )
    ema_decay: float | None = option(
        None,
        help="ema: the decay β of the generator average (None: the recommendation's, else 0.999)",
        low=0,
        high=1,
        high_open=True,
        metavar="BETA",
    )
    clip_grad_norm: float | None = option(None, help="clip each network's gradient norm", low=0, low_open=True)
    on_nonfinite: NonFiniteAction = option(
        "stop",
        help="a NaN or infinite loss or gradient: stop the run, or skip the step and count it",
        choices=NONFINITE_ACTIONS,
    )
    seed: int = option(0, help="random seed")
    device: str = option(
        "auto",
        help="where to train: cpu, cuda, mps, or auto for the first of cuda, mps, cpu that is available",
        choices=DEVICES,
        resumable=True,
    )
    precision: Precision = option(
        "fp32",
        help="the networks' arithmetic: bf16 or fp16 (loss-scaled) autocast with float32 weights; the divergence "
        "arithmetic stays float32",
        choices=PRECISIONS,
    )
    compile: bool = option(False, help="torch.compile both networks (pays off on long runs and GPUs)")
    threads: int | None = option(
        None,
        help="intra-op CPU threads, fixed (runs repeat bit for bit); None: $FGAN_NUM_THREADS if set, else chosen by "
        "measured step time between 1 and torch's count, as the machine's load changes (see fgan.threads)",
        low=1,
        resumable=True,
    )
    log_every: int = option(50, help="read the metrics from the device and write them every N steps", low=1)
    checkpoint_every: int = option(
        0, help="also checkpoint every N steps (0: only at the end; fgan train also checkpoints after step 1)", low=0
    )
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
    # numpy's stubs type get_state() as the dict of legacy=False; legacy=True (the default) gives this tuple
    numpy_state = np.random.get_state(legacy=True)  # noqa: NPY002 -- the global generator
    assert isinstance(numpy_state, tuple), "the global generator is MT19937, whose legacy state is a tuple"
    _, keys, position, has_gauss, cached_gaussian = numpy_state
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


@dataclass
class StepMetrics:
    """Per-step records: F (the bound), the critic and generator losses and the norms of their gradients (for
    ``alternating``, those of the step's last critic update), and the fraction of generated samples on which g_f
    saturates (see :mod:`fgan.diagnostics`)."""

    step: list[int] = field(default_factory=list)
    bound: list[float] = field(default_factory=list)
    critic_loss: list[float] = field(default_factory=list)
    generator_loss: list[float] = field(default_factory=list)
    critic_grad_norm: list[float] = field(default_factory=list)
    generator_grad_norm: list[float] = field(default_factory=list)
    saturated_fraction: list[float] = field(default_factory=list)

    def append(self, row: dict[str, float | None]) -> None:
        """Add one metrics.jsonl row (null, a non-finite value, or a missing one is read as NaN)."""
        step = row["step"]
        assert step is not None, "every metrics row has its step"
        self.step.append(int(step))
        for name in METRIC_NAMES:
            value = row.get(name)
            getattr(self, name).append(math.nan if value is None else float(value))


def check_minibatch(batch_size: int, data_dim: int, latent_dim: int) -> None:
    """Refuse (UsageError) a ``--batch-size`` whose minibatches alone, float32 codes and samples of P and Q_θ
    (``batch · (latent + 2 · data values)`` values), cannot fit in memory."""
    values = batch_size * (latent_dim + 2 * data_dim)
    check_fits(4 * values, f"--batch-size {batch_size}: minibatches of {data_dim:,} values a sample")


class Trainer:
    """Trains ``generator`` against ``critic`` on ``data`` under ``divergence``: the loop around a
    :class:`~fgan.step.StepEngine` (learning-rate schedules, records, callbacks, SIGINT, checkpoints).

    Args:
        generator: maps ``sample_latent(generator, n)`` to samples of shape ``(n, data.dim)``.
        critic: maps samples to raw outputs V(x), one per sample.
        data: a sampler of real minibatches (``sample(n, device)``).
        divergence: a :class:`~fgan.divergences.Divergence` or its name.
        config: training options. Creating a trainer seeds nothing and draws no random numbers: for a run that is
            reproducible, seed (:func:`seed_everything`) before building the networks. fgan's entry points seed
            with ``config.seed`` there and once more after building the trainer, so that the minibatches drawn do
            not depend on what initialising the networks drew.
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
        self.divergence = get_divergence(divergence)
        if self.config.critic_penalty is None:
            self.config.critic_penalty = self.divergence.default_critic_penalty
        #: The run.log line saying which stabilisers train (and why).
        self.stabilizer_note = resolve_stabilizers(self.config, self.divergence)
        distributed.check_batch_size(self.config.batch_size)
        latent_dim = getattr(generator, "latent_dim", 0)
        check_minibatch(self.config.batch_size, data.dim, latent_dim if isinstance(latent_dim, int) else 0)
        self.device = distributed.local_device(resolve_device(self.config.device))
        if "sn" in self.config.stabilizer:
            spectral_normalize(critic)
        objective = CriticObjective(
            self.divergence, output_penalty=self.config.critic_penalty, **penalty_weights(self.config)
        )
        self.engine = StepEngine(generator, critic, data, objective, self.config, self.device, self._on_nonfinite)
        self.threads = thread_policy(self.config.threads, self.device, on_change=self.log)
        #: The average of the generator's weights (stabiliser ``ema``), or None.
        self.generator_average = None
        if self.config.ema_decay is not None:  # set exactly when the stabiliser ema is on (resolve_stabilizers)
            self.generator_average = GeneratorAverage(self.engine.generator, self.config.ema_decay)
        self.saturation = SaturationWatch(self.divergence, self._stabilizer_to_try())
        self.generator, self.critic, self.data = self.engine.generator, self.engine.critic, data
        self.generator_optimizer, self.critic_optimizer = self.engine.generator_optimizer, self.engine.critic_optimizer
        self.schedulers = [
            torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_factor)
            for optimizer in (self.generator_optimizer, self.critic_optimizer)
        ]
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.step = 0
        self.skipped_steps = 0
        #: Single steps whose generator gradient took a second backward pass (see :class:`~fgan.step.StepRecord`).
        self.second_pass_steps = 0
        self.history = StepMetrics()
        self.last_checkpoint: Path | None = None
        self._pending: list[StepRecord] = []
        self._interrupted = False
        self._saved_step: int | None = None
        self._callbacks: list[tuple[int, Callable[[Trainer], None]]] = []

    @property
    def evaluation_generator(self) -> nn.Module:
        """The generator that samples and evaluations use: the weight average with ``ema``, else the generator."""
        return self.generator if self.generator_average is None else self.generator_average.module

    def _stabilizer_to_try(self) -> str:
        """What the saturation warning suggests: the divergence's recommendation where it is not in use, else R1."""
        recommended = self.divergence.recommended_stabilizer.stabilizers
        if recommended and not set(recommended) <= set(self.config.stabilizer):
            return f"--stabilizer {' '.join(recommended)}"
        return (
            "--stabilizer r1 (or a larger --r1-gamma)" if "r1" not in self.config.stabilizer else "a larger --r1-gamma"
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
        """The learning-rate multiplier at ``step``: 1, or linear over the span (a, b) (``lr_schedule_span``, by
        default (0, ``config.steps``)): min(1, max(0, 1 - (step - a) / (b - a))), 1 before a and 0 after b."""
        if self.config.lr_schedule == "constant":
            return 1.0
        start, end = self.config.lr_schedule_span or (0, self.config.steps)
        return min(1.0, max(0.0, 1.0 - (step - start) / max(1, end - start)))

    def _on_nonfinite(self, quantity: str) -> None:
        """A non-finite ``quantity`` in the step about to be taken: raise NonFiniteError (``on_nonfinite="stop"``)
        or count the skipped update."""
        if self.config.on_nonfinite == "skip":
            self.skipped_steps += 1
            return
        kept = f"the last good checkpoint is {self.last_checkpoint}" if self.last_checkpoint else "no checkpoint yet"
        raise NonFiniteError(
            f"non-finite {quantity} at step {self.step + 1} with divergence {self.divergence.name}; nothing of this "
            f"step was applied; {kept} (try --clip-grad-norm, a smaller learning rate or --on-nonfinite skip)"
        )

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
        show = not self.config.quiet and sys.stderr.isatty()
        self.generator.train()
        self.critic.train()
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous_handler = signal.signal(signal.SIGINT, self._on_sigint) if in_main_thread else None
        self._interrupted = False
        self.log(self.stabilizer_note)
        if self.config.precision == "fp16" and self.device.type == "cpu":
            self.log(CPU_FP16_WARNING, show=not self.config.quiet)
        if self.config.update == "single-step":
            self.log(self.engine.passes_note, show=self.engine.passes == 2 and not self.config.quiet)
        deadline = math.inf if time_limit is None else time.monotonic() + time_limit
        try:
            with (
                tqdm(total=target, initial=self.step, disable=not show, unit="step", dynamic_ncols=True) as bar,
                warnings.catch_warnings(),
                self.threads.applied(),
            ):
                # An optimiser step skipped on purpose (fp16 loss scaling that overflowed, on_nonfinite="skip")
                # makes torch warn that a schedule moved before its optimiser: expected here.
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)` before")
                while self.step < target and not self._interrupted and time.monotonic() < deadline:
                    self._advance(target, bar)
        finally:
            self._flush()
            if in_main_thread:
                signal.signal(signal.SIGINT, previous_handler)
        if self.run_dir is not None and self._saved_step != self.step:
            self.save()
        if self._interrupted:
            raise KeyboardInterrupt
        return self.history

    def _advance(self, target: int, bar: tqdm) -> None:
        """One step, then what follows it: the schedules, the records, the callbacks and the checkpoint due."""
        if self.config.instance_noise:
            self.engine.input_noise_std = instance_noise_std(self.config.instance_noise, self.step, self.config.steps)
        started = time.perf_counter()
        record = self.engine.step()
        self.threads.observe(time.perf_counter() - started)
        if self.generator_average is not None:
            self.generator_average.update()
        self._pending.append(record)
        self.second_pass_steps += record.second_pass
        for scheduler in self.schedulers:
            scheduler.step()
        self.step += 1
        if self.step % self.config.log_every == 0 or self.step == target:
            self._flush()
            saturated = {"critic_saturated": f"since step {self.saturation.since}"} if self.saturation.warned else {}
            bar.set_postfix(estimate=f"{self.history.bound[-1]:.4f}", **saturated)
        for every, callback in self._callbacks:
            if self.step % every == 0:
                callback(self)
        if self.run_dir is not None and self.config.checkpoint_every and self.step % self.config.checkpoint_every == 0:
            self.save()
        bar.update(1)

    def log(self, message: str, show: bool = False) -> None:
        """Append a time-stamped line to the run folder's ``run.log`` (with a run folder); ``show`` also prints it
        to stderr."""
        if self.run_dir is not None:
            append_text(self.run_dir / LOG_FILE, f"{time.strftime('%Y-%m-%d %H:%M:%S')} step {self.step}: {message}\n")
        if show:
            print(f"fgan: {message}", file=sys.stderr)

    def _flush(self) -> None:
        """Move the pending step records off the device (one transfer), into the history and metrics.jsonl."""
        if not self._pending:
            return
        values = torch.stack([value for record in self._pending for value in record.metrics()])
        rows = values.view(len(self._pending), len(METRIC_NAMES)).cpu().tolist()
        first = self.step - len(rows) + 1
        self._pending.clear()
        lines = []
        for offset, row_values in enumerate(rows):
            row = {"step": first + offset, **dict(zip(METRIC_NAMES, row_values, strict=True))}
            self.history.append(row)
            warning = self.saturation.observe(int(row["step"]), row["saturated_fraction"])
            if warning is not None:
                self.log(warning, show=not self.config.quiet)
            lines.append(json.dumps({key: _json_number(value) for key, value in row.items()}) + "\n")
        if self.run_dir is not None:
            append_text(self.run_dir / METRICS_FILE, "".join(lines))

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
            "scaler": self.engine.scaler.state_dict(),
            **({"generator_average": self.generator_average.state_dict()} if self.generator_average else {}),
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
                self.engine.scaler.load_state_dict(state["scaler"])
            if self.generator_average is not None:
                self.generator_average.load_state_dict(state["generator_average"])
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


def _json_number(value: float) -> float | None:
    """JSON has no NaN or infinity: write them as null."""
    return value if isinstance(value, int) or np.isfinite(value) else None
