r"""Training dynamics in 1-D: snapshots of p, q_θ, the critic g_f(V_ω) and the optimal critic T* on one x grid.

The variational bound ``F(θ, ω) = E_P[g_f(V_ω(x))] - E_{Q_θ}[f*(g_f(V_ω(x)))]`` is tight at the critic

    T*(x) = f'(p(x) / q_θ(x)),

so during training the learned critic g_f(V_ω) chases T* while q_θ slides toward p. A snapshot holds, at one step
and on a fixed grid: p (the data density, known in closed form), q_θ (closed form N(μ, σ²) for a
:class:`~fgan.models.LocationScaleGenerator`, otherwise a Gaussian kernel density estimate from generated samples),
g_f(V_ω) and T*. The density ratio is formed in log space, ``r = exp(clamp(log p - log q))``, so T* stays finite
where q (or p) underflows. :class:`SnapshotRecorder` takes snapshots during :meth:`fgan.training.Trainer.train`
without touching the training's random stream; :func:`write_snapshots` draws them as a strip of frames
(``dynamics.png``), an animated GIF (``dynamics.gif``) and saves the arrays (``snapshots.npz``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from PIL import Image
from torch import Tensor

from fgan.data import Sampler
from fgan.errors import UsageError, require
from fgan.models import LocationScaleGenerator, sample_latent
from fgan.plotting import subplots
from fgan.runs import atomic_write
from fgan.training import Trainer

#: |log p/q| is clamped to this before exponentiating: the ratio stays within e^{±30} (about 1e±13).
LOG_RATIO_LIMIT = 30.0
#: The seed of the generated samples behind a kernel density estimate (the same samples' noise at every step).
KDE_SEED = 1234
#: Data samples from which the default x range (mean ± 4 std) is estimated.
RANGE_SAMPLES = 20_000
#: Frames per row of the strip.
STRIP_COLUMNS = 5
#: The critic axis spans g_f(V) and T* between these quantiles of m = (p + q_θ)/2 (T* blows up in the tails).
CENTRAL_MASS = (0.05, 0.95)
SNAPSHOT_DATA_MESSAGE = "snapshots need 1-D data with a known density (mixture:...)"


@runtime_checkable
class DensitySampler(Sampler, Protocol):
    """Data with a known log-density, ``log p(x)`` for ``x`` of shape ``(n,)`` in 1-D: what a snapshot needs."""

    def log_prob(self, x: Tensor) -> Tensor: ...


def density_data(trainer: Trainer) -> DensitySampler:
    """The trainer's data, when it is 1-D with a known density.

    Raises:
        UsageError: when the data is not 1-D or has no ``log_prob``.
    """
    if not isinstance(trainer.data, DensitySampler) or trainer.data.dim != 1:
        raise UsageError(SNAPSHOT_DATA_MESSAGE)
    return trainer.data


@dataclass
class Snapshot:
    """p, q_θ, g_f(V_ω) and T* = f'(p/q_θ) at ``step`` on the grid ``x`` (float64 arrays of one shape)."""

    step: int
    x: np.ndarray
    p: np.ndarray
    q: np.ndarray
    critic: np.ndarray
    optimal_critic: np.ndarray


def kde_log_density(samples: Tensor, x: Tensor) -> Tensor:
    """The log of a Gaussian kernel density estimate from 1-D ``samples`` at ``x`` (both float64, shape ``(n,)``).

    ``log q̂(x) = logsumexp_i(-(x - s_i)² / (2h²)) - log N - ½ log(2π h²)`` with Silverman's bandwidth
    ``h = 0.9 min(σ̂, IQR / 1.34) N^{-1/5}`` (robust to several modes; σ̂ alone if the IQR is 0).
    """
    n = len(samples)
    spread = samples.std()
    iqr = torch.quantile(samples, 0.75) - torch.quantile(samples, 0.25)
    if iqr > 0:
        spread = torch.minimum(spread, iqr / 1.34)
    bandwidth = 0.9 * spread * n ** (-0.2)
    squared = (x[:, None] - samples[None, :]) ** 2 / (2.0 * bandwidth**2)
    return torch.logsumexp(-squared, dim=1) - math.log(n) - 0.5 * torch.log(2.0 * math.pi * bandwidth**2)


