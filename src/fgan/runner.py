"""A training run assembled from a resolved config, on synthetic or image data, and loading a finished run's
generator.

The resolved config (``config.json`` of the run folder) holds everything needed to rebuild the run::

    {"data": "mnist", "divergence": "js", "data_shape": [1, 28, 28], "model": {...}, "train": {...TrainConfig...},
     "data_dir": null, "image_size": null, "channels": null, "sample_every": 500, "logger": "none"}

Image runs also write a grid of samples from a fixed set of latent codes to ``samples/step-NNNNNNN.png`` every
``sample_every`` steps and to ``plots/samples.png`` at the end. With ``logger`` ``tensorboard`` the metrics and
grids also go to ``tensorboard/`` (see :mod:`fgan.loggers`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sized
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from fgan import distributed
from fgan.data import Sampler
from fgan.datasets import (
    IMAGE_DATA,
    VECTOR_DATA,
    DataRequest,
    find_dataset,
    is_image_data,
    load_training_data,
    synthetic_mixture,
)
from fgan.divergences import get_divergence
from fgan.errors import UsageError, require
from fgan.file_access import file_access
from fgan.grids import save_image_grid
from fgan.image_models import IMAGE_MODELS, build_image_models
from fgan.loggers import LOGGERS, TensorBoardLogger, check_logger, open_logger
from fgan.models import ACTIVATIONS, GENERATORS, MLPCritic, build_generator, sample_latent
from fgan.options import applicable_options, check_options, option, option_fields
from fgan.plotting import plot_samples, plot_training_curves
from fgan.profiles import profile
from fgan.run_files import check_config_values
from fgan.run_lock import run_lock
from fgan.runs import (
    CONFIG_FILE,
    PLOT_DIR,
    SAMPLES_DIR,
    checkpoint_files,
    claimed_run_dir,
    load_checkpoint_at,
    load_latest_checkpoint,
    read_config,
    read_metrics,
    truncate_metrics,
    write_json,
)
from fgan.snapshots import SNAPSHOT_DATA_MESSAGE, SnapshotRecorder, write_snapshots
from fgan.training import TrainConfig, Trainer, resolve_device, seed_everything

PLOT_SAMPLES = 4000
#: Images in each grid of an image run.
GRID_SAMPLES = 64
#: The seed of the fixed latent codes behind every grid of a run (drawn without touching the training RNG).
GRID_SEED = 1234
#: ``--model`` values: ``auto`` picks ``mlp`` (with ``--generator``) for synthetic data, ``mnist-mlp`` for the
#: in-memory image sets and ``dcgan`` for image folders.
MODELS = ("auto", "mlp", *IMAGE_MODELS)
#: The largest latent size the ``mlp`` generator takes by default (the data's dimension below it).
MLP_LATENT_MAX = 8


@dataclass
class ModelConfig:
    """The generator and critic of a run. ``generator`` and the sizes apply to the ``mlp`` model of synthetic
    data; ``latent_dim`` None is the model's own default: for ``mlp`` the data's dimension up to
    :data:`MLP_LATENT_MAX` (a 2-D z for the ring and the grid, where an 8-D z folded onto the plane left modes
    uncovered: README, Stabilisers), for ``location-scale`` the data's dimension (z = (x - μ)/σ), 100 for the image
    models."""

    model: str = option(
        "auto",
        help="auto: mlp for synthetic data, mnist-mlp (the paper's MNIST pair) for mnist, fashion-mnist and digits, "
        "dcgan for image folders; dcgan-nobn: a DCGAN critic without batch norm",
        choices=MODELS,
    )
    generator: str = option("mlp", help="mlp, or location-scale (μ + σ z)", choices=GENERATORS, applies_to="synthetic")
    latent_dim: int | None = option(
        None, help="size of z; None: the data's dimension up to 8 for synthetic data, 100 for images", low=1
    )
    generator_hidden: int = option(128, help="generator units per hidden layer", low=1, applies_to="synthetic")
    generator_depth: int = option(2, help="generator hidden layers", low=1, applies_to="synthetic")
    critic_hidden: int = option(64, help="critic units per hidden layer", low=1, applies_to="synthetic")
    critic_depth: int = option(2, help="critic hidden layers", low=1, applies_to="synthetic")
    critic_activation: str = option(
        "tanh", help="the critic's hidden activation", choices=ACTIVATIONS, applies_to="synthetic"
    )

    def validate(self) -> None:
        """Raise UsageError naming the first option out of range (see :func:`fgan.options.check_options`)."""
        check_options(self)

    def resolved(self, data: str, data_dim: int) -> ModelConfig:
        """A copy with ``model`` (and ``latent_dim``) chosen for the data set ``data`` of ``data_dim`` dimensions
        (per sample; an image's are its pixels and channels); a model that does not fit it is an error."""
        self.validate()
        if not is_image_data(data):
            if self.model not in ("auto", "mlp"):
                raise UsageError(f"model {self.model} needs image data; synthetic data uses --model mlp")
            if self.generator == "location-scale":
                return replace(self, model="mlp", latent_dim=data_dim)
            return replace(self, model="mlp", latent_dim=self.latent_dim or min(data_dim, MLP_LATENT_MAX))
        if self.model == "mlp":
            raise UsageError(f"model mlp is for synthetic data; for images use one of: {', '.join(IMAGE_MODELS)}")
        model = self.model if self.model != "auto" else find_dataset(data).default_model
        return replace(self, model=model, latent_dim=self.latent_dim or 100)


@dataclass
class RunConfig:
    """Everything a run needs. ``data_shape`` is filled in when training starts: ``[dim]`` for synthetic data,
    ``[C, H, W]`` for images, so that a finished run's generator loads without its data. ``logger`` is one of
    :data:`fgan.loggers.LOGGERS` (configs saved before it existed load as ``none``)."""

    data: str = option(
        "ring", help=f"vectors: {', '.join(VECTOR_DATA)}; images: {', '.join(IMAGE_DATA)}", metavar="DATA"
    )
    divergence: str = option("js", help="divergence name (see `fgan divergences`)")
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=lambda: profile("synthetic"))
    data_dir: str | None = option(
        None,
        help="folder with the IDX files of mnist or fashion-mnist (else $FGAN_DATA_DIR, then the usual places)",
        applies_to="image",
    )
    image_size: int | None = option(
        None, help="resize (and centre-crop folders) to this size", low=1, applies_to="image"
    )
    channels: int | None = option(
        None, help="image folders: 1 grayscale; None: 3, RGB", choices=(1, 3), applies_to="image"
    )
    sample_every: int = option(500, help="write a grid of samples every N steps", low=1, applies_to="image")
    data_shape: list[int] | None = None
    snapshots: int | None = option(
        None,
        help="1-D mixtures: K snapshots of p, q_θ, the critic and the optimal critic during training "
        "(plots/dynamics.png and .gif)",
        low=1,
        metavar="K",
        applies_to="synthetic",
    )
    logger: str = option(
        "none",
        help="tensorboard: also write metrics and sample grids to RUN/tensorboard (needs the extra: "
        "pip install 'fgan[tensorboard]')",
        choices=LOGGERS,
        resumable=True,
    )

    @property
    def is_image(self) -> bool:
        return is_image_data(self.data)

    @property
    def data_kind(self) -> str:
        """``image`` or ``synthetic``: the kind of data the options' ``applies_to`` refers to."""
        return "image" if self.is_image else "synthetic"

    def to_dict(self) -> dict[str, Any]:
        """The config as config.json records it: only the options that apply to the run's data."""
        applicable = applicable_options(self, self.data_kind)
        values = {key: value for key, value in asdict(self).items() if key in applicable}
        values["model"] = applicable_options(self.model, self.data_kind)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """The config of a run folder's config.json; a malformed one is a UsageError."""
        try:
            values = dict(values)
            train = dict(values.pop("train"))
            train["betas"] = tuple(train["betas"])
            model = ModelConfig(**values.pop("model"))
            return cls(model=model, train=TrainConfig(**train), **values)
        except (KeyError, TypeError, ValueError) as err:
            raise UsageError(f"malformed run config ({type(err).__name__}: {err})") from None


