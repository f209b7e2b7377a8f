"""Training-dynamics snapshots in 1-D: p, q_θ, g_f(V) and T* on a grid, recorded without touching the RNG."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import norm

from fgan.data import PAPER_MIXTURE, parse_mixture, ring
from fgan.errors import UsageError
from fgan.models import LocationScaleGenerator, MLPCritic, MLPGenerator
from fgan.snapshots import (
    SNAPSHOT_DATA_MESSAGE,
    Snapshot,
    SnapshotRecorder,
    critic_gap,
    plot_strip,
    snapshot_steps,
    take_snapshot,
    write_gif,
    write_snapshots,
)
from fgan.training import TrainConfig, Trainer, seed_everything

STEPS = 300


def make_trainer(divergence: str, steps: int = STEPS, generator: str = "location-scale", data=None) -> Trainer:
    """The paper's mixture (or ``data``), a small MLP critic, Adam at 0.01, seeded before the networks are built."""
    data = data if data is not None else parse_mixture(PAPER_MIXTURE)
    seed_everything(0)
    if generator == "location-scale":
        model = LocationScaleGenerator(data.dim)
    else:
        model = MLPGenerator(data.dim, latent_dim=2, hidden=16, depth=1)
    config = TrainConfig(
        steps=steps,
        batch_size=256,
        lr_generator=0.01,
        lr_critic=0.01,
        betas=(0.9, 0.999),
        device="cpu",
        quiet=True,
        stabilizer=("none",),  # plain Algorithm 1: the critic approaches the paper's optimal critic
    )
    return Trainer(model, MLPCritic(data.dim, hidden=16), data, divergence, config)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: the small networks gain nothing from more, and lose much when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.cache
def recorded_run(divergence: str) -> tuple[Trainer, SnapshotRecorder]:
    """A 300-step run on the paper's mixture with 4 snapshots, trained once per divergence."""
    trainer = make_trainer(divergence)
    recorder = SnapshotRecorder(4, STEPS)
    recorder.attach(trainer)
    trainer.train()
    return trainer, recorder


@pytest.fixture(params=["kl", "js"])
def recorded(request: pytest.FixtureRequest) -> tuple[Trainer, SnapshotRecorder]:
    return recorded_run(request.param)


def mixture_density(x: np.ndarray) -> np.ndarray:
    """The paper's mixture 0.33 N(-1, 0.25²) + 0.67 N(2, 2), written out independently of fgan.data."""
    return 0.33 * norm.pdf(x, -1.0, 0.25) + 0.67 * norm.pdf(x, 2.0, math.sqrt(2.0))


def test_snapshot_steps_are_spread_evenly_with_both_ends() -> None:
    assert snapshot_steps(4, 300) == [0, 100, 200, 300]
    assert snapshot_steps(6, 1000) == [0, 200, 400, 600, 800, 1000]
    assert snapshot_steps(1, 50) == [50]
    assert snapshot_steps(5, 2) == [0, 1, 2]


def test_recorder_takes_the_snapshots_at_the_planned_steps(recorded: tuple[Trainer, SnapshotRecorder]) -> None:
    _, recorder = recorded
    assert [snapshot.step for snapshot in recorder.snapshots] == [0, 100, 200, 300]
    grid = recorder.snapshots[0].x
    assert len(grid) == 400 and all(np.array_equal(snapshot.x, grid) for snapshot in recorder.snapshots)


def test_q_is_the_generators_gaussian_and_t_star_is_f_prime_of_the_ratio(
    recorded: tuple[Trainer, SnapshotRecorder],
) -> None:
    trainer, recorder = recorded
    last = recorder.snapshots[-1]
    mu, sigma = trainer.generator.mu.item(), trainer.generator.sigma.item()
    q = norm.pdf(last.x, mu, sigma)
    np.testing.assert_allclose(last.q, q, rtol=1e-12)
    p = mixture_density(last.x)
    np.testing.assert_allclose(last.p, p, rtol=1e-10)
    ratio = p / q
    expected = 1.0 + np.log(ratio) if trainer.divergence.name == "kl" else np.log(2.0 * ratio / (1.0 + ratio))
    np.testing.assert_allclose(last.optimal_critic, expected, rtol=1e-8, atol=1e-8)


