"""The trainer: Algorithm 1, alternating updates, records, run folder, configuration."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from fgan.data import PAPER_MIXTURE, parse_mixture, ring
from fgan.errors import UsageError
from fgan.models import LocationScaleGenerator, MLPCritic, MLPGenerator
from fgan.objectives import variational_bound
from fgan.runs import METRICS_FILE, prepare_run_dir
from fgan.training import TrainConfig, Trainer, resolve_device, seed_everything

#: Plain Algorithm 1 (no stabiliser: tests/test_stabilizers.py covers those).
SGD = TrainConfig(
    steps=5,
    batch_size=64,
    optimizer="sgd",
    lr_generator=0.05,
    lr_critic=0.1,
    device="cpu",
    quiet=True,
    stabilizer=("none",),
)


def make_trainer(divergence: str = "kl", config: TrainConfig = SGD, **kwargs) -> Trainer:
    seed_everything(0)
    return Trainer(
        MLPGenerator(2, latent_dim=3, hidden=16), MLPCritic(2, hidden=16), ring(), divergence, config, **kwargs
    )


def flat(module: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


@pytest.mark.parametrize("objective", ["minimax", "alternative"])
def test_single_step_takes_both_gradients_at_the_same_point(objective: str) -> None:
    """One SGD step of Algorithm 1: ω + η_c ∇_ω F(θ, ω) and θ - η_g ∇_θ L_G(θ, ω), both at the old (θ, ω)."""
    trainer = make_trainer("js", replace(SGD, generator_objective=objective))
    generator, critic = trainer.generator, trainer.critic
    theta, omega = flat(generator), flat(critic)

    torch.manual_seed(123)
    real = trainer.data.sample(64)
    fake = generator(torch.randn(64, 3))
    critic_fake = critic(fake)
    bound = variational_bound(trainer.divergence, critic(real), critic_fake)
    grad_omega = torch.cat(
        [g.flatten() for g in torch.autograd.grad(bound, list(critic.parameters()), retain_graph=True)]
    )
    if objective == "minimax":
        generator_objective = bound
    else:
        generator_objective = trainer.divergence.activation(critic_fake).mean()
    grad_theta = torch.cat(
        [g.flatten() for g in torch.autograd.grad(generator_objective, list(generator.parameters()))]
    )
    sign = 1.0 if objective == "minimax" else -1.0  # minimax descends F; alternative ascends E_Q[g_f(V)]

    torch.manual_seed(123)
    trainer.engine.single_step()
    torch.testing.assert_close(flat(critic), omega + 0.1 * grad_omega)
    torch.testing.assert_close(flat(generator), theta - sign * 0.05 * grad_theta)


def test_alternating_update_takes_k_critic_steps_per_generator_step() -> None:
    trainer = make_trainer("kl", replace(SGD, optimizer="adam", update="alternating", critic_steps=3, steps=4))
    trainer.train()
    critic_state = trainer.critic_optimizer.state_dict()["state"][0]
    generator_state = trainer.generator_optimizer.state_dict()["state"][0]
    assert int(critic_state["step"]) == 12
    assert int(generator_state["step"]) == 4


def test_history_records_every_step_and_metrics_file_matches(tmp_path) -> None:
    run_dir = prepare_run_dir(tmp_path / "run")
    trainer = make_trainer(
        "js", replace(SGD, steps=23, log_every=5, checkpoint_every=10, keep_checkpoints=2), run_dir=run_dir
    )
    history = trainer.train()
    assert history.step == list(range(1, 24))
    assert all(torch.isfinite(torch.tensor(history.bound)))
    lines = [json.loads(line) for line in (run_dir / METRICS_FILE).read_text().splitlines()]
    assert [line["step"] for line in lines] == history.step
    assert [line["bound"] for line in lines] == history.bound
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").glob("*.pt"))
    assert checkpoints == ["step-00000020.pt", "step-00000023.pt"]


def test_checkpoint_holds_networks_optimisers_step_and_config(tmp_path) -> None:
    trainer = make_trainer("kl", run_dir=prepare_run_dir(tmp_path / "run"))
    trainer.train()
    state = torch.load(tmp_path / "run" / "checkpoints" / "step-00000005.pt", weights_only=True)
    assert state["step"] == 5 and state["divergence"] == "kl"
    assert state["config"]["batch_size"] == 64
    for key in ("generator", "critic", "generator_optimizer", "critic_optimizer", "schedulers", "skipped_steps"):
        assert key in state
    assert set(state["rng"]) >= {"torch", "numpy", "python"}
    torch.testing.assert_close(state["generator"]["net.0.weight"], trainer.generator.net[0].weight)


def test_same_seed_same_parameters_other_seed_differs() -> None:
    first = make_trainer()
    first.train()
    second = make_trainer()
    second.train()
    torch.testing.assert_close(flat(first.generator), flat(second.generator), rtol=0, atol=0)
    seed_everything(0)  # same initial networks, another training seed
    third = Trainer(MLPGenerator(2, latent_dim=3, hidden=16), MLPCritic(2, hidden=16), ring(), "kl", SGD)
    seed_everything(1)
    third.train()
    assert not torch.allclose(flat(first.generator), flat(third.generator))


def test_creating_a_trainer_leaves_the_random_generators_alone() -> None:
    """A Trainer neither seeds nor draws: the process's generators are where the caller left them."""
    seed_everything(5)
    generator, critic = MLPGenerator(2, latent_dim=3, hidden=16), MLPCritic(2, hidden=16)
    states = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())  # noqa: NPY002
    Trainer(generator, critic, ring(), "kl", replace(SGD, seed=0))
    assert torch.equal(torch.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1])  # noqa: NPY002
    assert random.getstate() == states[2]


