"""The divergence contract, run against every divergence (and several PI and A)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from fgan.divergences import EXAMPLE_DIVERGENCES, Divergence, get_divergence, list_divergences, register_divergence
from fgan.quadrature import f_divergence_integrand, gaussian_log_density, make_grid

NAMES = sorted({*EXAMPLE_DIVERGENCES, "js-weighted:0.5", "js-weighted:0.8", "alpha:0.3", "alpha:-0.5", "alpha:3"})
EXTREME = torch.linspace(-50.0, 50.0, 2001)


@pytest.fixture(params=NAMES)
def divergence(request: pytest.FixtureRequest) -> Divergence:
    return get_divergence(request.param)


def f64(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float64)


def test_f_vanishes_at_one(divergence: Divergence) -> None:
    expected = -math.log(4.0) if divergence.name == "gan" else 0.0
    assert divergence.f(f64(1.0)).item() == pytest.approx(expected, abs=1e-12)


def test_f_prime_one_is_the_optimal_critic_at_ratio_one(divergence: Divergence) -> None:
    assert divergence.optimal_critic(f64(1.0)).item() == pytest.approx(divergence.f_prime_one, abs=1e-12)


def brute_force_conjugate(divergence: Divergence, t: torch.Tensor) -> torch.Tensor:
    """sup_u [u t - f(u)] over a fine grid of u in the domain of f."""
    u = torch.cat([f64([0.0, 1.0]), torch.logspace(-8, 5, 200_001, dtype=torch.float64)])
    if divergence.f_domain_low < 0:
        u = torch.cat([u, torch.linspace(-20.0, 0.0, 100_001, dtype=torch.float64)])
    values = u[None, :] * t[:, None] - divergence.f(u)[None, :]
    return torch.nan_to_num(values, nan=-math.inf).max(dim=1).values


def test_conjugate_matches_brute_force_supremum(divergence: Divergence) -> None:
    t = divergence.activation(torch.linspace(-4.0, 4.0, 33, dtype=torch.float64))
    expected = brute_force_conjugate(divergence, t)
    torch.testing.assert_close(divergence.conjugate(t), expected, rtol=1e-5, atol=1e-6)


BOUNDED = [name for name in NAMES if math.isfinite(get_divergence(name).conjugate_domain[1])]


@pytest.mark.parametrize("name", BOUNDED)
def test_conjugate_is_infinite_outside_its_domain(name: str) -> None:
    divergence = get_divergence(name)
    low, high = divergence.conjugate_domain
    t = f64([x for x in (low - 1.0, high + 1.0) if math.isfinite(x)]).requires_grad_()
    value = divergence.conjugate(t)
    assert torch.isposinf(value).all()
    value.sum().backward()
    assert torch.isfinite(t.grad).all()


def test_activation_maps_into_conjugate_domain(divergence: Divergence) -> None:
    t = divergence.activation(torch.linspace(-30.0, 30.0, 601, dtype=torch.float64))
    assert divergence.in_conjugate_domain(t).all()


def test_fused_form_equals_composition_where_finite(divergence: Divergence) -> None:
    v = torch.linspace(-20.0, 20.0, 801, dtype=torch.float64)
    composed = divergence.conjugate(divergence.activation(v))
    finite = torch.isfinite(composed)
    assert finite.float().mean() > 0.9
    torch.testing.assert_close(divergence.conjugate_of_activation(v)[finite], composed[finite], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_values_and_gradients_finite_at_extreme_critic_outputs(divergence: Divergence, dtype: torch.dtype) -> None:
    for method in (divergence.activation, divergence.conjugate_of_activation):
        v = EXTREME.to(dtype).requires_grad_()
        value = method(v)
        (grad,) = torch.autograd.grad(value.sum(), v)
        assert value.dtype == dtype
        assert torch.isfinite(value).all(), method.__name__
        assert torch.isfinite(grad).all(), method.__name__


def test_conjugate_gradient_is_the_maximising_ratio(divergence: Divergence) -> None:
    """Envelope theorem: d f*(t)/dt = argmax_u [u t - f(u)] = (f')^{-1}(t)."""
    if not divergence.invertible_critic:
        with pytest.raises(NotImplementedError):
            divergence.ratio_from_critic(f64(0.1))
        return
    t = divergence.optimal_critic(torch.logspace(-3, 3, 41, dtype=torch.float64)).requires_grad_()
    (grad,) = torch.autograd.grad(divergence.conjugate(t).sum(), t)
    torch.testing.assert_close(grad, divergence.ratio_from_critic(t.detach()), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name", [name for name in NAMES if get_divergence(name).invertible_critic])
def test_ratio_from_critic_inverts_optimal_critic(name: str) -> None:
    divergence = get_divergence(name)
    r = torch.logspace(-3, 3, 61, dtype=torch.float64)
    torch.testing.assert_close(divergence.ratio_from_critic(divergence.optimal_critic(r)), r, rtol=1e-8, atol=0)


def test_bound_at_optimal_critic_equals_quadrature_divergence(divergence: Divergence) -> None:
    """E_P[T*] - E_Q[f*(T*)] with T* = f'(p/q) equals ∫ q f(p/q) for P = N(0, 1), Q = N(0.5, 1.2²)."""
    x = make_grid(-25.0, 25.0, 200_001)
    log_p, log_q = gaussian_log_density(0.0, 1.0)(x), gaussian_log_density(0.5, 1.2)(x)
    optimal = divergence.optimal_critic(torch.exp(log_p - log_q))
    bound = torch.trapezoid(torch.exp(log_p) * optimal - torch.exp(log_q) * divergence.conjugate(optimal), x)
    exact = torch.trapezoid(f_divergence_integrand(divergence, log_p, log_q), x)
    assert torch.isfinite(exact)
    assert bound.item() == pytest.approx(exact.item(), rel=1e-7, abs=1e-10)
    # any other critic gives a smaller value: the bound is a lower bound
    other = optimal + 0.05 * torch.sin(x) if divergence.invertible_critic else 0.4 * torch.tanh(x)
    other = torch.where(divergence.in_conjugate_domain(other), other, optimal)
    lower = torch.trapezoid(torch.exp(log_p) * other - torch.exp(log_q) * divergence.conjugate(other), x)
    assert lower.item() < exact.item()


def test_float32_and_float64_agree(divergence: Divergence) -> None:
    v = torch.linspace(-10.0, 10.0, 201, dtype=torch.float64)
    for method in (divergence.activation, divergence.conjugate_of_activation):
        torch.testing.assert_close(method(v.float()).double(), method(v), rtol=1e-5, atol=1e-6)


def test_docstring_carries_the_formulas(divergence: Divergence) -> None:
    doc = type(divergence).__doc__
    assert "f(u)" in doc and "f*(t)" in doc and "g_f(v)" in doc


def test_parametric_names_are_canonical() -> None:
    assert get_divergence("alpha:2.0").name == "alpha:2"
    assert get_divergence(" JS-Weighted:0.25 ").name == "js-weighted:0.25"
    assert get_divergence("alpha:2.0").alpha == 2.0


def test_weighted_js_at_one_half_is_half_of_js() -> None:
    u = torch.logspace(-3, 3, 31, dtype=torch.float64)
    torch.testing.assert_close(get_divergence("js-weighted:0.5").f(u), 0.5 * get_divergence("js").f(u))


def test_alpha_special_cases() -> None:
    u = torch.logspace(-3, 3, 31, dtype=torch.float64)
    torch.testing.assert_close(get_divergence("alpha:2").f(u), 0.5 * get_divergence("pearson").f(u))
    torch.testing.assert_close(get_divergence("alpha:0.5").f(u), 2.0 * get_divergence("hellinger").f(u))
    torch.testing.assert_close(get_divergence("alpha:-1").f(u), 0.5 * get_divergence("neyman").f(u))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "kl2",
        "alpha",
        "alpha:",
        "alpha:0",
        "alpha:1",
        "alpha:x",
        "alpha:nan",
        "js-weighted:0",
        "js-weighted:1",
        "js-weighted:1.5",
        "js-weighted:-0.2",
        "tv:3",
        "gan:0.5",
    ],
)
def test_bad_names_raise_value_error_listing_valid_forms(bad: str) -> None:
    with pytest.raises(ValueError, match="valid forms: tv, kl, reverse-kl"):
        get_divergence(bad)


@given(st.text(max_size=30))
def test_any_name_gives_a_divergence_or_a_value_error(name: str) -> None:
    try:
        divergence = get_divergence(name)
    except ValueError:
        return
    assert isinstance(divergence, Divergence)


def test_list_divergences_names_every_form() -> None:
    assert list_divergences()[:11] == [
        "tv",
        "kl",
        "reverse-kl",
        "pearson",
        "neyman",
        "hellinger",
        "jeffrey",
        "js",
        "gan",
        "js-weighted:PI",
        "alpha:A",
    ]


def test_register_custom_divergence() -> None:
    class HalfKL(type(get_divergence("kl"))):
        name = "half-kl-test"

    register_divergence("half-kl-test", HalfKL)
    assert isinstance(get_divergence("half-kl-test"), HalfKL)
    assert "half-kl-test" in list_divergences()
    with pytest.raises(ValueError):
        register_divergence("kl", HalfKL)
