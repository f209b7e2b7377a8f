"""The step engine: each route of the generator's gradient equals the two-pass reference where the critic's
objective allows it (and only there); reduced precision keeps float32 weights."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
import torch
from torch import Tensor, nn

from fgan.cli import main
from fgan.critic_objective import CriticBatch, CriticObjective, GradientRoute, critic_couples_samples
from fgan.data import ring
from fgan.divergences import EXAMPLE_DIVERGENCES, get_divergence
from fgan.models import MLPCritic, MLPGenerator, sample_latent
from fgan.objectives import GENERATOR_OBJECTIVES, generator_loss
from fgan.runs import prepare_run_dir
from fgan.stabilizers import spectral_normalize
from fgan.step import StepEngine, StepRecord
from fgan.training import TrainConfig, Trainer, seed_everything
from tests.integration.distributed_worker import BatchNormCritic
from tests.test_critic_objective import TERM_SETS

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


ROUTE_ORDER = ("reversal", "rescaling", "second pass")


def refuse_nonfinite(quantity: str) -> None:
    raise AssertionError(f"non-finite {quantity}")


def float64_engine(
    divergence: str,
    objective: str = "minimax",
    weights: tuple[str, ...] = (),
    critic: nn.Module | None = None,
    config: TrainConfig = SGD,
    stabilizers: tuple[str, ...] = (),
) -> StepEngine:
    """An engine of small float64 networks (by default SGD with learning rate 1), the objective's ``weights`` at
    0.1, and the engine-level ``stabilizers`` ``sn`` (the critic spectrally normalised) and ``noise`` (instance
    noise of std 0.1)."""
    seed_everything(0)
    generator = Float64Generator(2, latent_dim=3, hidden=16).double()
    critic = (critic or MLPCritic(2, hidden=16)).double()
    if "sn" in stabilizers:
        spectral_normalize(critic)
    critic_objective = CriticObjective(get_divergence(divergence), **dict.fromkeys(weights, 0.1))
    options = replace(config, generator_objective=objective)
    engine = StepEngine(
        generator, critic, Float64Ring(), critic_objective, options, torch.device("cpu"), refuse_nonfinite
    )
    engine.input_noise_std = 0.1 if "noise" in stabilizers else 0.0
    return engine


def step_change(engine: StepEngine, kind: str | None = None) -> tuple[Tensor, StepRecord]:
    """The parameter change of one SGD single step (learning rate 1: the negated gradients, critic then generator)
    on the planned route or the route ``kind``, from a copy of the engine's state, which is restored afterwards."""
    planned = engine.route
    engine.route = planned if kind is None else GradientRoute(kind, "forced by the test")
    params = [*engine.critic_params, *engine.generator_params]
    before = [p.detach().clone() for p in params]
    state = copy.deepcopy((engine.generator.state_dict(), engine.critic.state_dict()))
    torch.manual_seed(7)
    record = engine.single_step()
    change = torch.cat([(p.detach() - b).flatten() for p, b in zip(params, before, strict=True)])
    engine.generator.load_state_dict(state[0])
    engine.critic.load_state_dict(state[1])
    engine.route = planned
    return change, record


def reference_change(engine: StepEngine) -> Tensor:
    """-(∇_ω L_c, ∇_θ L_g) of the same minibatches (and instance noise) by plain autograd: two backward passes, the
    critic on each batch apart (on both at once when spectrally normalised, whose power iteration runs once per
    forward pass, as in the step)."""
    critic_state = copy.deepcopy(engine.critic.state_dict())  # spectral norm's power iteration moves its buffers
    torch.manual_seed(7)
    real = engine.data.sample(SGD.batch_size)
    fake = engine.generator(sample_latent(engine.generator, SGD.batch_size, "cpu"))
    if engine.input_noise_std:
        real = real + engine.input_noise_std * torch.randn_like(real)
        fake = fake + engine.input_noise_std * torch.randn_like(fake)
    real.requires_grad_("real" in engine.objective.input_gradients)
    if any(hasattr(module, "parametrizations") for module in engine.critic.modules()):
        critic_real, critic_fake = engine.critic(torch.cat([real, fake])).split([len(real), len(fake)])
    else:
        critic_real, critic_fake = engine.critic(real), engine.critic(fake)
    _, loss_critic = engine.objective(CriticBatch(real, fake, critic_real, critic_fake))
    loss_generator = generator_loss(engine.objective.divergence, critic_fake, engine.options.generator_objective)
    grads = [
        *torch.autograd.grad(loss_critic, engine.critic_params, retain_graph=True),
        *torch.autograd.grad(loss_generator, engine.generator_params),
    ]
    engine.critic.load_state_dict(critic_state)
    return -torch.cat([grad.flatten() for grad in grads])


