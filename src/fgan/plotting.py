"""Figures of a run: training curves, and generated samples against the data (1-D densities, 2-D scatter).

Figures are :class:`matplotlib.figure.Figure` objects of their own, made by :func:`subplots`, not by pyplot: each is
drawn by the canvas of the format it is written in (Agg for PNG, matplotlib's SVG and PDF writers for those), so
fgan neither needs nor chooses a matplotlib backend, and importing it leaves the backend as the user set it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure
from matplotlib.text import Text
from torch import Tensor

from fgan.runs import atomic_write
from fgan.training import StepMetrics


def subplots(
    rows: int = 1, columns: int = 1, *, figsize: tuple[float, float], dpi: float | None = None, **layout: Any
) -> tuple[Figure, Any]:
    """``matplotlib.pyplot.subplots(rows, columns, figsize=..., **layout)`` without pyplot: a figure not
    registered with any backend, and its axes (one ``Axes``, or an array of them as ``Figure.subplots`` returns)."""
    figure = Figure(figsize=figsize, dpi=dpi)
    return figure, figure.subplots(rows, columns, **layout)


def plain_text(figure: Figure) -> None:
    """Turn mathtext off for every text of ``figure`` but the tick labels: titles, axis labels and legend entries
    hold user strings (a run folder named ``r$\\foo$``, a data file's path) shown as typed, never parsed as
    formulas; tick labels keep it (a log axis labels its ticks in mathtext)."""
    ticks = {
        text
        for axes in figure.axes
        for axis in (axes.xaxis, axes.yaxis)
        for text in axis.findobj(Text)
        if text is not axis.label
    }
    for text in figure.findobj(Text):
        if text not in ticks:
            text.set_parse_math(False)


def save_figure(figure: Figure, path: Path) -> None:
    """Lay out and write a figure atomically (creating the folder; the format from the suffix), its texts plain
    (:func:`plain_text`)."""
    path = Path(path)
    plain_text(figure)
    figure.tight_layout()
    atomic_write(path, lambda file: figure.savefig(file, format=path.suffix.lstrip(".").lower(), dpi=110))


def plot_training_curves(history: StepMetrics, path: Path, title: str = "") -> None:
    """The bound F (the divergence estimate) and both losses against the step."""
    figure, (left, right) = subplots(1, 2, figsize=(10, 3.5))
    left.plot(history.step, history.bound, linewidth=0.8)
    left.set_title("variational bound F (divergence estimate)")
    left.set_xlabel("step")
    right.plot(history.step, history.critic_loss, linewidth=0.8, label="critic loss")
    right.plot(history.step, history.generator_loss, linewidth=0.8, label="generator loss")
    right.set_xlabel("step")
    right.legend()
    if title:
        figure.suptitle(title)
    save_figure(figure, path)


def plot_samples(
    generated: Tensor,
    path: Path,
    real: Tensor | None = None,
    log_density: Callable[[Tensor], Tensor] | None = None,
    title: str = "",
) -> None:
    """1-D: histograms (and the true density if given); 2-D: scatter of generated over real samples."""
    generated = generated.detach().cpu().double()
    figure, axis = subplots(figsize=(5, 4.5) if generated.shape[1] == 2 else (6, 3.5))
    if generated.shape[1] == 1:
        values = generated[:, 0]
        low, high = float(values.min()), float(values.max())
        if real is not None:
            real_values = real.detach().cpu().double()[:, 0]
            low, high = min(low, float(real_values.min())), max(high, float(real_values.max()))
            axis.hist(real_values, bins=120, range=(low, high), density=True, alpha=0.4, label="data")
        axis.hist(values, bins=120, range=(low, high), density=True, alpha=0.5, label="generated")
        if log_density is not None:
            x = torch.linspace(low, high, 800, dtype=torch.float64)
            axis.plot(x, torch.exp(log_density(x)), color="black", linewidth=1, label="p")
        axis.set_xlabel("x")
    else:
        axis.scatter(generated[:, 0], generated[:, 1], s=2, alpha=0.4, color="tab:orange", label="generated")
        if real is not None:
            points = real.detach().cpu()
            axis.scatter(points[:, 0], points[:, 1], s=1, alpha=0.5, color="tab:blue", label="data")
        axis.set_aspect("equal")
    axis.legend(loc="upper right", fontsize=8)
    if title:
        axis.set_title(title)
    save_figure(figure, path)
