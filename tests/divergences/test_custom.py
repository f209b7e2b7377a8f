"""Custom divergences from a user-given f (fgan.divergences.custom): derived conjugate, domain and activation, and
f:EXPR through the registry."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor
from torch.testing import assert_close

from fgan.divergences import CustomDivergence, Divergence, get_divergence, list_divergences, parse_f_expression
from fgan.errors import UsageError

BUILTINS = [
    "kl",
    "reverse-kl",
    "pearson",
    "neyman",
    "hellinger",
    "jeffrey",
    "js",
    "gan",
    "js-weighted:0.3",
    "alpha:0.5",
    "alpha:2",
    "alpha:-1",
]
RATIOS = torch.logspace(-3, 3, 61, dtype=torch.float64)


def f64(values) -> Tensor:
    return torch.as_tensor(values, dtype=torch.float64)


def shift_of(builtin: Divergence) -> float:
    """The constant that makes the builtin's f vanish at 1 (only gan has f(1) = -log 4)."""
    return -builtin.f(f64(1.0)).item()


def derived(name: str) -> tuple[Divergence, CustomDivergence, float]:
    """The builtin, a CustomDivergence from its f shifted to f(1) = 0, and the shift c (custom f* = f* - c)."""
    builtin = get_divergence(name)
    shift = shift_of(builtin)
    return builtin, CustomDivergence(lambda u: builtin.f(u) + shift, name=f"custom-{name}"), shift


def brute_force_conjugate(f: Callable[[Tensor], Tensor], t: Tensor) -> Tensor:
    """sup_{u >= 0} [u t - f(u)] over a fine grid of u."""
    u = torch.cat([f64([0.0, 1.0]), torch.logspace(-8, 5, 100_001, dtype=torch.float64)])
    values = u[None, :] * t[:, None] - f(u)[None, :]
    return torch.nan_to_num(values, nan=-math.inf).max(dim=1).values


