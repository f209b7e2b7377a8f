r"""The lecture picture of the Fenchel conjugate, drawn from fgan's own f, f*, f' and g_f.

The conjugate ``f*(t) = sup_u [u t - f(u)]`` is the upper envelope of the straight lines ``t ↦ u t - f(u)``, one per
u in dom f. The line for u touches f* at ``t = f'(u)``, where

    f*(f'(u)) = u f'(u) - f(u)        (the supremum is attained at u),

so for ``f(u) = u log u`` the lines for u = 0.1, 1, 10 touch ``exp(t - 1)`` at ``t = 1 + log u``. The line for u = 1
is ``t - f(1)``, tangent at the critic value ``f'(1)`` where P = Q. :func:`plot_conjugate` draws these lines, their
numerical envelope (a max over a dense grid of u) and the closed-form f* on one panel, and the output activation
``g_f: R -> dom f*`` on the other.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from matplotlib.axes import Axes
from torch import Tensor

from fgan.divergences import CustomDivergence, Divergence, get_divergence
from fgan.errors import UsageError
from fgan.plotting import save_figure, subplots

_F64 = torch.float64
#: Output formats :func:`plot_conjugate` writes, chosen by the file suffix.
FIGURE_SUFFIXES = (".png", ".svg")
#: The slopes u whose lines are labelled (and whose points of contact are marked).
LABELLED_SLOPES = (0.1, 1.0, 10.0)
#: The v interval of the activation panel.
ACTIVATION_RANGE = (-6.0, 6.0)


def conjugate_lines(divergence: Divergence, us: Tensor, ts: Tensor) -> Tensor:
    """The lines ``u t - f(u)``, shape ``(len(us), len(ts))``, in float64 (``-inf`` where f(u) = +inf)."""
    us = torch.as_tensor(us, dtype=_F64).reshape(-1)
    ts = torch.as_tensor(ts, dtype=_F64).reshape(-1)
    return us[:, None] * ts[None, :] - divergence.f(us)[:, None]


def envelope(divergence: Divergence, us: Tensor, ts: Tensor) -> Tensor:
    """The upper envelope ``max_{u in us} [u t - f(u)]`` at each t: a lower bound of f*(t), exact as us fills dom f."""
    return conjugate_lines(divergence, us, ts).amax(dim=0)


def default_slopes(divergence: Divergence, count: int = 25) -> Tensor:
    """``count`` slopes u log-spaced over [10^-2, 10^2] (count >= 5), containing u = 0.1, 1 and 10 exactly.

    The grid points nearest to 0.1, 1 and 10 are moved onto them; their lines touch f* at f'(0.1), f'(1), f'(10).
    The spread is the same for every divergence (u > 0 lies in every dom f).
    """
    if count < 5:
        raise UsageError(f"the conjugate plot needs at least 5 lines, got {count}")
    exponents = torch.linspace(-2.0, 2.0, count, dtype=_F64)
    for exponent in (-1.0, 0.0, 1.0):
        exponents[torch.argmin((exponents - exponent).abs())] = exponent
    return torch.pow(10.0, exponents)


def dense_slopes(divergence: Divergence, count: int = 2001) -> Tensor:
    """A dense grid of dom f for the numerical envelope: u = 0 and ``count`` points log-spaced over [10^-6, 10^6],
    mirrored to negative u (down to ``f_domain_low``) when f is defined there (Pearson).

    Neighbouring points differ by a factor ρ = 10^(12/(count-1)) (1.4 % at the default), so the envelope is below
    f*(t) by at most about ``f''(u*) u*² (ρ - 1)²/8`` (2.4e-5 f''(u*) u*² at the default) wherever the maximiser u*
    lies in [10^-6, 10^6].
    """
    positive = torch.logspace(-6.0, 6.0, count, dtype=_F64)
    us = torch.cat([torch.zeros(1, dtype=_F64), positive])
    if divergence.f_domain_low < 0.0:
        negative = -positive
        us = torch.cat([negative[negative >= divergence.f_domain_low].flip(0), us])
    return us


def envelope_gap(divergence: Divergence, ts: Tensor, us: Tensor) -> float:
    """``max |envelope(t) - f*(t)|`` over the t in ``ts`` inside dom f* whose maximiser the grid ``us`` can reach.

    The maximiser u* of ``u t - f(u)`` solves ``f'(u*) = t`` and f' is non-decreasing, so u* lies in
    ``[min us, max us]`` exactly when ``f'(min us) <= t <= f'(max us)``; other t are left out. NaN when no t is left.
    """
    ts = torch.as_tensor(ts, dtype=_F64).reshape(-1)
    us = torch.as_tensor(us, dtype=_F64).reshape(-1)
    reach = divergence.optimal_critic(torch.stack([us.min(), us.max()]))
    inside = divergence.in_conjugate_domain(ts) & (ts >= reach[0]) & (ts <= reach[1])
    if not inside.any():
        return math.nan
    gap = envelope(divergence, us, ts[inside]) - divergence.conjugate(ts[inside])
    return float(gap.abs().max())


def default_t_range(divergence: Divergence) -> tuple[float, float]:
    """A t interval around f'(1) that shows where the lines for u in [0.1, 10] touch f*.

    It spans [f'(0.1), f'(10)] with each side of f'(1) at most 3 times as long as the other (f' can run off to
    -inf as u -> 0, e.g. Neyman's 1 - 1/u²), widened by 15 % on both sides; a finite end of dom f* that this
    reaches is shown with the 15 % margin beyond it.
    """
    center = divergence.f_prime_one
    low_touch, high_touch = divergence.optimal_critic(torch.tensor([0.1, 10.0], dtype=_F64)).tolist()
    left, right = center - low_touch, high_touch - center
    left, right = min(left, 3.0 * right) if right > 0 else left, min(right, 3.0 * left) if left > 0 else right
    if left + right <= 0.0:
        left = right = 1.0
    pad = 0.15 * (left + right)
    low, high = center - left - pad, center + right + pad
    domain_low, domain_high = divergence.conjugate_domain
    return max(low, domain_low - pad), min(high, domain_high + pad)


def _t_grid(divergence: Divergence, t_range: tuple[float, float], count: int = 801) -> Tensor:
    """``count`` points over t_range and the finite ends of dom f* inside it (a closed domain is drawn to its ends)."""
    ends = [end for end in divergence.conjugate_domain if t_range[0] < end < t_range[1]]
    grid = torch.cat([torch.linspace(*t_range, count, dtype=_F64), torch.tensor(ends, dtype=_F64)])
    return torch.unique(grid)


def _y_window(divergence: Divergence, ts: Tensor, conjugate: Tensor) -> tuple[float, float]:
    """y-limits around f* where the lines for u <= 10 touch it (f* blows up at an open domain end), padded 15 %."""
    finite = torch.isfinite(conjugate)
    core = finite & (ts <= float(divergence.optimal_critic(torch.tensor(10.0, dtype=_F64))))
    if not core.any():
        core = finite
    if not core.any():
        return -1.0, 1.0
    low, high = float(conjugate[finite].min()), float(conjugate[core].max())
    pad = 0.15 * max(high - low, 1e-3)
    return low - pad, high + pad


def _shade_domain(axis: Axes, divergence: Divergence, vertical: bool) -> None:
    """Shade dom f* (a vertical band on a t x-axis, a horizontal band on a t y-axis) and dash its finite ends."""
    limits = axis.get_xlim() if vertical else axis.get_ylim()
    low, high = divergence.conjugate_domain
    span, line = (axis.axvspan, axis.axvline) if vertical else (axis.axhspan, axis.axhline)
    span(
        max(low, limits[0]),
        min(high, limits[1]),
        color="tab:green",
        alpha=0.1,
        label=f"dom f* = {divergence.domain_text()}",
    )
    for end in (low, high):
        if limits[0] <= end <= limits[1]:
            line(end, color="tab:green", linestyle=":", linewidth=1.2)


def figure_gap(divergence: Divergence | str, t_range: tuple[float, float] | None = None) -> float:
    """The :func:`envelope_gap` the figure of :func:`plot_conjugate` reports: over its t grid (``t_range``, by
    default :func:`default_t_range`) and :func:`dense_slopes`."""
    resolved = _resolve(divergence)
    ts = _t_grid(resolved, t_range or default_t_range(resolved))
    return envelope_gap(resolved, ts, dense_slopes(resolved))


def _draw_lines_panel(axis: Axes, divergence: Divergence, us: Tensor, t_range: tuple[float, float]) -> None:
    """The lines u t - f(u), their numerical envelope, the closed-form f*, dom f* and the point at f'(1)."""
    ts = _t_grid(divergence, t_range)
    lines = conjugate_lines(divergence, us, ts)
    conjugate = divergence.conjugate(ts)
    for line in lines:
        axis.plot(ts, line, color="0.6", linewidth=0.6, zorder=1)
    nearest = [int(torch.argmin((us.log() - math.log(value)).abs())) for value in LABELLED_SLOPES]
    for index, color in zip(dict.fromkeys(nearest), ("tab:purple", "tab:red", "tab:brown"), strict=False):
        u = us[index : index + 1]
        touch = divergence.optimal_critic(u)
        axis.plot(ts, lines[index], color=color, linewidth=1.0, zorder=2, label=f"u = {float(u):.3g}: t ↦ u t − f(u)")
        if t_range[0] <= float(touch) <= t_range[1]:
            axis.plot(touch, divergence.conjugate(touch), "o", color=color, markersize=4, zorder=4)
    grid = dense_slopes(divergence)
    gap = envelope_gap(divergence, ts, grid)
    axis.plot(
        ts,
        envelope(divergence, grid, ts),
        color="tab:orange",
        linestyle="--",
        linewidth=2.0,
        zorder=3,
        label=f"envelope: max over {len(grid)} lines" + ("" if math.isnan(gap) else f" (max |gap to f*| = {gap:.1e})"),
    )
    axis.plot(
        ts,
        torch.where(torch.isfinite(conjugate), conjugate, math.nan),
        color="tab:blue",
        linewidth=3.0,
        alpha=0.6,
        zorder=2.5,
        label="f*(t), closed form",
    )
    critic = torch.tensor(divergence.f_prime_one, dtype=_F64)
    axis.plot(
        critic,
        divergence.conjugate(critic),
        "*",
        color="black",
        markersize=11,
        zorder=5,
        label=f"(f'(1), f*(f'(1))) = ({divergence.f_prime_one:.3g}, {float(divergence.conjugate(critic)):.3g}): P = Q",
    )
    axis.set_xlim(*t_range)
    axis.set_ylim(*_y_window(divergence, ts, conjugate))
    _shade_domain(axis, divergence, vertical=True)
    axis.set_xlabel("t")
    axis.set_ylabel("u t − f(u)")
    axis.set_title(f"f*(t) = sup_u [u t − f(u)] = {divergence.formula_conjugate}", fontsize=9)
    axis.legend(loc="upper left", fontsize=7, framealpha=0.9)