def test_the_critic_approaches_the_optimal_critic(recorded: tuple[Trainer, SnapshotRecorder]) -> None:
    _, recorder = recorded
    gaps = [critic_gap(snapshot) for snapshot in recorder.snapshots]
    assert gaps[-1] < 0.5 * gaps[0], gaps


@pytest.mark.parametrize("generator", ["location-scale", "mlp"])
def test_recording_leaves_the_training_unchanged(generator: str) -> None:
    plain = make_trainer("kl", steps=40, generator=generator)
    plain.train()
    watched = make_trainer("kl", steps=40, generator=generator)
    recorder = SnapshotRecorder(3, 40)
    recorder.attach(watched)
    watched.train()
    assert len(recorder.snapshots) == 3
    for network in ("generator", "critic"):
        before, after = getattr(plain, network).state_dict(), getattr(watched, network).state_dict()
        assert before.keys() == after.keys()
        assert all(torch.equal(before[key], after[key]) for key in before)


def test_take_snapshot_restores_the_network_modes() -> None:
    trainer = make_trainer("kl", steps=0)
    trainer.generator.eval()
    take_snapshot(trainer, torch.linspace(-3.0, 3.0, 50))
    assert not trainer.generator.training and trainer.critic.training


def test_kde_of_an_mlp_generator_integrates_to_one() -> None:
    trainer = make_trainer("kl", steps=30, generator="mlp")
    recorder = SnapshotRecorder(2, 30, x_range=(-8.0, 10.0), points=600)
    recorder.attach(trainer)
    trainer.train()
    for snapshot in recorder.snapshots:
        assert np.all(np.isfinite(snapshot.optimal_critic))
        assert np.trapezoid(snapshot.q, snapshot.x) == pytest.approx(1.0, abs=0.05)


def test_writers_make_the_strip_the_gif_and_the_arrays(tmp_path: Path) -> None:
    trainer, recorder = recorded_run("kl")
    snapshots = recorder.snapshots
    strip = plot_strip(snapshots, tmp_path / "strip.png", trainer.divergence.name)
    assert strip.read_bytes().startswith(b"\x89PNG")
    gif = write_gif(snapshots, tmp_path / "dynamics.gif", trainer.divergence.name, duration_ms=100)
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == len(snapshots)
    paths = write_snapshots(snapshots, tmp_path / "out", trainer.divergence.name)
    assert [path.name for path in paths] == ["dynamics.png", "dynamics.gif", "snapshots.npz"]
    assert all(path.is_file() for path in paths)
    with np.load(paths[2]) as arrays:
        assert arrays["steps"].tolist() == [0, 100, 200, 300]
        assert arrays["x"].shape == (400,) and arrays["optimal_critic"].shape == (4, 400)
        np.testing.assert_array_equal(arrays["critic"][-1], snapshots[-1].critic)


def test_a_single_frame_strip(tmp_path: Path) -> None:
    x = np.linspace(-2.0, 2.0, 20)
    density = norm.pdf(x)
    snapshot = Snapshot(0, x, density, density, np.zeros_like(x), np.ones_like(x))
    assert plot_strip([snapshot], tmp_path / "one.png", "kl").is_file()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SnapshotRecorder(0, 100), "snapshot count must be >= 1, got 0"),
        (lambda: SnapshotRecorder(3, 100).attach(make_trainer("kl", data=ring())), SNAPSHOT_DATA_MESSAGE),
        (lambda: SnapshotRecorder(3, 100, x_range=(1.0, -1.0)), "snapshot x range must be finite"),
        (lambda: plot_strip([], "unused.png", "kl"), "no snapshots to draw"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(make, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        make()
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
