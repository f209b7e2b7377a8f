"""``fgan bench``: the speed of a training step against the conventional f-GAN update, measured in one process.

For each configuration (model, data and batch size) and precision it measures

* fgan's step: :meth:`fgan.training.Trainer.train` running Algorithm 1 (one forward and one backward pass, see
  :meth:`fgan.step.StepEngine.single_step`) in the given precision;
* the reference: the alternating update as public f-GAN scripts write it, in float32: a critic step (generate,
  critic on real and generated samples, backward, Adam) then a generator step (generate again, critic, backward,
  Adam), each with its own forward passes, PyTorch's default Adam;

interleaved in rounds (reference, fgan, fgan, reference, ...) so that a change in machine load hits both, with the
median ms per step of each. It counts the FLOPs of one fgan step (matrix products and convolutions, forward and
backward, by :class:`torch.utils.flop_counter.FlopCounterMode`) and reports the achieved GFLOP/s against the
peak of a 2048 x 2048 matrix product in the same precision, timed in the same rounds (a machine whose speed drifts
moves both alike). :func:`stabilizer_costs` times fgan's step
with each stabiliser of :mod:`fgan.stabilizers` against the plain step, interleaved the same way.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from fgan.critic_objective import CriticBatch, CriticObjective
from fgan.data import PAPER_MIXTURE, Sampler, parse_mixture
from fgan.errors import UsageError
from fgan.image_models import build_image_models
from fgan.images import ImageSampler
from fgan.memory import check_fits
from fgan.models import LocationScaleGenerator, MLPCritic, sample_latent
from fgan.objectives import generator_loss
from fgan.profiles import profile
from fgan.stabilizers import STABILIZERS
from fgan.step import Precision
from fgan.training import PRECISIONS, TrainConfig, Trainer, resolve_device, seed_everything

#: The divergence every configuration trains under (the paper's GAN objective, its Section 4.2).
BENCH_DIVERGENCE = "gan"
#: Batch sizes of the sweep.
SWEEP_BATCHES = (64, 128, 256, 512, 1024, 2048, 4096)
PEAK_SIZE = 2048
#: Products of the peak's matrices timed per round.
PEAK_REPEATS = 5
#: Memory a sample of the sweep's minibatch may take: an mnist-mlp step holds about 4,600 float32 activations a
#: sample, with their gradients, for fgan's step and for the reference's; 256 KiB bounds that generously.
SWEEP_BYTES_PER_SAMPLE = 256 << 10


@dataclass(frozen=True)
class BenchSetup:
    """A benchmark configuration: how to build its networks and data, and its training options."""

    name: str
    batch_size: int
    build: Callable[[], tuple[nn.Module, nn.Module, Sampler]]
    train: TrainConfig


def _gaussian_mixture() -> tuple[nn.Module, nn.Module, Sampler]:
    return LocationScaleGenerator(1), MLPCritic(1, hidden=64, depth=2, activation="tanh"), parse_mixture(PAPER_MIXTURE)


def _random_images(shape: tuple[int, int, int], count: int = 4096) -> ImageSampler:
    """Random uint8 images held in memory: the step's cost does not depend on what the pixels show."""
    generator = torch.Generator().manual_seed(0)
    return ImageSampler(torch.randint(0, 256, (count, *shape), dtype=torch.uint8, generator=generator))


def _image_setup(model: str, shape: tuple[int, int, int]) -> Callable[[], tuple[nn.Module, nn.Module, Sampler]]:
    def build() -> tuple[nn.Module, nn.Module, Sampler]:
        generator, critic = build_image_models(model, shape)
        return generator, critic, _random_images(shape)

    return build


_ADAM = profile("bench")
SETUPS = {
    "gaussian-mixture": BenchSetup(
        "gaussian-mixture",
        1024,
        _gaussian_mixture,
        replace(_ADAM, lr_generator=0.01, lr_critic=0.01, betas=(0.9, 0.999)),
    ),
    "mnist-mlp": BenchSetup("mnist-mlp", 256, _image_setup("mnist-mlp", (1, 28, 28)), _ADAM),
    # the batch of the paper's Table 4 (fgan reproduce mnist), where the matrix products are large enough to
    # approach the peak
    "mnist-mlp-4096": BenchSetup("mnist-mlp-4096", 4096, _image_setup("mnist-mlp", (1, 28, 28)), _ADAM),
    "dcgan-32": BenchSetup("dcgan-32", 64, _image_setup("dcgan", (3, 32, 32)), _ADAM),
}


