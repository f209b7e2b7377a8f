"""The stabilisers: Roth et al.'s regulariser against the noise-convolved objective it comes from, the gradient
penalties' values, every divergence with every stabiliser at extreme critic outputs, bit-for-bit resume with each,
the weight average, the annealed instance noise, the recommendation mechanism and the saturation warning."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch
from torch import Tensor, nn

from fgan.critic_objective import CriticBatch, GeneratedGradientPenalty, RealGradientPenalty, RothRegularizer
from fgan.data import ring
from fgan.diagnostics import SATURATED_ROWS, SaturationTest, SaturationWatch, saturated_fraction, saturated_outputs
from fgan.divergences import EXAMPLE_DIVERGENCES, Divergence, get_divergence
from fgan.divergences.recommendations import RECOMMENDED, RECOMMENDED_FAMILIES
from fgan.ema import GeneratorAverage
from fgan.errors import UsageError
from fgan.experiments.mode_coverage import MODE_DIVERGENCES
from fgan.models import MLPCritic, MLPGenerator
from fgan.runs import load_latest_checkpoint, prepare_run_dir
from fgan.stabilizers import STABILIZERS, instance_noise_std, resolve_stabilizers
from fgan.training import TrainConfig, Trainer, seed_everything
from tests.test_step import Float64Generator, Float64Ring, refuse_nonfinite

#: A linear critic V(x) = A x + B on 1-D inputs, for the noise-convolution test.
SLOPE, OFFSET = 0.4, 0.1


def ratio_of_critic(divergence_name: str, v: Tensor) -> Tensor:
    """r = f*'(g_f(v)) = (d/dv f*(g_f(v))) / g_f'(v), by autograd of the bound's own functions (not of the
    regulariser's weights)."""
    divergence = get_divergence(divergence_name)
    v = v.detach().requires_grad_(True)
    (fused,) = torch.autograd.grad(divergence.conjugate_of_activation(v).sum(), v)
    (slope,) = torch.autograd.grad(divergence.activation(v).sum(), v)
    return fused / slope


@pytest.mark.parametrize("name", EXAMPLE_DIVERGENCES)
def test_roths_regulariser_is_the_second_order_term_of_the_noise_convolved_bound(name: str) -> None:
    """Where the critic is optimal, p = q f*'(T), convolving P and Q with N(0, γ) noise changes the bound by
    -γ/2 Ω + O(γ²). With Q = N(0, 1), a linear critic V and P := f*'(g_f(V)) Q (so that V is optimal), a Monte Carlo
    estimate of -2 (F_γ - F)/γ (antithetic noise ±ξ, the same x) matches Ω from the divergence's weights (E_P as the
    r-weighted E_Q) to 3 %."""
    divergence = get_divergence(name)
    generator = torch.Generator().manual_seed(0)
    n, gamma = 400_000, 1e-4
    x = torch.randn(n, generator=generator, dtype=torch.float64)
    xi = gamma**0.5 * torch.randn(n, generator=generator, dtype=torch.float64)

    def critic(points: Tensor) -> Tensor:
        return SLOPE * points + OFFSET

    def smoothed_change(function) -> Tensor:  # E_ξ[h(x + ξ)] - h(x), antithetic
        return 0.5 * (function(critic(x + xi)) + function(critic(x - xi))) - function(critic(x))

    v = critic(x)
    r = ratio_of_critic(name, v)
    change = (r * smoothed_change(divergence.activation)).mean() - smoothed_change(
        divergence.conjugate_of_activation
    ).mean()
    on_real, on_fake = divergence.curvature_weights(v, v)
    omega = (r * on_real * SLOPE**2).mean() + (on_fake * SLOPE**2).mean()
    estimate = -2.0 * change / gamma
    if name == "tv":  # f* linear: no second-order term, and no regulariser
        assert abs(estimate) < 1e-6 and omega == 0
        return
    assert omega > 0
    torch.testing.assert_close(estimate, omega, rtol=0.03, atol=0.0)


