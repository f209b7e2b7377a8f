"""A training run on synthetic data assembled from a resolved config, and loading a finished run's generator.

The resolved config (``config.json`` of the run folder) holds everything needed to rebuild the run::

    {"data": "ring", "divergence": "js", "model": {...}, "train": {...TrainConfig...}}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from fgan.data import GaussianMixture, get_synthetic_data
from fgan.divergences import get_divergence
from fgan.errors import UsageError
from fgan.models import MLPCritic, build_generator, sample_latent
from fgan.plotting import plot_samples, plot_training_curves
from fgan.runs import (
    CONFIG_FILE,
    PLOT_DIR,
    load_latest_checkpoint,
    prepare_run_dir,
    read_config,
    read_metrics,
    truncate_metrics,
    write_json,
)
from fgan.training import TrainConfig, Trainer, resolve_device, seed_everything

PLOT_SAMPLES = 4000
#: Training defaults for the synthetic data sets (``fgan train``): Algorithm 1 with Adam at 1e-3, falling linearly.
SYNTHETIC_TRAINING = TrainConfig(
    steps=5000, batch_size=512, lr_generator=1e-3, lr_critic=1e-3, lr_schedule="linear", checkpoint_every=1000
)


@dataclass
class ModelConfig:
    """The generator and critic of a synthetic-data run."""

    generator: str = "mlp"
    latent_dim: int = 8
    generator_hidden: int = 128
    generator_depth: int = 2
    critic_hidden: int = 64
    critic_depth: int = 2
    critic_activation: str = "tanh"

    def validate(self) -> None:
        for name in ("latent_dim", "generator_hidden", "generator_depth", "critic_hidden", "critic_depth"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name.replace('_', ' ')} must be >= 1, got {getattr(self, name)}")


@dataclass
class RunConfig:
    """Everything a synthetic-data run needs."""

    data: str = "ring"
    divergence: str = "js"
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=lambda: replace(SYNTHETIC_TRAINING))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """The config of a run folder's config.json; a malformed one is a UsageError."""
        try:
            train = dict(values["train"])
            train["betas"] = tuple(train["betas"])
            return cls(values["data"], values["divergence"], ModelConfig(**values["model"]), TrainConfig(**train))
        except (KeyError, TypeError, ValueError) as err:
            raise UsageError(f"malformed run config ({type(err).__name__}: {err})") from None


def build_models(model: ModelConfig, data_dim: int) -> tuple[nn.Module, nn.Module]:
    """The generator and critic described by ``model`` for data of dimension ``data_dim``."""
    model.validate()
    generator = build_generator(
        model.generator, data_dim, model.latent_dim, model.generator_hidden, model.generator_depth
    )
    critic = MLPCritic(data_dim, model.critic_hidden, model.critic_depth, model.critic_activation)
    return generator, critic


def train_run(config: RunConfig, out: str | Path, force: bool = False) -> Trainer:
    """Train a run on synthetic data into the run folder ``out``: config, metrics, checkpoints, plots."""
    data = get_synthetic_data(config.data)
    divergence = get_divergence(config.divergence)
    config.divergence = divergence.name
    config.train.validate()
    seed_everything(config.train.seed)
    generator, critic = build_models(config.model, data.dim)
    run_dir = prepare_run_dir(out, force=force)
    trainer = Trainer(generator, critic, data, divergence, config.train, run_dir=run_dir)
    config.train = trainer.config
    write_json(run_dir / CONFIG_FILE, config.to_dict())
    _train_and_plot(trainer, config, data)
    return trainer


def resume_run(
    run_dir: str | Path, steps: int | None = None, quiet: bool | None = None, device: str | None = None
) -> Trainer:
    """Continue a run from its newest checkpoint that loads, with its saved config.

    ``steps`` moves the run's target (a linear learning-rate schedule stretches to the new target); ``quiet`` and
    ``device`` replace the saved ones. Metrics of steps after the checkpoint are dropped, as they will be run again.
    On the CPU the resumed run ends with the same parameters, bit for bit, as one never interrupted.
    """
    run_dir = Path(run_dir)
    config = RunConfig.from_dict(read_config(run_dir))
    changes = {"steps": steps, "quiet": quiet, "device": device}
    config.train = replace(config.train, **{key: value for key, value in changes.items() if value is not None})
    data = get_synthetic_data(config.data)
    generator, critic = build_models(config.model, data.dim)
    trainer = Trainer(generator, critic, data, config.divergence, config.train, run_dir=run_dir)
    _, state = load_latest_checkpoint(run_dir, trainer.device)
    trainer.load_state_dict(state)
    if trainer.step > trainer.config.steps:
        raise UsageError(f"the run is at step {trainer.step}, beyond the {trainer.config.steps} steps asked for")
    truncate_metrics(run_dir, trainer.step)
    for row in read_metrics(run_dir):
        trainer.history.append(row)
    write_json(run_dir / CONFIG_FILE, config.to_dict())
    _train_and_plot(trainer, config, data)
    return trainer


def _train_and_plot(trainer: Trainer, config: RunConfig, data: GaussianMixture) -> None:
    """Train to the configured step, then draw plots/training.png and plots/samples.png."""
    trainer.train()
    run_dir = trainer.run_dir
    title = f"{trainer.divergence.name} on {config.data}, {trainer.step} steps"
    plot_training_curves(trainer.history, run_dir / PLOT_DIR / "training.png", title=title)
    generated = generate(trainer.generator, PLOT_SAMPLES)
    plot_samples(
        generated,
        run_dir / PLOT_DIR / "samples.png",
        real=data.sample(PLOT_SAMPLES),
        title=title,
        log_density=data.log_prob if data.dim == 1 else None,
    )


def load_generator(run_dir: str | Path, device: str = "auto") -> nn.Module:
    """The generator of a finished run, from its newest checkpoint, in eval mode."""
    config = RunConfig.from_dict(read_config(run_dir))
    data = get_synthetic_data(config.data)
    generator, _ = build_models(config.model, data.dim)
    _, state = load_latest_checkpoint(run_dir)
    try:
        generator.load_state_dict(state["generator"])
    except (KeyError, RuntimeError) as err:
        raise UsageError(
            f"checkpoint of {run_dir} does not match its {CONFIG_FILE}: {str(err).splitlines()[0]}"
        ) from None
    return generator.to(resolve_device(device)).eval()


def generate(generator: nn.Module, n: int, seed: int | None = None) -> Tensor:
    """``n`` samples from ``generator`` on its device, shape ``(n, dim)``."""
    if n < 1:
        raise UsageError(f"number of samples must be >= 1, got {n}")
    if seed is not None:
        torch.manual_seed(seed)
    device = next(generator.parameters()).device
    with torch.no_grad():
        return generator(sample_latent(generator, n, device))
