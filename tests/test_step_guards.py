"""Numerical guards: non-finite losses or gradients stop the run (or skip the step); gradient clipping."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import Tensor, nn

from fgan.cli import main
from fgan.data import TensorSampler
from fgan.models import MLPCritic, MLPGenerator
from fgan.runs import prepare_run_dir
from fgan.training import NonFiniteError, TrainConfig, Trainer, seed_everything

CONFIG = TrainConfig(
    steps=30,
    batch_size=32,
    optimizer="sgd",
    lr_generator=0.01,
    lr_critic=0.01,
    device="cpu",
    quiet=True,
    checkpoint_every=10,
    stabilizer=("none",),
)


class PoisonedData:
    """Real samples that turn infinite from the ``bad_from``-th draw on."""

    dim = 2

    def __init__(self, bad_from: int) -> None:
        self.draws = 0
        self.bad_from = bad_from

    def sample(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        self.draws += 1
        batch = torch.randn(n, 2, device=device)
        return batch * torch.inf if self.draws >= self.bad_from else batch


def make_trainer(data, config: TrainConfig = CONFIG, divergence: str = "kl", run_dir=None) -> Trainer:
    seed_everything(0)
    return Trainer(MLPGenerator(2, latent_dim=2, hidden=8), MLPCritic(2, hidden=8), data, divergence, config, run_dir)


def flat(trainer: Trainer) -> Tensor:
    return torch.cat([p.detach().flatten() for p in [*trainer.engine.generator_params, *trainer.engine.critic_params]])


def test_a_non_finite_loss_stops_the_run_naming_step_divergence_and_quantity(tmp_path) -> None:
    trainer = make_trainer(PoisonedData(bad_from=15), run_dir=prepare_run_dir(tmp_path / "run"))
    with pytest.raises(NonFiniteError) as error:
        trainer.train()
    message = str(error.value)
    assert "step 15" in message and "divergence kl" in message and "non-finite bound F" in message
    assert "step-00000010.pt" in message  # the last good checkpoint, kept
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("*.pt")) == ["step-00000010.pt"]
    assert torch.isfinite(flat(trainer)).all()  # nothing of the bad step was applied
    assert trainer.step == 14


def test_skip_mode_skips_and_counts_the_bad_steps() -> None:
    trainer = make_trainer(PoisonedData(bad_from=21), replace(CONFIG, on_nonfinite="skip", checkpoint_every=0))
    trainer.train(steps=20)
    before = flat(trainer)
    history = trainer.train()
    assert trainer.step == 30 and trainer.skipped_steps == 10
    assert torch.equal(flat(trainer), before)  # every later step was skipped
    assert len(history.bound) == 30


class ExplodingCritic(nn.Module):
    """A critic whose output is finite but whose gradient is not (sqrt at 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(2))

    def forward(self, x: Tensor) -> Tensor:
        return torch.sqrt(torch.abs(x @ self.weight))


def test_a_non_finite_gradient_is_named() -> None:
    seed_everything(0)
    trainer = Trainer(
        MLPGenerator(2, latent_dim=2, hidden=8), ExplodingCritic(), TensorSampler(torch.randn(100, 2)), "js", CONFIG
    )
    with pytest.raises(NonFiniteError, match="non-finite critic gradient at step 1 with divergence js"):
        trainer.train()


def test_gradient_clipping_bounds_each_update() -> None:
    clipped = make_trainer(TensorSampler(100 * torch.randn(500, 2)), replace(CONFIG, clip_grad_norm=1e-3))
    before = [p.detach().clone() for p in clipped.engine.critic_params]
    clipped.engine.single_step()
    change = torch.sqrt(
        sum(((p.detach() - b) ** 2).sum() for p, b in zip(clipped.engine.critic_params, before, strict=True))
    )
    assert change.item() == pytest.approx(0.01 * 1e-3, rel=1e-3)  # SGD step = lr x clipped gradient


@pytest.mark.parametrize("divergence", ["kl", "pearson", "jeffrey", "alpha:2", "alpha:3"])
def test_unbounded_conjugates_train_without_nan_on_the_ring(divergence: str, tmp_path) -> None:
    run = tmp_path / divergence.replace(":", "_")
    code = main(
        [
            "train",
            "--data",
            "ring",
            "--divergence",
            divergence,
            "--steps",
            "300",
            "--batch-size",
            "256",
            "--out",
            str(run),
            "--quiet",
            "--device",
            "cpu",
        ]
    )
    assert code == 0


def test_cli_reports_a_non_finite_failure_in_one_line_with_exit_code_1(tmp_path, capsys) -> None:
    code = main(
        [
            "train",
            "--data",
            "ring",
            "--divergence",
            "kl",
            "--lr",
            "1e6",
            "--optimizer",
            "sgd",
            "--stabilizer",
            "none",  # plain Algorithm 1: no penalty holds the critic back from the blow-up
            "--steps",
            "200",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("fgan: error: non-finite") and err.count("\n") == 1 and "divergence kl" in err