@pytest.mark.parametrize("name", [name for name in EXAMPLE_DIVERGENCES if not name.startswith("jeffrey")])
def test_the_closed_form_curvature_weights_agree_with_the_generic_autograd_one(name: str) -> None:
    """(Not jeffrey and jeffrey-ratio: the implicit gradient of the Lambert W of their f* is first-order only, so
    autograd cannot take f*''; their closed forms are checked against the noise-convolved bound above.)"""
    divergence = get_divergence(name)
    v = torch.linspace(-3.0, 3.0, 61, dtype=torch.float64)
    generic = Divergence.conjugate_curvature(divergence, v)  # the base class's, by autograd
    torch.testing.assert_close(divergence.conjugate_curvature(v), generic, rtol=1e-6, atol=1e-12)


def linear_batch(slope: float = 0.7) -> CriticBatch:
    """A batch of the linear critic V(x) = slope · sum(x) on 2-D samples: ||∇_x V||² = 2 slope² everywhere."""
    generator = torch.Generator().manual_seed(3)
    real, fake = (torch.randn(32, 2, generator=generator, dtype=torch.float64).requires_grad_(True) for _ in "rf")
    return CriticBatch(real, fake, slope * real.sum(1), slope * fake.sum(1))


def test_the_penalties_are_their_formulas() -> None:
    batch, square = linear_batch(), 2 * 0.7**2
    assert RealGradientPenalty(0.4)(batch).item() == pytest.approx(0.2 * square)
    assert GeneratedGradientPenalty(0.4)(linear_batch()).item() == pytest.approx(0.2 * square)
    gan = get_divergence("gan")
    batch = linear_batch()
    expected = (
        0.5
        * 0.4
        * square
        * (torch.sigmoid(-batch.critic_real).square().mean() + torch.sigmoid(batch.critic_fake).square().mean())
    )
    assert RothRegularizer(gan, 0.4)(batch).item() == pytest.approx(expected.item())
    kl = get_divergence("kl")
    batch = linear_batch()
    assert RothRegularizer(kl, 0.4)(batch).item() == pytest.approx(
        (0.2 * square * torch.exp(batch.critic_fake - 1.0).mean()).item()
    )


def test_fp16_scaled_input_gradients_are_the_unscaled_ones() -> None:
    plain, scaled = linear_batch(), replace(linear_batch(), gradient_scale=2.0**16)
    torch.testing.assert_close(plain.gradient_squares("real"), scaled.gradient_squares("real"))


#: Every stabiliser alone, and all of them together.
STABILIZER_SETS = [(name,) for name in STABILIZERS] + [STABILIZERS]


def extreme_trainer(divergence: str, stabilizers: tuple[str, ...], dtype: torch.dtype, level: float) -> Trainer:
    """A trainer of small networks in ``dtype`` whose critic outputs sit near ``level``."""
    seed_everything(0)
    float64 = dtype == torch.float64
    generator = (Float64Generator if float64 else MLPGenerator)(2, latent_dim=3, hidden=16).to(dtype)
    critic = MLPCritic(2, hidden=16).to(dtype)
    with torch.no_grad():
        critic.net[-1].weight.mul_(3.0)
        critic.net[-1].bias.fill_(level)
    config = TrainConfig(steps=2, batch_size=32, device="cpu", quiet=True, stabilizer=stabilizers, lr_generator=1e-4)
    trainer = Trainer(
        generator, critic, Float64Ring() if float64 else ring(), divergence, replace(config, lr_critic=1e-4)
    )
    trainer.engine.on_nonfinite = refuse_nonfinite
    return trainer