@dataclass
class BenchRow:
    """One configuration in one precision: fgan's step against the float32 reference, both in ms per step."""

    config: str
    precision: str
    batch_size: int
    device: str
    ms_per_step: float
    reference_ms_per_step: float
    speedup: float
    samples_per_second: float
    reference_samples_per_second: float
    gflop_per_step: float
    gflops: float
    peak_gflops: float
    peak_fraction: float
    compiled: bool


class ReferenceUpdate:
    """The conventional alternating f-GAN update, float32, as the public scripts write it: one critic step (its own
    generator forward pass, detached), then one generator step (a second generator forward pass), each ending in
    ``backward()`` and PyTorch's default Adam."""

    def __init__(
        self, generator: nn.Module, critic: nn.Module, data: Sampler, objective: CriticObjective, config: TrainConfig
    ) -> None:
        self.generator, self.critic, self.data, self.objective = generator, critic, data, objective
        self.batch_size = config.batch_size
        self.device = resolve_device(config.device)
        self.generator_optimizer = torch.optim.Adam(generator.parameters(), lr=config.lr_generator, betas=config.betas)
        self.critic_optimizer = torch.optim.Adam(critic.parameters(), lr=config.lr_critic, betas=config.betas)

    def step(self) -> None:
        real = self.data.sample(self.batch_size, self.device)
        fake = self.generator(sample_latent(self.generator, self.batch_size, self.device)).detach()
        _, critic_loss = self.objective(CriticBatch(real, fake, self.critic(real), self.critic(fake)))
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        fake = self.generator(sample_latent(self.generator, self.batch_size, self.device))
        loss = generator_loss(self.objective.divergence, self.critic(fake))
        self.generator_optimizer.zero_grad()
        loss.backward()
        self.generator_optimizer.step()

    def train(self, steps: int) -> None:
        for _ in range(steps):
            self.step()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(run: Callable[[int], object], steps: int, device: torch.device) -> float:
    """Milliseconds per step of ``run(steps)``."""
    _synchronize(device)
    start = time.perf_counter()
    run(steps)
    _synchronize(device)
    return (time.perf_counter() - start) * 1000 / steps


def repeated(work: Callable[[], object]) -> Callable[[int], None]:
    """``run(n)`` calling ``work()`` n times, for :func:`interleaved_ms`."""

    def run(n: int) -> None:
        for _ in range(n):
            work()

    return run


def interleaved_ms(
    runs: dict[str, Callable[[int], object]],
    repeats: int,
    rounds: int = 7,
    device: torch.device | None = None,
    own_repeats: dict[str, int] | None = None,
) -> dict[str, float]:
    """Milliseconds per repetition of each run (``run(n)`` repeats its work n times), the runs taken in turn in each
    round, in reversed order every other round, so that a change in machine load hits them all: the median over
    ``rounds`` rounds of ``repeats`` repetitions (``own_repeats[name]`` for the runs it names), after a warm-up round
    (which also compiles). On a GPU ``device`` each timing waits for the device."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_index in range(rounds + 1):
        order = list(runs) if round_index % 2 else list(reversed(runs))
        for name in order:
            count = (own_repeats or {}).get(name, repeats)
            elapsed = _timed(runs[name], count, device or torch.device("cpu"))
            if round_index:  # round 0 warms up
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def matmul_peak(
    precision: Precision, device: torch.device, size: int = PEAK_SIZE
) -> tuple[Callable[[int], None], float]:
    """``run(n)`` taking n products of two ``size`` x ``size`` matrices in ``precision`` (fp32, bf16 or fp16), for
    :func:`interleaved_ms`, and the GFLOP of one product (2 size³)."""
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    a, b = (torch.randn(size, size, device=device).to(dtype) for _ in range(2))
    return repeated(lambda: a @ b), 2 * size**3 / 1e9


def build_trainer_and_reference(setup: BenchSetup, config: TrainConfig) -> tuple[Trainer, ReferenceUpdate]:
    """fgan's trainer and the reference update for ``setup`` under ``config``, on copies of the same starting
    weights and the same data."""
    seed_everything(config.seed)
    generator, critic, data = setup.build()
    trainer = Trainer(generator, critic, data, BENCH_DIVERGENCE, config)
    seed_everything(config.seed)  # the minibatches drawn do not depend on the networks' initialisation
    reference_generator, reference_critic, _ = setup.build()
    reference_generator.load_state_dict(generator.state_dict())
    reference_critic.load_state_dict(critic.state_dict())
    device = trainer.device
    reference = ReferenceUpdate(
        reference_generator.to(device), reference_critic.to(device), data, trainer.engine.objective, config
    )
    return trainer, reference


def step_gflop(trainer: Trainer) -> float:
    """GFLOP of one of the trainer's steps (matrix products and convolutions, forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        trainer.train(steps=1)
    return counter.get_total_flops() / 1e9