# --- the derived quantities against the closed forms ------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
def test_derived_conjugate_matches_closed_form(name: str) -> None:
    builtin, custom, shift = derived(name)
    t = builtin.optimal_critic(RATIOS)
    assert_close(custom.conjugate(t), builtin.conjugate(t) - shift, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", BUILTINS)
def test_derived_constants_match(name: str) -> None:
    builtin, custom, _ = derived(name)
    assert custom.f_prime_one == pytest.approx(builtin.f_prime_one, abs=1e-12)
    high = builtin.conjugate_domain[1]
    if math.isinf(high):
        assert custom.conjugate_domain == (-math.inf, math.inf)
        assert custom.slope_at_infinity == math.inf
    else:
        assert custom.conjugate_domain[0] == -math.inf
        assert custom.conjugate_domain[1] == pytest.approx(high, abs=1e-4)


def test_known_domain_ends() -> None:
    ends = {"kl": math.inf, "reverse-kl": 0.0, "neyman": 1.0, "hellinger": 1.0, "js": math.log(2.0), "gan": 0.0}
    for name, high in ends.items():
        _, custom, _ = derived(name)
        assert custom.slope_at_infinity == pytest.approx(high, abs=1e-9), name


@pytest.mark.parametrize("name", BUILTINS)
def test_ratio_from_critic_inverts_optimal_critic(name: str) -> None:
    builtin, custom, _ = derived(name)
    assert_close(custom.optimal_critic(RATIOS), builtin.optimal_critic(RATIOS), rtol=1e-10, atol=1e-12)
    assert_close(custom.ratio_from_critic(custom.optimal_critic(RATIOS)), RATIOS, rtol=1e-7, atol=0.0)


def test_ratio_from_critic_outside_the_domain_is_infinite() -> None:
    _, custom, _ = derived("hellinger")
    ratio = custom.ratio_from_critic(f64([0.5, 1.0, 2.0]))
    assert ratio[0].item() == pytest.approx(4.0, rel=1e-9)
    assert torch.isposinf(ratio[1:]).all()


def test_optimal_critic_is_differentiable_in_the_ratio() -> None:
    _, custom, _ = derived("kl")
    r = RATIOS.clone().requires_grad_()
    (grad,) = torch.autograd.grad(custom.optimal_critic(r).sum(), r)
    assert_close(grad, 1.0 / RATIOS)  # f'' of u log u


# --- gradients ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
def test_conjugate_gradient_is_the_maximiser(name: str) -> None:
    """Envelope theorem: d f*/dt = u*(t); also against central finite differences and the closed form."""
    builtin, custom, _ = derived(name)
    t = builtin.optimal_critic(RATIOS).requires_grad_()
    (grad,) = torch.autograd.grad(custom.conjugate(t).sum(), t)
    t = t.detach()
    assert_close(grad, custom.ratio_from_critic(t), rtol=1e-6, atol=0.0)
    assert_close(grad, RATIOS, rtol=1e-6, atol=0.0)
    step = torch.minimum(1e-6 * (1.0 + t.abs()), 1e-3 * (custom.conjugate_domain[1] - t))  # stay inside dom f*
    finite_difference = (custom.conjugate(t + step) - custom.conjugate(t - step)) / (2.0 * step)
    assert_close(grad, finite_difference, rtol=1e-5, atol=1e-8)


def test_conjugate_passes_gradcheck() -> None:
    _, custom, _ = derived("js")
    t = f64([-3.0, -0.5, 0.1, 0.6]).requires_grad_()
    assert torch.autograd.gradcheck(custom.conjugate, (t,), eps=1e-6, atol=1e-6, rtol=1e-5)


def test_conjugate_outside_domain_is_infinite_with_finite_gradient() -> None:
    for name in ("hellinger", "js", "gan"):
        _, custom, _ = derived(name)
        high = custom.conjugate_domain[1]
        t = f64([high, high + 1.0]).requires_grad_()
        value = custom.conjugate(t)
        assert torch.isposinf(value).all(), name
        (grad,) = torch.autograd.grad(value.sum(), t)
        assert torch.isfinite(grad).all(), name


# --- activation and the composed conjugate ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kl", "hellinger", "js", "gan", "alpha:2", "alpha:-1"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_activation_and_conjugate_of_activation(name: str, dtype: torch.dtype) -> None:
    _, custom, _ = derived(name)
    v = torch.linspace(-20.0, 20.0, 401, dtype=dtype)
    assert custom.in_conjugate_domain(custom.activation(v.double())).all()
    v.requires_grad_()
    value = custom.conjugate_of_activation(v)
    (grad,) = torch.autograd.grad(value.sum(), v)
    assert value.dtype == dtype
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()
    composed = custom.conjugate(custom.activation(v.detach().double()))
    finite = torch.isfinite(composed)
    assert_close(
        value.detach().double()[finite], composed[finite], rtol=1e-5 if dtype == torch.float32 else 1e-9, atol=1e-6
    )


@pytest.mark.parametrize("name", ["kl", "hellinger", "gan", "alpha:2", "pearson"])
def test_conjugate_matches_brute_force_supremum_over_u_at_least_zero(name: str) -> None:
    """Also where the supremum sits at u = 0 (pearson, alpha:2 below f'(0)): f*(t) = -f(0)."""
    _, custom, _ = derived(name)
    t = custom.activation(torch.linspace(-4.0, 4.0, 33, dtype=torch.float64))
    assert_close(custom.conjugate(t), brute_force_conjugate(custom.f, t), rtol=1e-5, atol=1e-6)


def test_pearson_below_minus_two_is_minus_f_of_zero() -> None:
    _, custom, _ = derived("pearson")
    t = f64([-10.0, -3.0, -2.5]).requires_grad_()
    value = custom.conjugate(t)
    (grad,) = torch.autograd.grad(value.sum(), t)
    assert_close(value.detach(), f64([-1.0, -1.0, -1.0]))
    assert_close(grad, torch.zeros(3, dtype=torch.float64))


def test_float32_conjugate_agrees_with_float64() -> None:
    _, custom, _ = derived("jeffrey")
    t = torch.linspace(-5.0, 5.0, 41, dtype=torch.float64)
    value = custom.conjugate(t.float())
    assert value.dtype == torch.float32
    assert_close(value.double(), custom.conjugate(t), rtol=1e-5, atol=1e-6)


def test_docstring_and_repr() -> None:
    _, custom, _ = derived("kl")
    doc = type(custom).__doc__
    assert "f(u)" in doc and "f*(t)" in doc and "g_f(v)" in doc
    assert "custom-kl" in repr(custom)


# --- checks on f -------------------------------------------------------------------------------------------------


def test_non_convex_f_is_refused() -> None:
    with pytest.raises(UsageError, match=r"not convex near u = "):
        CustomDivergence(lambda u: -((u - 1.0) ** 2))
    with pytest.raises(UsageError, match="not convex"):
        CustomDivergence(lambda u: torch.log(u) ** 2)  # convex only below u = e


def test_f_not_vanishing_at_one_is_refused() -> None:
    with pytest.raises(UsageError, match=r"f\(1\) = 1"):
        CustomDivergence(lambda u: u * torch.log(u) + 1.0)


def test_non_finite_f_is_refused() -> None:
    with pytest.raises(UsageError, match=r"not finite at u = "):
        CustomDivergence(lambda u: torch.exp(u) - math.e)  # overflows at u = 1e6
    with pytest.raises(UsageError, match="not finite"):
        CustomDivergence(lambda u: torch.where(u > 1e3, torch.full_like(u, math.nan), (u - 1.0) ** 2))


def test_affine_pieces_are_accepted() -> None:
    """Total variation's f, |u - 1|/2: f* is t on [-1/2, 1/2) and -f(0) = -1/2 below."""
    custom = CustomDivergence(parse_f_expression("abs(u - 1)/2"))
    assert custom.conjugate_domain == (-math.inf, 0.5)
    assert_close(
        custom.conjugate(f64([-3.0, -0.5, -0.2, 0.0, 0.3])), f64([-0.5, -0.5, -0.2, 0.0, 0.3]), atol=1e-9, rtol=0
    )


_ATOMS = st.sampled_from(["u", "1", "2", "0.5", "pi", "e", "0", "1e308"])
_EXPRESSIONS = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(lambda x: f"({x[0]}{x[1]}{x[2]})"),
        st.tuples(
            st.sampled_from(["log", "exp", "sqrt", "abs", "log1p", "expm1", "tanh", "softplus", "sigmoid"]), inner
        ).map(lambda x: f"{x[0]}({x[1]})"),
        inner.map(lambda x: f"-{x}"),
    ),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None)