def _draw_activation_panel(axis: Axes, divergence: Divergence, t_range: tuple[float, float]) -> None:
    """g_f(v) against v, with dom f* shaded on the t (y) axis, which is the t axis of the lines panel."""
    vs = torch.linspace(*ACTIVATION_RANGE, 401, dtype=_F64)
    axis.plot(vs, divergence.activation(vs), color="tab:blue", linewidth=1.8, label="g_f(v)")
    axis.axhline(divergence.f_prime_one, color="black", linestyle="--", linewidth=0.8, label="f'(1)")
    axis.set_xlim(*ACTIVATION_RANGE)
    axis.set_ylim(*t_range)
    _shade_domain(axis, divergence, vertical=False)
    axis.set_xlabel("v (raw critic output)")
    axis.set_ylabel("t = g_f(v)")
    axis.set_title(f"g_f(v) = {divergence.formula_activation}: R → dom f*", fontsize=9)
    axis.legend(loc="upper left", fontsize=7, framealpha=0.9)


def _resolve(divergence: Divergence | str) -> Divergence:
    """The divergence, refusing unknown names and those without a closed-form conjugate (UsageError)."""
    resolved = get_divergence(divergence)
    if isinstance(resolved, CustomDivergence):
        raise UsageError(
            f"divergence {resolved.name} has no closed-form conjugate to draw; its f* is solved numerically "
            "(draw a built-in divergence instead, e.g. kl)"
        )
    return resolved


