"""Algorithm 1 in one backward pass equals the two-pass reference; reduced precision keeps float32 weights."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from distributed_worker import BatchNormCritic
from torch import Tensor, nn

from fgan.cli import main
from fgan.data import ring
from fgan.divergences import EXAMPLE_DIVERGENCES
from fgan.models import MLPCritic, MLPGenerator
from fgan.runs import prepare_run_dir
from fgan.training import TrainConfig, Trainer, critic_couples_samples, seed_everything

SGD = TrainConfig(steps=3, batch_size=32, optimizer="sgd", lr_generator=1.0, lr_critic=1.0, device="cpu", quiet=True)


class Float64Ring:
    """The ring mixture, sampled in float64."""

    dim = 2

    def __init__(self) -> None:
        self.mixture = ring()

    def sample(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        return self.mixture.sample(n, device, dtype=torch.float64)


class Float64Generator(MLPGenerator):
    """The MLP generator with float64 latent codes."""

    def sample_latent(self, n: int, device: torch.device | str) -> Tensor:
        return torch.randn(n, self.latent_dim, device=device, dtype=torch.float64)


def float64_trainer(divergence: str, config: TrainConfig, critic: nn.Module | None = None) -> Trainer:
    seed_everything(0)
    generator = Float64Generator(2, latent_dim=3, hidden=16).double()
    critic = (critic or MLPCritic(2, hidden=16)).double()
    return Trainer(generator, critic, Float64Ring(), divergence, config)


def step_updates(trainer: Trainer, passes: int) -> Tensor:
    """The parameter change of one SGD single step (learning rate 1: the negated gradients) with ``passes``
    backward passes, from a copy of the trainer's state."""
    trainer.passes = passes
    before = {name: p.detach().clone() for name, p in trainer.critic.named_parameters()}
    before |= {f"g.{name}": p.detach().clone() for name, p in trainer.generator.named_parameters()}
    state = {"g": trainer.generator.state_dict(), "c": trainer.critic.state_dict()}
    state = {key: {name: t.clone() for name, t in value.items()} for key, value in state.items()}
    torch.manual_seed(7)
    trainer.single_step()
    after = {name: p.detach() for name, p in trainer.critic.named_parameters()}
    after |= {f"g.{name}": p.detach() for name, p in trainer.generator.named_parameters()}
    change = torch.cat([(after[name] - before[name]).flatten() for name in before])
    trainer.generator.load_state_dict(state["g"])
    trainer.critic.load_state_dict(state["c"])
    return change


@pytest.mark.parametrize("penalty", [0.0, 0.1])
@pytest.mark.parametrize("objective", ["minimax", "alternative"])
@pytest.mark.parametrize("divergence", EXAMPLE_DIVERGENCES)
def test_one_backward_pass_equals_the_two_pass_reference(divergence: str, objective: str, penalty: float) -> None:
    trainer = float64_trainer(divergence, replace(SGD, generator_objective=objective, critic_penalty=penalty))
    assert trainer.passes == 1
    one_pass = step_updates(trainer, 1)
    two_pass = step_updates(trainer, 2)
    assert one_pass.abs().max() > 0
    torch.testing.assert_close(one_pass, two_pass, rtol=1e-5, atol=1e-12)


#: Critic output levels that are extreme for each divergence: deep in the region where f*'(g_f(v)) underflows
#: (kl, gan), where g_f' is huge (reverse-kl), where f*'(g_f(v)) = v/2 + 1 crosses 0 (pearson), where g_f(v) nears
#: the end of dom f* (neyman).
EXTREME_OUTPUTS = [("kl", -400.0), ("gan", -400.0), ("reverse-kl", -300.0), ("pearson", -2.0), ("neyman", 30.0)]


@pytest.mark.parametrize("objective", ["minimax", "alternative"])
@pytest.mark.parametrize(("divergence", "level"), EXTREME_OUTPUTS)
def test_extreme_critic_outputs_still_give_the_reference_gradients(
    divergence: str, level: float, objective: str
) -> None:
    """Where the critic's cotangent underflows (below the square root of float64's smallest normal), the step takes
    the generator's gradient by a second pass, so the result is still the reference's."""
    config = replace(SGD, generator_objective=objective, critic_penalty=0.0, lr_generator=1e-3, lr_critic=1e-3)
    trainer = float64_trainer(divergence, config)
    with torch.no_grad():
        trainer.critic.net[-1].weight.mul_(3.0)
        trainer.critic.net[-1].bias.fill_(level)
    one_pass = step_updates(trainer, 1)
    two_pass = step_updates(trainer, 2)
    assert torch.isfinite(one_pass).all()
    torch.testing.assert_close(one_pass, two_pass, rtol=1e-5, atol=1e-12)
    if objective == "alternative" and divergence in ("kl", "gan"):
        assert trainer.second_pass_steps == 1