def load_data(config: RunConfig, download: bool = False) -> tuple[Sampler, str | None]:
    """The training data of a run and a note for the user (e.g. that a subset of the training split is used)."""
    if config.sample_every < 1:
        raise UsageError(f"sample every must be >= 1, got {config.sample_every}")
    check_logger(config.logger)
    spec = find_dataset(config.data)
    if config.snapshots is not None:
        require(
            [
                (config.snapshots >= 1, f"snapshot count must be >= 1, got {config.snapshots}"),
                (spec.snapshots, SNAPSHOT_DATA_MESSAGE),
            ]
        )
    if spec.kind != "images" and (config.image_size is not None or config.channels is not None):
        raise UsageError("--image-size and --channels apply to image data only")
    request = DataRequest(config.image_size, config.channels, config.data_dir, download, seed=config.train.seed)
    return load_training_data(config.data, request)


def build_models(config: RunConfig) -> tuple[nn.Module, nn.Module]:
    """The generator and critic of a run whose ``model`` is resolved (:meth:`ModelConfig.resolved`) and
    ``data_shape`` known."""
    model, shape = config.model, config.data_shape
    assert model.latent_dim is not None and shape is not None, "the model is resolved and the data shape known"
    if model.model != "mlp":
        return build_image_models(model.model, shape, model.latent_dim)
    generator = build_generator(
        model.generator, shape[0], model.latent_dim, model.generator_hidden, model.generator_depth
    )
    return generator, MLPCritic(shape[0], model.critic_hidden, model.critic_depth, model.critic_activation)


