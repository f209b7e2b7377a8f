"""The conjugate picture: f* is the upper envelope of the lines t ↦ u t - f(u), and the figure is written."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from fgan.conjugate_plot import (
    conjugate_lines,
    default_slopes,
    default_t_range,
    dense_slopes,
    envelope,
    envelope_gap,
    plot_conjugate,
)
from fgan.divergences import EXAMPLE_DIVERGENCES, get_divergence
from fgan.errors import UsageError

F64 = torch.float64
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", EXAMPLE_DIVERGENCES)
def test_envelope_of_the_lines_is_the_closed_form_conjugate(name: str) -> None:
    """At t = f'(u) the supremum is attained at u: f*(f'(u)) = u f'(u) - f(u), for u in [0.2, 5]."""
    divergence = get_divergence(name)
    u = torch.logspace(math.log10(0.2), math.log10(5.0), 9, dtype=F64)
    t = divergence.optimal_critic(u)
    attained = u * t - divergence.f(u)
    numerical = envelope(divergence, dense_slopes(divergence), t)
    closed_form = divergence.conjugate(t)
    tolerance = 1e-3 * (1.0 + attained.abs())
    assert torch.all((closed_form - attained).abs() <= 1e-9 * (1.0 + attained.abs()))
    assert torch.all((numerical - attained).abs() <= tolerance)
    assert torch.all(numerical <= closed_form + 1e-9 * (1.0 + closed_form.abs()))  # a max over lines never exceeds f*


@pytest.mark.parametrize("name", ["kl", "tv", "gan", "neyman", "alpha:2"])
def test_envelope_gap_over_the_default_range_is_small(name: str) -> None:
    divergence = get_divergence(name)
    ts = torch.linspace(*default_t_range(divergence), 201, dtype=F64)
    assert envelope_gap(divergence, ts, dense_slopes(divergence)) < 2e-3


def test_envelope_gap_is_nan_without_a_point_in_the_domain() -> None:
    gan = get_divergence("gan")
    assert math.isnan(envelope_gap(gan, torch.tensor([0.5, 1.0], dtype=F64), dense_slopes(gan)))


def test_kl_lines_are_tangent_to_exp_t_minus_one_at_one_plus_log_u() -> None:
    kl = get_divergence("kl")
    us = torch.tensor([0.1, 1.0, 10.0], dtype=F64)
    touch = 1.0 + torch.log(us)
    at_touch = conjugate_lines(kl, us, touch).diagonal()
    assert torch.allclose(at_touch, torch.exp(touch - 1.0), rtol=1e-12)  # the line meets exp(t - 1) there ...
    assert torch.allclose(us, torch.exp(touch - 1.0), rtol=1e-12)  # ... with the same slope u = d/dt exp(t - 1)
    ts = torch.linspace(-4.0, 6.0, 401, dtype=F64)
    assert torch.all(conjugate_lines(kl, us, ts) <= torch.exp(ts - 1.0) + 1e-12)  # and stays below it


def test_lines_have_one_row_per_slope() -> None:
    lines = conjugate_lines(get_divergence("js"), torch.tensor([0.5, 2.0]), torch.linspace(-1.0, 0.5, 7))
    assert lines.shape == (2, 7)
    assert lines.dtype == F64


@pytest.mark.parametrize("name", ["kl", "tv", "gan", "reverse-kl", "neyman", "pearson"])
def test_default_slopes_and_t_range(name: str) -> None:
    divergence = get_divergence(name)
    slopes = default_slopes(divergence)
    assert len(slopes) == 25
    assert torch.all(slopes > 0) and torch.all(slopes[1:] > slopes[:-1])
    for value in (0.1, 1.0, 10.0):
        assert value in slopes.tolist()
    low, high = default_t_range(divergence)
    assert low < divergence.f_prime_one < high
    domain_low, domain_high = divergence.conjugate_domain
    assert low < domain_low or domain_low == -math.inf
    assert high > domain_high or domain_high == math.inf  # a finite end of dom f* is visible


def test_default_slopes_needs_five() -> None:
    with pytest.raises(UsageError):
        default_slopes(get_divergence("kl"), 4)
    assert 1.0 in default_slopes(get_divergence("kl"), 6).tolist()


@pytest.mark.parametrize("name", ["kl", "tv", "gan", "pearson"])
def test_plot_writes_a_png_and_creates_folders(tmp_path: Path, name: str) -> None:
    out = tmp_path / "a" / "b" / f"{name}.png"
    assert plot_conjugate(name, out) == out
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left behind


def test_plot_writes_an_svg(tmp_path: Path) -> None:
    out = plot_conjugate(get_divergence("tv"), str(tmp_path / "tv.svg"), lines=7, t_range=(-1.0, 1.0))
    assert "<svg" in out.read_text()


@pytest.mark.parametrize("suffix", [".jpg", ".txt", ""])
def test_bad_suffix_is_a_usage_error(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"kl{suffix}"
    with pytest.raises(UsageError, match=r"\.png or \.svg") as caught:
        plot_conjugate("kl", out)
    assert "\n" not in str(caught.value)
    assert not out.exists()


def test_custom_divergence_has_no_closed_form_to_draw(tmp_path: Path) -> None:
    out = tmp_path / "custom.png"
    with pytest.raises(UsageError, match="closed-form") as caught:
        plot_conjugate("f:u*log(u)", out)
    assert "\n" not in str(caught.value)
    assert "f:u*log(u)" in str(caught.value)
    assert not out.exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"divergence": "no-such-divergence"}, "unknown divergence"),
        ({"t_range": (1.0, 1.0)}, "t range"),
        ({"us": torch.tensor([-1.0, 1.0])}, "positive"),
        ({"lines": 3}, "at least 5"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(tmp_path: Path, kwargs: dict, match: str) -> None:
    arguments = {"divergence": "kl", "path": tmp_path / "x.png", **kwargs}
    with pytest.raises(UsageError, match=match) as caught:
        plot_conjugate(**arguments)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "x.png").exists()