def generator_log_density(trainer: Trainer, x: Tensor, kde_samples: int) -> Tensor:
    """log q_θ at ``x`` (float64): exact for a location-scale generator, else a KDE of ``kde_samples`` samples
    generated from latent codes drawn on the CPU with :data:`KDE_SEED` (the global random state is forked)."""
    generator = trainer.generator
    if isinstance(generator, LocationScaleGenerator):
        normal = torch.distributions.Normal(generator.mu.double().cpu(), generator.sigma.double().cpu())
        return normal.log_prob(x)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(KDE_SEED)
        latent = sample_latent(generator, kde_samples, "cpu")
    samples = generator(latent.to(trainer.device)).double().cpu().reshape(-1)
    return kde_log_density(samples, x)


def take_snapshot(trainer: Trainer, x: Tensor, kde_samples: int = 20_000) -> Snapshot:
    """p, q_θ, g_f(V_ω) and T* = f'(exp(clamp(log p - log q_θ, ±LOG_RATIO_LIMIT))) on the 1-D grid ``x``.

    Runs without gradients, with both networks in eval mode (their modes are restored after) and torch's CPU
    random state forked, so the training that calls it goes on exactly as it would have without it.
    """
    x = x.detach().double().cpu()
    networks = (trainer.generator, trainer.critic)
    modes = [network.training for network in networks]
    try:
        for network in networks:
            network.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            log_p = density_data(trainer).log_prob(x)
            log_q = generator_log_density(trainer, x, kde_samples)
            dtype = next(trainer.critic.parameters()).dtype
            raw = trainer.critic(x[:, None].to(device=trainer.device, dtype=dtype)).reshape(-1)
            critic = trainer.divergence.activation(raw).double().cpu()
            log_ratio = torch.clamp(log_p - log_q, -LOG_RATIO_LIMIT, LOG_RATIO_LIMIT)
            optimal = trainer.divergence.optimal_critic(torch.exp(log_ratio))
    finally:
        for network, mode in zip(networks, modes, strict=True):
            network.train(mode)
    return Snapshot(
        trainer.step,
        x.numpy().copy(),
        torch.exp(log_p).numpy(),
        torch.exp(log_q).numpy(),
        critic.numpy(),
        optimal.numpy(),
    )


def snapshot_steps(count: int, steps: int, start: int = 0) -> list[int]:
    """``count`` steps spread evenly over ``start..steps``, both ends included (just ``steps`` when count is 1);
    fewer when ``steps - start < count - 1`` (a step is never repeated)."""
    if count == 1:
        return [steps]
    return sorted({start + round((steps - start) * k / (count - 1)) for k in range(count)})