def measure(
    setup: BenchSetup,
    precision: Precision = "fp32",
    batch_size: int | None = None,
    device: str = "cpu",
    steps: int = 20,
    rounds: int = 5,
    compile: bool = False,
    peak: float | None = None,
) -> BenchRow:
    """Time ``setup`` in ``precision`` against the float32 reference and the matrix-product peak (:func:`matmul_peak`,
    unless ``peak`` gives the GFLOP/s): ``rounds`` interleaved rounds of ``steps`` steps each (:data:`PEAK_REPEATS`
    products), after one warm-up round, all at torch's thread count (no :class:`fgan.threads.ThreadGovernor`:
    ``benchmarks/contention.py`` measures it)."""
    config = replace(
        setup.train,
        batch_size=batch_size or setup.batch_size,
        precision=precision,
        device=device,
        compile=compile,
        threads=torch.get_num_threads(),
    )
    trainer, reference = build_trainer_and_reference(setup, config)
    trainer.config.steps = 10**9  # the trainer's step target; steps are taken ``steps`` at a time
    gflop = step_gflop(trainer)
    runs: dict[str, Callable[[int], object]] = {"reference": reference.train, "fgan": lambda n: trainer.train(steps=n)}
    if peak is None:
        runs["peak"], product_gflop = matmul_peak(precision, trainer.device)
    times = interleaved_ms(runs, steps, rounds, trainer.device, own_repeats={"peak": PEAK_REPEATS})
    ms, reference_ms = times["fgan"], times["reference"]
    peak = peak if peak is not None else product_gflop / (times["peak"] / 1000)
    gflops = gflop / (ms / 1000)
    return BenchRow(
        config=setup.name,
        precision=precision,
        batch_size=config.batch_size,
        device=str(trainer.device),
        ms_per_step=ms,
        reference_ms_per_step=reference_ms,
        speedup=reference_ms / ms,
        samples_per_second=config.batch_size * 1000 / ms,
        reference_samples_per_second=config.batch_size * 1000 / reference_ms,
        gflop_per_step=gflop,
        gflops=gflops,
        peak_gflops=peak,
        peak_fraction=gflops / peak,
        compiled=compile,
    )


def run_bench(
    configs: Sequence[str],
    precisions: Sequence[Precision],
    device: str = "cpu",
    steps: int = 20,
    rounds: int = 5,
    compile: bool = False,
    notify: Callable[[str], None] | None = None,
    batches: Sequence[int | None] = (None,),
) -> list[BenchRow]:
    """:func:`measure` for every configuration, batch size (None: the configuration's own) and precision."""
    unknown = [name for name in configs if name not in SETUPS]
    bad_precisions = [name for name in precisions if name not in PRECISIONS]
    if unknown:
        raise UsageError(f"unknown benchmark configuration {unknown[0]!r}; valid: {', '.join(SETUPS)}")
    if bad_precisions:
        raise UsageError(f"unknown precision {bad_precisions[0]!r}; valid: {', '.join(PRECISIONS)}")
    resolved = resolve_device(device)
    if resolved.type == "cpu" and "fp16" in precisions:
        raise UsageError(
            "--precision fp16 on the CPU: float16 autocast has no fast CPU kernels (one step takes minutes); "
            "use fp32 or bf16 there, fp16 on a GPU"
        )
    rows = []
    for name in configs:
        for batch_size in batches:
            for precision in precisions:
                if notify is not None:
                    notify(f"{name} {precision}" + (f" batch {batch_size}" if batch_size else "") + " ...")
                setup = SETUPS[name]
                rows.append(measure(setup, precision, batch_size, device, steps, rounds, compile))
    return rows


def check_sweep(config: str, batches: Sequence[int]) -> None:
    """Refuse (UsageError) a batch of the sweep whose step cannot fit in memory (:data:`SWEEP_BYTES_PER_SAMPLE`
    a sample)."""
    for batch in batches:
        check_fits(batch * SWEEP_BYTES_PER_SAMPLE, f"--sweep {batch}: a {config} step on {batch:,} samples")


def batch_sweep(
    config: str = "mnist-mlp",
    precisions: Sequence[Precision] = ("fp32", "bf16"),
    batches: Sequence[int] = SWEEP_BATCHES,
    device: str = "cpu",
    steps: int = 5,
    rounds: int = 3,
    notify: Callable[[str], None] | None = None,
) -> list[BenchRow]:
    """ms per step of ``config`` against the batch size, in each precision (fewer, shorter rounds than
    :func:`run_bench`: the large batches take long). A batch whose step cannot fit in memory
    (:data:`SWEEP_BYTES_PER_SAMPLE` a sample) is refused before anything is measured."""
    check_sweep(config, batches)
    return run_bench([config], precisions, device, steps, rounds, notify=notify, batches=batches)