@pytest.mark.parametrize("batch_norm", [False, True], ids=["independent", "batch-norm"])
@pytest.mark.parametrize("weights", TERM_SETS, ids=lambda weights: "+".join(("bound", *weights)))
@pytest.mark.parametrize("objective", GENERATOR_OBJECTIVES)
@pytest.mark.parametrize("divergence", EXAMPLE_DIVERGENCES)
def test_the_planned_route_gives_the_reference_gradients(
    divergence: str, objective: str, weights: tuple[str, ...], batch_norm: bool
) -> None:
    """Every objective term, alone and combined, under both generator objectives, with a critic that treats samples
    independently and one that couples them (batch norm): the planned route equals plain two-pass autograd to 1e-5
    (float64)."""
    engine = float64_engine(divergence, objective, weights, BatchNormCritic() if batch_norm else None)
    reference = reference_change(engine)
    planned, record = step_change(engine)
    assert reference.abs().max() > 0 and not record.second_pass
    torch.testing.assert_close(planned, reference, rtol=1e-5, atol=1e-12)


#: The stabilisers that keep one backward pass, alone and combined: those of the step engine (spectral norm and
#: instance noise) with and without the R1 penalty (the EMA acts after the step, see tests/test_stabilizers.py).
ONE_PASS_STABILIZERS = [("sn",), ("noise",), ("sn", "noise")]