def test_critic_penalty_defaults_per_divergence_and_can_be_overridden() -> None:
    assert make_trainer("tv").config.critic_penalty == 0.01
    assert make_trainer("kl").config.critic_penalty == 0.0
    assert make_trainer("tv", replace(SGD, critic_penalty=0.0)).config.critic_penalty == 0.0
    assert SGD.critic_penalty is None  # the caller's config is not modified


def test_location_scale_under_kl_learns_moment_matching() -> None:
    """KL's best Gaussian fit to the paper's mixture matches its moments: μ* = 1.01, σ* = 1.8304."""
    seed_everything(0)
    generator = LocationScaleGenerator(1)
    config = TrainConfig(
        steps=2000,
        batch_size=1024,
        lr_generator=0.01,
        lr_critic=0.01,
        betas=(0.9, 0.999),
        lr_schedule="linear",
        device="cpu",
        quiet=True,
        stabilizer=("none",),
    )
    Trainer(generator, MLPCritic(1), parse_mixture(PAPER_MIXTURE), "kl", config).train()
    assert generator.mu.item() == pytest.approx(1.01, abs=0.1)
    assert generator.sigma.item() == pytest.approx(1.8304, abs=0.1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": -1}, "steps"),
        ({"batch_size": 0}, "batch size"),
        ({"critic_steps": 0}, "critic steps"),
        ({"critic_steps": 1001}, r"critic steps must be in \[1, 1000\], got 1001"),
        ({"update": "both"}, "update"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"lr_critic": 0.0}, "lr critic must be > 0, got 0.0"),
        ({"lr_schedule": "cosine"}, "schedule"),
        ({"critic_penalty": -1.0}, "penalty"),
        ({"device": "tpu"}, "device"),
        ({"generator_objective": "heuristic"}, "objective"),
        ({"betas": (0.5, 1.0)}, "betas must be in"),
        ({"log_every": 0}, "log every must be >= 1, got 0"),
        ({"keep_checkpoints": 0}, "keep checkpoints must be >= 1, got 0"),
    ],
)
def test_bad_config_is_a_usage_error_naming_the_option(change: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        replace(SGD, **change).validate()


def test_absent_accelerator_is_a_usage_error() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="cuda"):
            resolve_device("cuda")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")


def test_trainer_without_run_folder_cannot_save() -> None:
    with pytest.raises(UsageError, match="no run folder"):
        make_trainer().save()


def test_fp16_on_the_cpu_is_warned_in_one_line(tmp_path, capsys) -> None:
    config = replace(SGD, steps=1, precision="fp16", quiet=False, device="cpu")
    make_trainer(config=config, run_dir=tmp_path).train()
    warned = [line for line in capsys.readouterr().err.splitlines() if "fp16 on the CPU" in line]
    assert len(warned) == 1 and "bf16" in warned[0]
    assert "fp16 on the CPU" in (tmp_path / "run.log").read_text()