@dataclass
class StabilizerCost:
    """fgan's step (fp32) with one stabiliser: ms per step and its ratio to the plain step's."""

    config: str
    stabilizer: str
    device: str
    ms_per_step: float
    ratio_to_plain: float


def stabilizer_costs(
    config: str,
    stabilizers: Sequence[str] = STABILIZERS,
    device: str = "cpu",
    steps: int = 20,
    rounds: int = 5,
) -> list[StabilizerCost]:
    """ms per step of the setup ``config`` in fp32, plain (``none``) and with each stabiliser alone, every trainer
    built from the same seed and timed interleaved (:func:`interleaved_ms`)."""
    setup = SETUPS[config]
    trainers = {}
    for name in ("none", *stabilizers):
        train = replace(setup.train, stabilizer=(name,), device=device)
        seed_everything(train.seed)
        generator, critic, data = setup.build()
        trainers[name] = Trainer(generator, critic, data, BENCH_DIVERGENCE, train)
        trainers[name].config.steps = 10**9  # steps are taken ``steps`` at a time
    resolved = next(iter(trainers.values())).device
    times = interleaved_ms(
        {name: trainer_steps(trainer) for name, trainer in trainers.items()}, steps, rounds, resolved
    )
    return [
        StabilizerCost(setup.name, name, str(resolved), times[name], times[name] / times["none"]) for name in trainers
    ]


def trainer_steps(trainer: Trainer) -> Callable[[int], object]:
    """``run(n)``: n more steps of ``trainer``, for :func:`interleaved_ms`."""
    return lambda n: trainer.train(steps=n)


def format_costs(costs: Sequence[StabilizerCost]) -> str:
    """The stabilisers' costs as a Markdown table."""
    lines = ["| config | stabilizer | ms/step | vs plain |", "|---|---|---:|---:|"]
    for cost in costs:
        lines.append(f"| {cost.config} | {cost.stabilizer} | {cost.ms_per_step:.2f} | {cost.ratio_to_plain:.2f}x |")
    return "\n".join(lines)


def machine_description() -> str:
    """The processor, core count and torch version, for the record."""
    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as file:
            processor = next(line.split(":", 1)[1].strip() for line in file if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{processor}, {torch.get_num_threads()} threads, CPU capability {capability}, torch {torch.__version__}" + (
        f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    )


def _rate_text(gflops: float) -> str:
    """GFLOP/s for the table: whole numbers from 10 up, two significant digits below (never a bare 0)."""
    return f"{gflops:,.0f}" if gflops >= 10 else f"{gflops:.2g}"


def format_rows(rows: Sequence[BenchRow]) -> str:
    """The benchmark as a Markdown table."""
    lines = [
        "| config | precision | batch | ms/step | reference ms/step | speedup | samples/s | GFLOP/step | GFLOP/s "
        "| peak GFLOP/s | of peak |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.config}{' (compiled)' if row.compiled else ''} | {row.precision} | {row.batch_size} "
            f"| {row.ms_per_step:.2f} | {row.reference_ms_per_step:.2f} | {row.speedup:.2f}x "
            f"| {row.samples_per_second:,.0f} | {row.gflop_per_step:.3f} | {_rate_text(row.gflops)} "
            f"| {_rate_text(row.peak_gflops)} "
            f"| {row.peak_fraction:.0%} |"
        )
    return "\n".join(lines)


def plot_sweep(rows: Sequence[BenchRow], path: Path) -> None:
    """ms per step against the batch size (log-log), fgan in each precision and the float32 reference."""
    from fgan.plotting import save_figure, subplots

    figure, axis = subplots(figsize=(6, 4))
    precisions = list(dict.fromkeys(row.precision for row in rows))
    for precision in precisions:
        chosen = [row for row in rows if row.precision == precision]
        axis.plot(
            [r.batch_size for r in chosen], [r.ms_per_step for r in chosen], marker="o", label=f"fgan {precision}"
        )
    reference = [row for row in rows if row.precision == precisions[0]]
    axis.plot(
        [r.batch_size for r in reference],
        [r.reference_ms_per_step for r in reference],
        marker="s",
        linestyle="--",
        color="gray",
        label="reference (fp32, two passes)",
    )
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set_xlabel("batch size")
    axis.set_ylabel("ms per step")
    axis.set_title(f"{rows[0].config}: ms per training step")
    axis.legend()
    axis.grid(True, which="both", alpha=0.3)
    save_figure(figure, path)


def rows_to_dicts(rows: Sequence[BenchRow | StabilizerCost]) -> list[dict[str, object]]:
    return [asdict(row) for row in rows]