@pytest.mark.parametrize("level", [-30.0, 30.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("stabilizers", STABILIZER_SETS, ids="+".join)
@pytest.mark.parametrize("divergence", EXAMPLE_DIVERGENCES)
def test_every_divergence_trains_with_every_stabilizer_at_extreme_critic_outputs(
    divergence: str, stabilizers: tuple[str, ...], dtype: torch.dtype, level: float
) -> None:
    """Finite losses, gradients and parameters after two steps from a critic whose outputs sit near ±30, in float32
    and float64 (a non-finite loss or gradient fails the test)."""
    trainer = extreme_trainer(divergence, stabilizers, dtype, level)
    history = trainer.train()
    assert all(torch.isfinite(torch.tensor(values)).all() for values in (history.bound, history.critic_loss))
    for network in (trainer.generator, trainer.critic):
        assert all(torch.isfinite(p).all() and p.dtype == dtype for p in network.parameters())


CONFIG = TrainConfig(
    steps=30, batch_size=64, lr_generator=1e-3, lr_critic=1e-3, lr_schedule="linear", device="cpu", quiet=True
)


def make_trainer(config: TrainConfig, run_dir) -> Trainer:
    seed_everything(config.seed)
    return Trainer(MLPGenerator(2, latent_dim=3, hidden=16), MLPCritic(2, hidden=16), ring(), "gan", config, run_dir)


def state(trainer: Trainer) -> list[Tensor]:
    modules = [trainer.generator, trainer.critic, trainer.evaluation_generator]
    return [value.detach().clone() for module in modules for value in module.state_dict().values()]


@pytest.mark.parametrize("stabilizers", STABILIZER_SETS, ids="+".join)
def test_a_resumed_run_ends_bit_for_bit_with_every_stabilizer(tmp_path, stabilizers: tuple[str, ...]) -> None:
    """Cut at step 17 and resumed from its checkpoint: the networks, their buffers (spectral norm's power
    iteration) and the weight average end bit for bit as an uninterrupted run's."""
    config = replace(CONFIG, stabilizer=stabilizers)
    whole = make_trainer(config, prepare_run_dir(tmp_path / "whole"))
    whole.train()
    first = make_trainer(config, prepare_run_dir(tmp_path / "cut"))
    first.train(steps=17)
    first.save()
    second = make_trainer(replace(config, seed=99), tmp_path / "cut")
    second.load_state_dict(load_latest_checkpoint(tmp_path / "cut")[1])
    second.train()
    assert all(torch.equal(a, b) for a, b in zip(state(second), state(whole), strict=True))
    assert second.history.bound[-5:] == whole.history.bound[-5:]


def test_the_average_is_the_exponential_moving_average_of_the_weights() -> None:
    torch.manual_seed(0)
    network = nn.Linear(3, 2)
    average = GeneratorAverage(network, decay=0.9)
    expected = [p.detach().clone() for p in network.parameters()]
    for _ in range(3):
        with torch.no_grad():
            for p in network.parameters():
                p.add_(torch.randn_like(p))
        average.update()
        expected = [0.9 * e + 0.1 * p.detach() for e, p in zip(expected, network.parameters(), strict=True)]
    for mine, theirs in zip(average.module.parameters(), expected, strict=True):
        torch.testing.assert_close(mine, theirs)
    assert not any(p.requires_grad for p in average.module.parameters())


def test_ema_samples_come_from_the_average_and_plain_runs_from_the_generator() -> None:
    plain = make_trainer(replace(CONFIG, steps=3, stabilizer=("none",)), None)
    assert plain.evaluation_generator is plain.generator and plain.generator_average is None
    averaged = make_trainer(replace(CONFIG, steps=3, stabilizer=("ema",)), None)
    averaged.train()
    assert averaged.evaluation_generator is averaged.generator_average.module
    assert not torch.equal(averaged.evaluation_generator.net[0].weight, averaged.generator.net[0].weight)


def test_instance_noise_falls_linearly_to_zero_at_the_last_step() -> None:
    assert [instance_noise_std(0.2, step, 4) for step in range(6)] == pytest.approx([0.2, 0.15, 0.1, 0.05, 0, 0])


def test_spectral_norm_keeps_every_critic_layer_at_unit_norm() -> None:
    trainer = make_trainer(replace(CONFIG, steps=20, stabilizer=("sn",)), None)
    trainer.train()
    trainer.critic.eval()
    layers = [module for module in trainer.critic.modules() if isinstance(module, nn.Linear)]
    assert layers and all(hasattr(layer, "parametrizations") for layer in layers)
    for layer in layers:
        assert torch.linalg.matrix_norm(layer.weight, ord=2).item() == pytest.approx(1.0, rel=0.05)


def test_recommended_resolves_to_the_divergences_row_and_none_to_plain() -> None:
    for name in MODE_DIVERGENCES:
        recommendation = get_divergence(name).recommended_stabilizer
        assert recommendation is RECOMMENDED[name] and recommendation.evidence
        config = TrainConfig()
        note = resolve_stabilizers(config, get_divergence(name))
        assert config.stabilizer == (recommendation.stabilizers or ("none",))
        assert f"recommendation for {name}" in note
        for option, value in recommendation.settings.items():
            assert getattr(config, option) == value
    config = TrainConfig(stabilizer=("none",), roth_gamma=3.0)
    assert resolve_stabilizers(config, get_divergence("kl")).startswith("stabilizer: none (plain Algorithm 1)")
    assert config.roth_gamma is None
    assert get_divergence("js-weighted:0.3").recommended_stabilizer.stabilizers == ()
    for member in ("alpha:0.5", "alpha:2", "alpha:-1.5"):  # a family's members without a row of their own
        assert get_divergence(member).recommended_stabilizer is RECOMMENDED_FAMILIES["alpha"]


def test_a_users_weight_wins_over_the_recommendation_and_resolving_twice_changes_nothing() -> None:
    name = next(name for name, row in RECOMMENDED.items() if row.settings)
    option = next(iter(RECOMMENDED[name].settings))
    config = TrainConfig(**{option: 7.0})
    resolve_stabilizers(config, get_divergence(name))
    assert getattr(config, option) == 7.0
    again = replace(config)
    resolve_stabilizers(again, get_divergence(name))
    assert again == config


@pytest.mark.parametrize("name", [*RECOMMENDED, "js-weighted:0.3"])
def test_recommended_with_added_stabilizers_is_the_recommendation_followed_by_those_it_lacks(name: str) -> None:
    recommendation = get_divergence(name).recommended_stabilizer
    config = TrainConfig(stabilizer=("recommended", "ema", "r1"))
    note = resolve_stabilizers(config, get_divergence(name))
    added = tuple(stabilizer for stabilizer in ("ema", "r1") if stabilizer not in recommendation.stabilizers)
    assert config.stabilizer == (*recommendation.stabilizers, *added)
    assert f"the recommendation for {name} plus {' '.join(added)}:" in note
    assert config.ema_decay == 0.999
    assert config.r1_gamma == recommendation.settings.get("r1_gamma", 10.0)
    again = replace(config)
    resolve_stabilizers(again, get_divergence(name))
    assert again == config


@pytest.mark.parametrize(
    ("stabilizers", "message"),
    [
        (("none", "sn"), "stabilizer none stands alone"),
        (("ema", "recommended"), "stabilizer recommended comes first"),
        (("sn", "sn"), "stabilizer named twice"),
    ],
)
def test_bad_stabilizer_lists_are_usage_errors(stabilizers: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve_stabilizers(TrainConfig(stabilizer=stabilizers), get_divergence("kl"))


def test_a_gradient_penalty_under_torch_compile_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"stabilizer r1 takes a double backward.*drop --compile"):
        resolve_stabilizers(TrainConfig(stabilizer=("sn", "r1"), compile=True), get_divergence("kl"))
    resolve_stabilizers(TrainConfig(stabilizer=("sn", "noise", "ema"), compile=True), get_divergence("kl"))


def test_the_run_log_and_config_json_say_which_stabilizer_trains(tmp_path) -> None:
    from fgan.cli import main

    out = tmp_path / "run"
    assert main(["train", "--data", "ring", "--divergence", "kl", "--steps", "3", "--quiet", "--out", str(out)]) == 0
    train = json.loads((out / "config.json").read_text())["train"]
    recommended = RECOMMENDED["kl"]
    assert train["stabilizer"] == list(recommended.stabilizers or ("none",))
    assert "the recommendation for kl" in (out / "run.log").read_text()
    plain = tmp_path / "plain"
    arguments = ["train", "--data", "ring", "--steps", "3", "--quiet", "--out", str(plain), "--stabilizer", "none"]
    assert main(arguments) == 0
    assert json.loads((plain / "config.json").read_text())["train"]["stabilizer"] == ["none"]
    assert "stabilizer: none (plain Algorithm 1)" in (plain / "run.log").read_text()
    both = tmp_path / "both"
    arguments = ["train", "--data", "ring", "--steps", "3", "--quiet", "--out", str(both), "--stabilizer", "r1", "ema"]
    assert main([*arguments, "--r1-gamma", "0.5"]) == 0
    train = json.loads((both / "config.json").read_text())["train"]
    assert train["stabilizer"] == ["r1", "ema"] and train["r1_gamma"] == 0.5 and train["ema_decay"] == 0.999


def test_the_saturated_fraction_counts_outputs_near_an_end_of_dom_f_star() -> None:
    gan, tv, kl = get_divergence("gan"), get_divergence("tv"), get_divergence("kl")
    v = torch.tensor([0.0, 2.0, 10.0, 40.0])  # g_f(v) = log σ(v): -0.69, -0.13, -4.5e-5, ~0
    assert saturated_fraction(gan, v).item() == 0.5
    assert saturated_fraction(tv, torch.tensor([-20.0, 0.0, 20.0])).item() == pytest.approx(2 / 3)
    assert saturated_fraction(kl, v).item() == 0.0


@pytest.mark.parametrize("name", EXAMPLE_DIVERGENCES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_steps_thresholds_on_v_are_the_direct_saturation_test(name: str, dtype: torch.dtype) -> None:
    divergence = get_divergence(name)
    test = SaturationTest.of(divergence)
    assert test is not None
    v = torch.linspace(-80.0, 80.0, 100_001, dtype=dtype)
    assert torch.equal(test.fraction(v), saturated_fraction(divergence, v))
    saturated = test.saturated(v)
    if saturated is None:  # g_f unbounded both ways: never saturated
        assert (test.below, test.above) == (-math.inf, math.inf) and not saturated_outputs(divergence, v).any()
    else:
        assert torch.equal(saturated, saturated_outputs(divergence, v))


def test_the_saturation_warning_comes_once_after_a_long_saturated_stretch() -> None:
    watch = SaturationWatch(get_divergence("gan"), "--stabilizer roth")
    lines = [watch.observe(step, 0.5 if step < 10 else 0.97) for step in range(1, 10 + 2 * SATURATED_ROWS)]
    warnings = [line for line in lines if line]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "critic saturated: g_f(V) within 0.001 of sup dom f* or the end of g_f's range (dom f*: t < 0) on 97 %"
    )
    assert "since step 10; try --stabilizer roth" in warnings[0]


def test_a_saturating_run_logs_the_warning_and_records_the_fraction(tmp_path) -> None:
    """A critic pushed far into gan's saturated region (and a generator too slow to move) warns in run.log."""
    config = replace(CONFIG, steps=SATURATED_ROWS + 10, stabilizer=("none",), lr_generator=1e-9, lr_critic=1e-9)
    trainer = make_trainer(config, prepare_run_dir(tmp_path / "run"))
    with torch.no_grad():
        trainer.critic.net[-1].bias.fill_(50.0)
    history = trainer.train()
    assert min(history.saturated_fraction) == 1.0
    log = (tmp_path / "run" / "run.log").read_text()
    assert "on 100 % of generated samples since step 1; try --stabilizer" in log