def _data_shape(data: Sampler) -> list[int]:
    return list(getattr(data, "shape", (data.dim,)))


def train_run(
    config: RunConfig,
    out: str | Path,
    force: bool = False,
    download: bool = False,
    notify: Callable[[str], None] | None = None,
    time_limit: float | None = None,
) -> Trainer:
    """Train a run into the run folder ``out``: config, metrics, checkpoints, plots (and grids for images).

    ``download`` fetches MNIST or Fashion-MNIST when it is not found on disk; ``notify`` receives remarks about
    the data (such as a subset of the training split being used) before training starts; ``time_limit`` (seconds)
    ends training early, at a step boundary, when the steps take longer. The main process holds the folder's lock
    (:func:`fgan.runs.claimed_run_dir`) from before it writes there to the end, and checkpoints after the first
    step, so that a disk that cannot take a checkpoint fails at once.
    """
    data, note = load_data(config, download)
    main = distributed.is_main_process()
    config.divergence = get_divergence(config.divergence).name
    config.data_shape = _data_shape(data)
    config.model = config.model.resolved(config.data, math.prod(config.data_shape))
    config.train.validate()
    seed_everything(config.train.seed)
    generator, critic = build_models(config)
    with claimed_run_dir(out, force, notify) if main else nullcontext(None) as run_dir:
        trainer = Trainer(generator, critic, data, config.divergence, _process_config(config.train), run_dir=run_dir)
        seed_everything(config.train.seed)  # the minibatches drawn do not depend on the networks' initialisation
        warning = small_data_warning(data, config.data, config.train.batch_size)  # once every check has passed
        for remark in (note, warning):
            if remark and notify is not None and main:
                notify(remark)
        config.train = replace(trainer.config, quiet=config.train.quiet)
        if run_dir is not None:  # the main process
            write_json(run_dir / CONFIG_FILE, config.to_dict())
            trainer.add_callback(1, _checkpoint_first_step)
        _train_and_plot(trainer, config, time_limit)
    return trainer


def _checkpoint_first_step(trainer: Trainer) -> None:
    """A checkpoint after the run's first step (then the configured ones): a disk that cannot take one is an error
    within seconds, not after the training, and a run killed from then on resumes."""
    if trainer.last_checkpoint is None:
        trainer.save()


def small_data_warning(data: Sampler, name: str, batch_size: int) -> str | None:
    """A one-line warning when ``data`` holds fewer samples than one minibatch of ``batch_size`` (drawn with
    replacement, every batch then repeats samples, and a critic can separate them from generated ones at once),
    else None; data of unknown size (a distribution) never warns."""
    if not isinstance(data, Sized) or len(data) >= batch_size:
        return None
    return (
        f"warning: {name} holds {len(data)} samples, fewer than one minibatch of {batch_size}: every batch repeats "
        f"samples (try --batch-size {len(data)} or less)"
    )


def _process_config(train: TrainConfig) -> TrainConfig:
    """The training options of this process: with several processes (torchrun), only rank 0 shows progress."""
    return train if distributed.is_main_process() else replace(train, quiet=True)