@given(_EXPRESSIONS)
def test_any_valid_expression_gives_a_divergence_or_a_value_error(text: str) -> None:
    try:
        divergence = get_divergence(f"f:{text}")
    except UsageError as err:
        assert "valid forms:" in str(err)
        return
    assert isinstance(divergence, CustomDivergence)
    t = divergence.activation(torch.linspace(-5.0, 5.0, 11, dtype=torch.float64))
    assert not torch.isnan(divergence.conjugate(t)).any()


# --- get_divergence("f:EXPR") --------------------------------------------------------------------------------------


def test_get_divergence_with_expression_end_to_end() -> None:
    custom = get_divergence("f:u*log(u)")
    kl = get_divergence("kl")
    assert isinstance(custom, CustomDivergence)
    assert custom.name == "f:u*log(u)"
    assert custom.formula_f == "u*log(u)"
    t = kl.optimal_critic(RATIOS)
    assert_close(custom.conjugate(t), kl.conjugate(t), rtol=1e-5, atol=1e-5)
    assert_close(custom.conjugate_of_activation(t), kl.conjugate_of_activation(t), rtol=1e-5, atol=1e-5)
    assert get_divergence(" F:(sqrt(u)-1)**2 ").conjugate_domain == (-math.inf, 1.0)


def test_get_divergence_with_bad_expression_lists_the_valid_forms() -> None:
    with pytest.raises(UsageError, match=r"f\(1\).*valid forms: tv, kl, reverse-kl.*f:EXPR"):
        get_divergence("f:u*log(u)+1")
    with pytest.raises(UsageError, match=r"not convex.*valid forms: tv, kl"):
        get_divergence("f:-(u-1)**2")
    with pytest.raises(UsageError, match="valid forms: tv, kl"):
        get_divergence("f:__import__('os')")
    with pytest.raises(UsageError, match="valid forms: tv, kl"):
        get_divergence("f:")


def test_list_divergences_mentions_expressions() -> None:
    names = list_divergences()
    assert names.index("f:EXPR") == names.index("alpha:A") + 1