def plot_conjugate(
    divergence: Divergence | str,
    path: str | Path,
    us: Tensor | None = None,
    t_range: tuple[float, float] | None = None,
    lines: int = 25,
) -> Path:
    """Draw f* as the upper envelope of the lines ``t ↦ u t - f(u)``, and g_f, into a .png or .svg file.

    Left panel: grey lines for the slopes ``us`` (default :func:`default_slopes` with ``lines`` of them; u = 0.1, 1,
    10 in colour, with dots where they touch f* at t = f'(u)), their numerical envelope over :func:`dense_slopes`
    (dashed), the closed-form f* (solid, not drawn outside dom f*, where it is +inf), dom f* shaded, and the star
    ``(f'(1), f*(f'(1)))`` at the critic value where P = Q. Right panel: ``g_f(v)`` over v in [-6, 6] against the
    same t axis, dom f* shaded. The file is written atomically (a temporary name in the same folder, then
    ``os.replace``), its folder created.

    Returns:
        the path written.

    Raises:
        UsageError: for a suffix other than .png or .svg, an unknown divergence, one without a closed-form conjugate
            (``f:EXPR``), fewer than 5 lines, an empty t range, or a path that cannot be written.
    """
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise UsageError(f"conjugate plot must end in {' or '.join(FIGURE_SUFFIXES)}, got {path}")
    resolved = _resolve(divergence)
    us = default_slopes(resolved, lines) if us is None else torch.as_tensor(us, dtype=_F64).reshape(-1)
    if us.numel() == 0 or not bool((us > 0).all()) or not bool(torch.isfinite(us).all()):
        raise UsageError("the slopes u of the conjugate plot must be finite and positive")
    t_range = default_t_range(resolved) if t_range is None else (float(t_range[0]), float(t_range[1]))
    if not (math.isfinite(t_range[0]) and math.isfinite(t_range[1]) and t_range[0] < t_range[1]):
        raise UsageError(f"the t range of the conjugate plot must be finite with low < high, got {t_range}")
    if path.is_dir():
        raise UsageError(f"cannot write the conjugate plot to {path}: it is a folder")
    figure, (left, right) = subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [3, 2]})
    _draw_lines_panel(left, resolved, us, t_range)
    _draw_activation_panel(right, resolved, t_range)
    figure.suptitle(f"{resolved.name}: f(u) = {resolved.formula_f},  dom f* = {resolved.domain_text()}")
    try:
        save_figure(figure, path)
    except OSError as err:
        raise UsageError(f"cannot write the conjugate plot to {path}: {err.strerror or err}") from None
    return path