def test_a_critic_with_batch_norm_takes_two_passes_unless_the_gradient_is_only_reversed() -> None:
    critic = BatchNormCritic()
    assert critic_couples_samples(critic) and not critic_couples_samples(MLPCritic(2))
    alternative = float64_trainer("kl", replace(SGD, generator_objective="alternative"), BatchNormCritic())
    assert alternative.passes == 2 and "batch norm" in alternative.passes_note
    minimax = float64_trainer("kl", replace(SGD, critic_penalty=0.0), BatchNormCritic())
    assert minimax.passes == 1 and "reversed" in minimax.passes_note
    torch.testing.assert_close(step_updates(minimax, 1), step_updates(minimax, 2), rtol=1e-5, atol=1e-12)


def test_a_layer_can_declare_that_it_couples_samples() -> None:
    class MinibatchMean(nn.Module):
        couples_samples = True

        def forward(self, x: Tensor) -> Tensor:
            return x - x.mean(0)

    assert critic_couples_samples(nn.Sequential(MinibatchMean(), nn.Linear(2, 1)))


def test_the_run_log_says_how_many_passes(tmp_path) -> None:
    run_dir = prepare_run_dir(tmp_path / "run")
    seed_everything(0)
    trainer = Trainer(
        MLPGenerator(2, 3, 16), BatchNormCritic(), ring(), "js", replace(SGD, critic_penalty=0.1), run_dir
    )
    trainer.train()
    assert "two backward passes" in (run_dir / "run.log").read_text()


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_trains_with_float32_weights_and_a_float32_bound(precision: str, tmp_path) -> None:
    run_dir = prepare_run_dir(tmp_path / "run")
    config = replace(SGD, optimizer="adam", lr_generator=1e-3, lr_critic=1e-3, steps=20, precision=precision)
    seed_everything(0)
    trainer = Trainer(MLPGenerator(2, 3, 32), MLPCritic(2, 32), ring(), "js", config, run_dir)
    history = trainer.train()
    assert all(p.dtype == torch.float32 for p in [*trainer.generator.parameters(), *trainer.critic.parameters()])
    assert torch.isfinite(torch.tensor(history.bound)).all()
    real = trainer.data.sample(8)
    fake = trainer._generate(8)
    assert trainer._forward(trainer.critic, real).dtype == torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16 if precision == "bf16" else torch.float16):
        assert trainer.critic(fake).dtype != torch.float32  # the networks themselves do run in reduced precision
    assert trainer.scaler.is_enabled() == (precision == "fp16")


def test_fp16_loss_scale_is_checkpointed_and_restored(tmp_path) -> None:
    run_dir = prepare_run_dir(tmp_path / "run")
    config = replace(SGD, optimizer="adam", lr_generator=1e-3, lr_critic=1e-3, steps=6, precision="fp16")
    seed_everything(0)
    trainer = Trainer(MLPGenerator(2, 3, 16), MLPCritic(2, 16), ring(), "kl", config, run_dir)
    trainer.train()
    trainer.scaler.update(1024.0)
    state = trainer.state_dict()
    seed_everything(0)
    again = Trainer(MLPGenerator(2, 3, 16), MLPCritic(2, 16), ring(), "kl", config)
    again.load_state_dict(state)
    assert again.scaler.get_scale() == 1024.0


def test_bf16_and_fp32_runs_agree_on_the_divergence_estimate() -> None:
    """Precision changes the arithmetic of the networks, not what is learned: the same seed in fp32 and bf16 reaches
    estimates of the same size on the ring."""
    estimates = {}
    for precision in ("fp32", "bf16"):
        config = replace(SGD, optimizer="adam", lr_generator=1e-3, lr_critic=1e-3, steps=150, precision=precision)
        seed_everything(0)
        trainer = Trainer(MLPGenerator(2, 3, 32), MLPCritic(2, 32), ring(), "js", config)
        estimates[precision] = sum(trainer.train().bound[-30:]) / 30
    assert estimates["fp32"] == pytest.approx(estimates["bf16"], abs=0.05)


def test_cli_trains_in_bf16_and_records_the_precision(tmp_path) -> None:
    run = tmp_path / "run"
    arguments = ["train", "--data", "ring", "--steps", "5", "--batch-size", "32", "--quiet", "--out", str(run)]
    assert main([*arguments, "--precision", "bf16"]) == 0
    assert json.loads((run / "config.json").read_text())["train"]["precision"] == "bf16"
    assert "one forward and one backward pass" in (run / "run.log").read_text()


def test_compiled_networks_train_to_the_eager_parameters() -> None:
    """``compile=True`` (torch.compile of both networks, about 15 s of compiling here) changes the speed, not the
    steps taken."""
    parameters = {}
    for compiled in (False, True):
        seed_everything(0)
        generator, critic = MLPGenerator(2, 3, 16), MLPCritic(2, 16)
        config = TrainConfig(steps=5, batch_size=32, device="cpu", quiet=True, compile=compiled)
        Trainer(generator, critic, ring(), "js", config).train()
        parameters[compiled] = torch.cat(
            [p.detach().flatten() for p in [*generator.parameters(), *critic.parameters()]]
        )
    torch.testing.assert_close(parameters[True], parameters[False], rtol=1e-5, atol=1e-6)