def resume_run(
    run_dir: str | Path,
    notify: Callable[[str], None] | None = None,
    warm_restart: bool = False,
    time_limit: float | None = None,
    **changes: Any,
) -> Trainer:
    """Continue a run from its newest checkpoint that loads, with its saved config.

    ``changes`` replace saved options that are declared resumable (``option(..., resumable=True)`` on
    :class:`~fgan.training.TrainConfig` or :class:`RunConfig`: ``steps``, ``quiet``, ``device``, ``logger``); a
    value of None keeps the saved one.
    ``steps`` moves the run's target, not its learning-rate schedule: a linear schedule still reaches 0 where it
    did, and the step sizes stay 0 after it, unless ``warm_restart``, which restarts the decay at the checkpoint's
    step from the full step sizes to 0 at the new target (see :func:`resumed_schedule`); ``notify`` gets one line
    saying which. ``time_limit`` (seconds) ends training early, as in :func:`train_run`. Metrics of steps after the
    checkpoint are dropped, as they will be run again. On the CPU a resumed run on in-memory data ends with the same
    parameters, bit for bit, as one never interrupted (an image folder is streamed by worker processes, whose order
    is not restored). ``notify`` also gets the checkpoint taken (and any newer one that did not load). A run stopped
    before its first checkpoint starts again from step 0 with its saved config (and ``changes``), saying so. The
    main process holds the folder's lock (:mod:`fgan.run_lock`) while it trains.

    Raises:
        UsageError: for an option that cannot change on resume, and for a folder another process writes into.
    """
    run_dir = Path(run_dir)
    config = _read_run_config(run_dir)
    saved_steps = config.train.steps
    given = {name: value for name, value in changes.items() if value is not None}
    config.train = replace(config.train, **_resumable_changes(config.train, given))
    config = replace(config, **_resumable_changes(config, given))
    unknown = sorted(set(given) - set(_resumable_fields(config.train)) - set(_resumable_fields(config)))
    if unknown:
        raise UsageError(f"a resumed run keeps its saved config; it cannot change: {', '.join(unknown)}")
    main = distributed.is_main_process()
    if not checkpoint_files(run_dir):
        if notify is not None and main:
            notify(
                f"{run_dir} has no checkpoint: its run stopped before the first one, so it starts again from step 0 "
                "with its saved config"
            )
        return train_run(config, run_dir, force=True, notify=notify, time_limit=time_limit)
    with run_lock(run_dir) if main else nullcontext():
        return _resume_from_checkpoint(run_dir, config, saved_steps, notify, warm_restart, time_limit)


def _resume_from_checkpoint(
    run_dir: Path,
    config: RunConfig,
    saved_steps: int,
    notify: Callable[[str], None] | None,
    warm_restart: bool,
    time_limit: float | None,
) -> Trainer:
    """The body of :func:`resume_run` for a folder that holds checkpoints."""
    data, note = load_data(config)
    generator, critic = build_models(config)
    main = distributed.is_main_process()
    trainer = Trainer(
        generator, critic, data, config.divergence, _process_config(config.train), run_dir=run_dir if main else None
    )
    remarks = [note]  # said once the checkpoint is known to fit, so that a refusal stays one line
    _, state = load_latest_checkpoint(run_dir, trainer.device, remarks.append)
    trainer.load_state_dict(state)
    if trainer.step > trainer.config.steps:
        raise UsageError(f"the run is at step {trainer.step}, beyond the {trainer.config.steps} steps asked for")
    span, schedule_note = resumed_schedule(config.train, saved_steps, trainer.step, warm_restart)
    config.train.lr_schedule_span = trainer.config.lr_schedule_span = span
    for remark in (*remarks, schedule_note):
        if remark and notify is not None and main:
            notify(remark)
    if main:
        truncate_metrics(run_dir, trainer.step)
        for row in read_metrics(run_dir):
            trainer.history.append(row)
        write_json(run_dir / CONFIG_FILE, config.to_dict())
    _train_and_plot(trainer, config, time_limit)
    return trainer


def _resumable_fields(config: Any) -> list[str]:
    """The options of a config dataclass that a resumed run may change."""
    return [f.name for f, spec in option_fields(type(config)) if spec.resumable]