def default_x_range(data: Sampler) -> tuple[float, float]:
    """The data's mean ± 4 std, estimated from :data:`RANGE_SAMPLES` samples drawn on a forked random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(KDE_SEED)
        samples = data.sample(RANGE_SAMPLES, "cpu").double().reshape(-1)
    mean, std = float(samples.mean()), float(samples.std())
    return mean - 4.0 * std, mean + 4.0 * std


class SnapshotRecorder:
    """Takes ``count`` snapshots evenly over training steps ``start..steps`` (see :func:`snapshot_steps`).

    Args:
        count: how many snapshots (>= 1); the first at ``start`` (taken by :meth:`attach`), the last at ``steps``.
        steps: the last training step, usually ``trainer.config.steps``.
        start: the step training starts from (that of a resumed run's checkpoint).
        x_range: the grid's ends; by default the data's mean ± 4 std.
        points: grid points.
    """

    def __init__(
        self,
        count: int,
        steps: int,
        x_range: tuple[float, float] | None = None,
        points: int = 400,
        start: int = 0,
    ) -> None:
        require(
            [
                (count >= 1, f"snapshot count must be >= 1, got {count}"),
                (steps >= 0, f"snapshot steps must be >= 0, got {steps}"),
                (points >= 2, f"snapshot grid needs >= 2 points, got {points}"),
                (
                    x_range is None or (all(map(math.isfinite, x_range)) and x_range[0] < x_range[1]),
                    f"snapshot x range must be finite with low < high, got {x_range}",
                ),
            ]
        )
        self.due = set(snapshot_steps(count, steps, start))
        self.x_range = x_range
        self.points = points
        self.snapshots: list[Snapshot] = []
        self.x: Tensor | None = None

    def attach(self, trainer: Trainer) -> None:
        """Fix the grid, take the snapshot of the current step if it is due, and register a per-step callback.

        Raises:
            UsageError: when the data is not 1-D or has no ``log_prob``.
        """
        data = density_data(trainer)
        low, high = self.x_range if self.x_range is not None else default_x_range(data)
        self.x = torch.linspace(low, high, self.points, dtype=torch.float64)
        self._record(trainer)
        trainer.add_callback(1, self._record)

    def _record(self, trainer: Trainer) -> None:
        if trainer.step in self.due:
            assert self.x is not None, "attach() fixes the grid before it registers this callback"
            self.snapshots.append(take_snapshot(trainer, self.x))


def critic_gap(snapshot: Snapshot) -> float:
    """How far the critic is from the optimal one: ``∫ m |g_f(V(x)) - T*(x)| dx / ∫ m dx`` with
    ``m = (p + q_θ)/2``, the density both players' samples come from (trapezoid rule on the grid)."""
    x, p, q, critic, optimal = (
        torch.from_numpy(a) for a in (snapshot.x, snapshot.p, snapshot.q, snapshot.critic, snapshot.optimal_critic)
    )
    weight = 0.5 * (p + q)
    return float(torch.trapezoid(weight * torch.abs(critic - optimal), x) / torch.trapezoid(weight, x))


@dataclass
class _Limits:
    density: tuple[float, float]
    critic: tuple[float, float]


def _central_region(snapshot: Snapshot) -> np.ndarray:
    """Mask of the grid points between the :data:`CENTRAL_MASS` quantiles of m = (p + q_θ)/2."""
    weight = 0.5 * (snapshot.p + snapshot.q)
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (weight[1:] + weight[:-1]) * np.diff(snapshot.x))])
    cumulative /= cumulative[-1]
    low, high = CENTRAL_MASS
    return (cumulative >= low) & (cumulative <= high)


def _limits(snapshots: list[Snapshot]) -> _Limits:
    """Y-limits shared by every frame: densities from 0 to above p's peak (a generator that starts as a near point
    mass would otherwise flatten every later frame; its early spike runs off the top); critic values spanning g_f(V)
    and T* over the central region of each frame (:func:`_central_region`): T* blows up where q ≈ 0 or p ≈ 0 and is
    left to run off the frame there."""
    if not snapshots:
        raise UsageError("no snapshots to draw")
    density_top = 2.0 * max(s.p.max() for s in snapshots)
    values = np.concatenate(
        [np.concatenate([s.critic[mask], s.optimal_critic[mask]]) for s in snapshots for mask in [_central_region(s)]]
    )
    values = values[np.isfinite(values)]
    low, high = float(values.min()), float(values.max())
    pad = 0.1 * max(high - low, 1e-3)
    return _Limits((0.0, 1.1 * density_top), (low - pad, high + pad))


def _draw_frame(
    axis: Axes, snapshot: Snapshot, limits: _Limits, left_label: bool = True, right_label: bool = True
) -> list[Line2D]:
    """p and q_θ on ``axis``, g_f(V) and T* on a right twin axis (each axis named if asked); returns the lines."""
    right = axis.twinx()
    lines = [
        *axis.plot(snapshot.x, snapshot.p, color="black", linewidth=1.2, label="p (data)"),
        *axis.plot(snapshot.x, snapshot.q, color="tab:orange", linewidth=1.2, label="q_θ (generator)"),
        *right.plot(snapshot.x, snapshot.critic, color="tab:blue", linewidth=1.2, label="g_f(V_ω) (critic)"),
        *right.plot(snapshot.x, snapshot.optimal_critic, "--", color="tab:green", linewidth=1.2, label="T* = f'(p/q)"),
    ]
    axis.set_ylim(*limits.density)
    right.set_ylim(*limits.critic)
    axis.set_xlim(snapshot.x[0], snapshot.x[-1])
    axis.set_title(f"step {snapshot.step}", fontsize=10)
    axis.set_xlabel("x")
    if left_label:
        axis.set_ylabel("density")
    if right_label:
        right.set_ylabel("critic value")
    return lines