@pytest.mark.parametrize("weights", [(), ("r1_gamma",), ("output_penalty", "r1_gamma")], ids=str)
@pytest.mark.parametrize("stabilizers", ONE_PASS_STABILIZERS, ids="+".join)
@pytest.mark.parametrize("objective", GENERATOR_OBJECTIVES)
@pytest.mark.parametrize("divergence", ["kl", "gan", "neyman", "tv", "alpha:0.5"])
def test_one_pass_stabilizers_give_the_reference_gradients(
    divergence: str, objective: str, stabilizers: tuple[str, ...], weights: tuple[str, ...]
) -> None:
    """Spectral norm, instance noise and R1 keep the one-pass step (reversal or rescaling), and it equals plain
    two-pass autograd to 1e-5 (float64)."""
    engine = float64_engine(divergence, objective, weights, stabilizers=stabilizers)
    assert engine.passes == 1
    reference = reference_change(engine)
    planned, record = step_change(engine)
    assert reference.abs().max() > 0 and not record.second_pass
    torch.testing.assert_close(planned, reference, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("weights", [("roth_gamma",), ("r2_gamma",)], ids=str)
def test_a_gradient_penalty_on_generated_samples_takes_two_passes_and_says_so(weights: tuple[str, ...]) -> None:
    engine = float64_engine("gan", "minimax", weights)
    assert engine.passes == 2 and "two backward passes" in engine.passes_note
    assert "double backward" in engine.passes_note


@pytest.mark.parametrize("batch_norm", [False, True], ids=["independent", "batch-norm"])
@pytest.mark.parametrize("weights", TERM_SETS, ids=lambda weights: "+".join(("bound", *weights)))
@pytest.mark.parametrize("objective", GENERATOR_OBJECTIVES)
def test_every_one_pass_route_the_plan_passes_over_would_be_wrong(
    objective: str, weights: tuple[str, ...], batch_norm: bool
) -> None:
    """The plan is not needlessly cautious: each one-pass route tried before the one it chose (reversal, then
    rescaling, then a second pass) gives other gradients than the reference. Under kl, whose two generator losses
    differ (under tv, say, f*(t) = t makes them one, and the reversal would happen to hold for both)."""
    engine = float64_engine("kl", objective, weights, BatchNormCritic() if batch_norm else None)
    reference = reference_change(engine)
    passed_over = ROUTE_ORDER[: ROUTE_ORDER.index(engine.route.kind)]
    assert passed_over or (objective == "minimax" and set(weights) <= {"r1_gamma"})  # R1 leaves the reversal exact
    for kind in passed_over:
        forced, _ = step_change(engine, kind)
        assert not torch.allclose(forced, reference, rtol=1e-5, atol=1e-12), kind


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
    engine = float64_engine(divergence, objective, config=replace(SGD, lr_generator=1e-3, lr_critic=1e-3))
    with torch.no_grad():
        engine.critic.net[-1].weight.mul_(3.0)
        engine.critic.net[-1].bias.fill_(level)
    one_pass, record = step_change(engine)
    two_pass, _ = step_change(engine, "second pass")
    assert torch.isfinite(one_pass).all()
    torch.testing.assert_close(one_pass, two_pass, rtol=1e-5, atol=1e-12)
    assert record.second_pass == (objective == "alternative" and divergence in ("kl", "gan"))


def test_a_critic_with_batch_norm_takes_two_passes_unless_the_gradient_is_only_reversed() -> None:
    critic = BatchNormCritic()
    assert critic_couples_samples(critic) and not critic_couples_samples(MLPCritic(2))
    alternative = float64_engine("kl", "alternative", critic=BatchNormCritic())
    assert alternative.passes == 2 and "batch norm" in alternative.passes_note
    assert "two forward passes of the critic" in alternative.passes_note
    minimax = float64_engine("kl", critic=BatchNormCritic())
    assert minimax.passes == 1 and "reversed" in minimax.passes_note
    assert "two forward passes of the critic" in minimax.passes_note and "one backward pass" in minimax.passes_note
    independent = float64_engine("kl", "alternative")
    assert independent.passes_note.startswith("single-step update: one forward and one backward pass (")


def test_a_layer_can_declare_that_it_couples_samples() -> None:
    class MinibatchMean(nn.Module):
        couples_samples = True

        def forward(self, x: Tensor) -> Tensor:
            return x - x.mean(0)

    assert critic_couples_samples(nn.Sequential(MinibatchMean(), nn.Linear(2, 1)))


@pytest.mark.parametrize(
    ("penalty", "passes"),
    [
        (
            0.1,
            "two forward passes of the critic, the real and the generated batch apart (it couples the samples of a "
            "batch: batch norm or a layer declaring couples_samples), one of the generator, and two backward passes",
        ),
        (
            0.0,
            "two forward passes of the critic, the real and the generated batch apart (it couples the samples of a "
            "batch: batch norm or a layer declaring couples_samples), one of the generator, and one backward pass",
        ),
    ],
)
def test_the_run_log_says_how_many_passes_a_batch_norm_critic_takes(penalty: float, passes: str, tmp_path) -> None:
    run_dir = prepare_run_dir(tmp_path / "run")
    seed_everything(0)
    config = replace(SGD, critic_penalty=penalty)
    trainer = Trainer(MLPGenerator(2, 3, 16), BatchNormCritic(), ring(), "js", config, run_dir)
    trainer.train()
    log = (run_dir / "run.log").read_text()
    assert f"single-step update: {passes} (" in log and "one forward and" not in log


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
    fake = trainer.engine.generate()
    assert trainer.engine.forward(trainer.critic, real).dtype == torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16 if precision == "bf16" else torch.float16):
        assert trainer.critic(fake).dtype != torch.float32  # the networks themselves do run in reduced precision
    assert trainer.engine.scaler.is_enabled() == (precision == "fp16")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"generator_objective": "alternative"},
        {"stabilizer": ("r1", "noise"), "r1_gamma": 10.0, "instance_noise": 0.1},
        {"stabilizer": ("r2",), "r2_gamma": 1.0, "update": "alternating", "critic_steps": 2},
    ],
    ids=["reversal", "rescaling", "r1-noise", "r2-alternating"],
)
def test_the_generated_batch_stays_in_the_autocast_dtype_with_the_float32_route_updates(
    precision: str, changes: dict
) -> None:
    """The generated batch is handed to the critic in the autocast dtype (no float32 copy, which the critic's
    autocast would cast back); the updates are those of the float32 copy's route, bit for bit."""
    config = replace(SGD, optimizer="adam", lr_generator=1e-3, lr_critic=1e-3, steps=4, precision=precision, **changes)
    parameters = []
    for widen in (False, True):
        seed_everything(0)
        trainer = Trainer(MLPGenerator(2, 3, 32), MLPCritic(2, 32), ring(), "kl", config)
        assert trainer.engine.generate().dtype == (torch.bfloat16 if precision == "bf16" else torch.float16)
        if widen:
            narrow = trainer.engine.generate
            trainer.engine.generate = lambda sync=True, narrow=narrow: narrow(sync).float()  # type: ignore[method-assign]
        seed_everything(1)
        trainer.train()
        parameters.append([p.detach().clone() for p in [*trainer.generator.parameters(), *trainer.critic.parameters()]])
    assert all(torch.equal(a, b) for a, b in zip(*parameters, strict=True))


def test_fp16_loss_scale_is_checkpointed_and_restored(tmp_path) -> None:
    run_dir = prepare_run_dir(tmp_path / "run")
    config = replace(SGD, optimizer="adam", lr_generator=1e-3, lr_critic=1e-3, steps=6, precision="fp16")
    seed_everything(0)
    trainer = Trainer(MLPGenerator(2, 3, 16), MLPCritic(2, 16), ring(), "kl", config, run_dir)
    trainer.train()
    trainer.engine.scaler.update(1024.0)
    state = trainer.state_dict()
    seed_everything(0)
    again = Trainer(MLPGenerator(2, 3, 16), MLPCritic(2, 16), ring(), "kl", config)
    again.load_state_dict(state)
    assert again.engine.scaler.get_scale() == 1024.0


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
        config = TrainConfig(steps=5, batch_size=32, device="cpu", quiet=True, compile=compiled, stabilizer=("none",))
        Trainer(generator, critic, ring(), "js", config).train()
        parameters[compiled] = torch.cat(
            [p.detach().flatten() for p in [*generator.parameters(), *critic.parameters()]]
        )
    torch.testing.assert_close(parameters[True], parameters[False], rtol=1e-5, atol=1e-6)