def _resumable_changes(config: Any, given: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``given`` that are resumable options of ``config``."""
    return {name: given[name] for name in _resumable_fields(config) if name in given}


def resumed_schedule(
    train: TrainConfig, saved_steps: int, step: int, warm_restart: bool
) -> tuple[tuple[int, int] | None, str | None]:
    """The linear schedule's span (a, b) of a run resumed at ``step`` whose target moved from ``saved_steps`` to
    ``train.steps``, and the line that says what it does (None when nothing changed).

    The factor is min(1, max(0, 1 - (step - a) / (b - a))): without ``warm_restart`` the span is kept, (0,
    ``saved_steps``) or the run's own, so the rate falls as it would have and stays at its final value, 0; with it,
    the span is (``step``, ``train.steps``), a restart of the decay from the full rate.

    Raises:
        UsageError: for ``warm_restart`` on a constant schedule.
    """
    if train.lr_schedule == "constant":
        if warm_restart:
            raise UsageError("--warm-restart restarts a linear learning-rate schedule; this run's is constant")
        return train.lr_schedule_span, None
    kept = train.lr_schedule_span or (0, saved_steps)
    if warm_restart:
        return (step, train.steps), (
            f"warm restart at step {step}: the step sizes restart at their full value (generator "
            f"{train.lr_generator:g}, critic {train.lr_critic:g}) and fall linearly to 0 at step {train.steps}"
        )
    if train.steps == saved_steps:
        return train.lr_schedule_span, None
    falls = "stay at their final value, 0," if step >= kept[1] else f"fall to 0 at step {kept[1]} as before and stay"
    return kept, (
        f"resuming at step {step} with the target moved to {train.steps}: the linear schedule keeps its end, so the "
        f"step sizes {falls} until step {train.steps} (--warm-restart restarts the decay from the full step sizes "
        f"to 0 at step {train.steps})"
    )


def _read_run_config(run_dir: Path) -> RunConfig:
    """A run folder's config, with the model resolved and the data shape known (older configs lack both); a value
    of the wrong type or out of range is refused naming the file and the key (see
    :func:`fgan.run_files.check_config_values`)."""
    values = read_config(run_dir)
    check_config_values(RunConfig, values, run_dir / CONFIG_FILE)
    config = RunConfig.from_dict(values)
    if config.data_shape is None:
        if config.is_image:
            raise UsageError(f"{run_dir / CONFIG_FILE} lacks data_shape, which an image run needs")
        config.data_shape = [synthetic_mixture(config.data).dim]
    config.model = config.model.resolved(config.data, math.prod(config.data_shape))
    return config


def fixed_latent(generator: nn.Module, n: int, device: torch.device | str, seed: int = GRID_SEED) -> Tensor:
    """``n`` latent codes drawn from ``seed`` without disturbing torch's global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return sample_latent(generator, n, "cpu").to(device)


def save_grid(images: Tensor, path: Path) -> None:
    """A PNG grid of ``images``, small images scaled up by an integer factor (8x8 digits by 8, 28x28 by 2)."""
    save_image_grid(images, path, scale=max(1, 64 // images.shape[-1]))


def _run_folder(trainer: Trainer) -> Path:
    """The run folder a trainer writes to.

    Raises:
        UsageError: for a trainer without one (``run_dir=None``: in memory, or a torchrun process other than rank 0).
    """
    if trainer.run_dir is None:
        raise UsageError("this trainer has no run folder to write into (it was made with run_dir=None)")
    return trainer.run_dir


def _grid_path(trainer: Trainer) -> Path:
    return _run_folder(trainer) / SAMPLES_DIR / f"step-{trainer.step:07d}.png"


def _write_grid(trainer: Trainer, images: Tensor, logger: TensorBoardLogger | None) -> None:
    """The grid of this step's samples: samples/step-NNNNNNN.png, and to the logger when there is one."""
    save_grid(images, _grid_path(trainer))
    if logger is not None:
        logger.log_grid(images, trainer.step)


def _generate_eval(generator: nn.Module, latent: Tensor) -> Tensor:
    """The generator's images of ``latent`` in eval mode (batch norm on its running statistics), mode restored."""
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        images = generator(latent)
    generator.train(was_training)
    return images.cpu()


def _train_and_plot(trainer: Trainer, config: RunConfig, time_limit: float | None = None) -> None:
    """Train to the configured step (or the time limit), then draw plots/training.png and plots/samples.png, and
    with ``config.snapshots`` the training dynamics (plots/dynamics.png, .gif, snapshots.npz; over the steps
    trained by this call, so a resumed run's frames start at its checkpoint). The ``config.logger`` logger is
    attached first and closed at the end, also when training fails. A process other than rank 0 of a torchrun job
    (it has no run folder) only trains."""
    if trainer.run_dir is None:
        trainer.train(time_limit=time_limit)
        return
    logger = open_logger(config.logger, trainer)
    try:
        recorder = None
        if config.snapshots is not None:
            recorder = SnapshotRecorder(config.snapshots, trainer.config.steps, start=trainer.step)
            recorder.attach(trainer)
        if config.is_image:
            latent = fixed_latent(trainer.generator, GRID_SAMPLES, trainer.device)
            trainer.add_callback(
                config.sample_every,
                lambda trainer: _write_grid(trainer, _generate_eval(trainer.evaluation_generator, latent), logger),
            )
        trainer.train(time_limit=time_limit)
        with file_access(trainer.run_dir / PLOT_DIR):
            _plot_run(trainer, config, logger, recorder)
    finally:
        if logger is not None:
            logger.close()


def _plot_run(
    trainer: Trainer, config: RunConfig, logger: TensorBoardLogger | None, recorder: SnapshotRecorder | None
) -> None:
    """The plots of a trained run with a run folder (and the last grid and the snapshots, when it has them)."""
    run_dir = _run_folder(trainer)
    title = f"{trainer.divergence.name} on {config.data}, {trainer.step} steps"
    if config.is_image:
        plot_training_curves(trainer.history, run_dir / PLOT_DIR / "training.png", title=title)
        generator = trainer.evaluation_generator
        images = _generate_eval(generator, fixed_latent(generator, GRID_SAMPLES, trainer.device))
        if trainer.step % config.sample_every:  # else the callback has just written this step's grid
            _write_grid(trainer, images, logger)
        save_grid(images, run_dir / PLOT_DIR / "samples.png")
        return
    if recorder is not None:
        write_snapshots(recorder.snapshots, run_dir / PLOT_DIR, trainer.divergence.name)
    plot_vector_run(trainer, title)


def plot_vector_run(trainer: Trainer, title: str) -> None:
    """plots/training.png and plots/samples.png (generated samples over the data, and the density of 1-D data
    that has one) of a trained run on vectors with a run folder."""
    plots, data = _run_folder(trainer) / PLOT_DIR, trainer.data
    plot_training_curves(trainer.history, plots / "training.png", title=title)
    plot_samples(
        generate(trainer.evaluation_generator, PLOT_SAMPLES),
        plots / "samples.png",
        real=data.sample(PLOT_SAMPLES),
        title=title,
        log_density=getattr(data, "log_prob", None) if data.dim == 1 else None,
    )


def load_run(
    run_dir: str | Path,
    device: str = "auto",
    notify: Callable[[str], None] | None = None,
    step: int | None = None,
    raw: bool = False,
) -> tuple[RunConfig, nn.Module]:
    """A finished run's config and generator, in eval mode, from its newest checkpoint (``step``: the kept
    checkpoint of that step); the weight average of a run with the ``ema`` stabiliser unless ``raw``, which takes
    the generator's own weights. Needs no data. ``notify`` gets the newest checkpoint taken (and any newer one that
    did not load) in one line."""
    config = _read_run_config(Path(run_dir))
    generator, _ = build_models(config)
    state = load_latest_checkpoint(run_dir, notify=notify)[1] if step is None else load_checkpoint_at(run_dir, step)
    try:
        generator.load_state_dict(state["generator"] if raw else state.get("generator_average", state["generator"]))
    except (KeyError, RuntimeError) as err:
        raise UsageError(
            f"checkpoint of {run_dir} does not match its {CONFIG_FILE}: {str(err).splitlines()[0]}"
        ) from None
    return config, generator.to(resolve_device(device)).eval()


def load_generator(run_dir: str | Path, device: str = "auto") -> nn.Module:
    """The generator of a finished run, from its newest checkpoint, in eval mode."""
    return load_run(run_dir, device)[1]


def generate(generator: nn.Module, n: int, seed: int | None = None, batch_size: int = 1000) -> Tensor:
    """``n`` samples from ``generator`` on its device, shape ``(n, dim)`` or ``(n, C, H, W)``, made ``batch_size``
    at a time so that memory stays bounded."""
    if n < 1:
        raise UsageError(f"number of samples must be >= 1, got {n}")
    if seed is not None:
        torch.manual_seed(seed)
    device = next(generator.parameters()).device
    with torch.no_grad():
        return torch.cat(
            [
                generator(sample_latent(generator, min(batch_size, n - start), device))
                for start in range(0, n, batch_size)
            ]
        )