def plot_strip(snapshots: list[Snapshot], path: str | Path, divergence_name: str) -> Path:
    """One panel per snapshot, in balanced rows of at most :data:`STRIP_COLUMNS`, shared y-limits, one legend;
    written atomically as a PNG."""
    path = Path(path)
    limits = _limits(snapshots)
    rows = math.ceil(len(snapshots) / STRIP_COLUMNS)
    columns = math.ceil(len(snapshots) / rows)
    figure, axes = subplots(rows, columns, figsize=(3.8 * columns, 3.0 * rows + 0.6), squeeze=False)
    lines = [
        _draw_frame(axis, snapshot, limits, index % columns == 0, index % columns == columns - 1)
        for index, (axis, snapshot) in enumerate(zip(axes.flat, snapshots, strict=False))
    ]
    for axis in list(axes.flat)[len(snapshots) :]:
        axis.axis("off")
    figure.suptitle(f"{divergence_name}: the critic g_f(V_ω) chases T* while q_θ moves toward p")
    figure.legend(handles=lines[0], loc="lower center", ncol=4, fontsize=9, frameon=False)
    figure.tight_layout(rect=(0.0, 0.07 / rows, 1.0, 1.0))
    atomic_write(path, lambda file: figure.savefig(file, format="png", dpi=110))
    return path


def _render_frame(snapshot: Snapshot, limits: _Limits, divergence_name: str) -> Image.Image:
    """One snapshot as a Pillow RGB image."""
    figure, axis = subplots(figsize=(6.0, 4.0), dpi=100)
    lines = _draw_frame(axis, snapshot, limits)
    axis.set_title(f"{divergence_name}, step {snapshot.step}", fontsize=11)
    axis.legend(handles=lines, loc="upper left", fontsize=8)
    figure.tight_layout()
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())


def write_gif(snapshots: list[Snapshot], path: str | Path, divergence_name: str, duration_ms: int = 400) -> Path:
    """The frames as an animated, looping GIF (``duration_ms`` per frame, shared y-limits), written atomically."""
    require([(duration_ms >= 1, f"GIF frame duration must be >= 1 ms, got {duration_ms}")])
    path = Path(path)
    limits = _limits(snapshots)
    first, *rest = [_render_frame(snapshot, limits, divergence_name) for snapshot in snapshots]
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=rest, duration=duration_ms, loop=0)
    atomic_write(path, lambda file: file.write(buffer.getvalue()))
    return path


def write_snapshots(snapshots: list[Snapshot], folder: str | Path, divergence_name: str) -> list[Path]:
    """``dynamics.png`` (the strip), ``dynamics.gif`` and ``snapshots.npz`` (arrays ``steps``, ``x`` and, one row
    per snapshot, ``p, q, critic, optimal_critic``) in ``folder``; returns their paths."""
    folder = Path(folder)
    _limits(snapshots)  # one message for an empty list, before any file is written
    arrays: dict[str, Any] = {  # Any: numpy types savez(**arrays) as its own keywords
        "steps": np.array([s.step for s in snapshots]),
        "x": snapshots[0].x,
        **{name: np.stack([getattr(s, name) for s in snapshots]) for name in ("p", "q", "critic", "optimal_critic")},
    }
    npz = folder / "snapshots.npz"
    atomic_write(npz, lambda file: np.savez(file, **arrays))
    return [
        plot_strip(snapshots, folder / "dynamics.png", divergence_name),
        write_gif(snapshots, folder / "dynamics.gif", divergence_name),
        npz,
    ]
