"""The divergence contract, run against every divergence (and several PI and A)."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import mpmath as mp
import pytest
import torch

from fgan.divergences import EXAMPLE_DIVERGENCES, Divergence, get_divergence
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


def test_weighted_js_at_one_half_is_half_of_js() -> None:
    u = torch.logspace(-3, 3, 31, dtype=torch.float64)
    torch.testing.assert_close(get_divergence("js-weighted:0.5").f(u), 0.5 * get_divergence("js").f(u))


def test_alpha_special_cases() -> None:
    u = torch.logspace(-3, 3, 31, dtype=torch.float64)
    torch.testing.assert_close(get_divergence("alpha:2").f(u), 0.5 * get_divergence("pearson").f(u))
    torch.testing.assert_close(get_divergence("alpha:0.5").f(u), 2.0 * get_divergence("hellinger").f(u))
    torch.testing.assert_close(get_divergence("alpha:-1").f(u), 0.5 * get_divergence("neyman").f(u))


# --- the standalone conjugate at the ends of dom f* and at rounded activations ------------------------------------

#: u of the brute-force supremum: 0, and 100 log-spaced points per decade in [1e-12, 1e17] (both signs for pearson).
BRUTE_U = torch.logspace(-12, 17, 2901, dtype=torch.float64)
GOLDEN_STEPS = 80
EPS64 = torch.finfo(torch.float64).eps


def brute_force_supremum(
    divergence: Divergence, t: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``sup_u [u t - f(u)]`` in float64 by a log-spaced grid of u refined by golden-section search; also the
    maximiser u*, the rounding error of ``u t - f(u)`` there and whether the supremum converged within the grid
    (the maximiser lies inside it, or the last two decades added less than 1e-13 relative: f* is finite at t)
    with a rounding error small enough to tell.

    Only f is used, never f* or its domain.
    """
    u = (
        torch.cat([-BRUTE_U.flip(0), f64([0.0]), BRUTE_U])
        if divergence.f_domain_low < 0
        else torch.cat([f64([0.0]), BRUTE_U])
    )

    def objective(points: torch.Tensor) -> torch.Tensor:
        values = t[:, None] * points - divergence.f(points)
        return torch.nan_to_num(values, nan=-math.inf, posinf=math.inf)

    grid_values = objective(u[None, :].expand(len(t), -1))
    best = grid_values.argmax(dim=1)
    low = u[(best - 1).clamp(min=0)].clone()
    high = u[(best + 1).clamp(max=len(u) - 1)].clone()
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(GOLDEN_STEPS):
        left, right = high - ratio * (high - low), low + ratio * (high - low)
        values = objective(torch.stack([left, right], dim=1))
        go_right = values[:, 1] > values[:, 0]
        low = torch.where(go_right, left, low)
        high = torch.where(go_right, high, right)
    refined = 0.5 * (low + high)
    candidates = torch.stack([grid_values.max(dim=1).values, objective(refined[:, None])[:, 0]], dim=1)
    value = candidates.max(dim=1).values
    u_star = torch.where(candidates[:, 1] >= candidates[:, 0], refined, u[best])
    top = len(u) - 1
    tail_gain = grid_values[:, top] - grid_values[:, top - 200]
    size = u_star.abs()
    terms = (t * u_star).abs() + divergence.f(u_star).abs() + torch.special.xlogy(size, size).abs()
    noise = rounding_noise(objective, u_star) + EPS64 * terms
    resolved = noise <= 1e-8 * (1.0 + value.abs())
    converged = resolved & ((best < top - 1) | (tail_gain <= 1e-13 * (1.0 + value.abs())))
    return value, u_star, noise, converged


def rounding_noise(objective: Callable[[torch.Tensor], torch.Tensor], u_star: torch.Tensor) -> torch.Tensor:
    """The float64 rounding noise of ``u t - f(u)`` at the maximiser: the spread of its values at 33 points within
    1.5e-8 of u* (where the function itself is flat to ~1e-16). With eps (|t u*| + |f(u*)| + |u* log u*|) added
    (the size of the terms of f), it bounds the error of the supremum found; where it is not small against the
    supremum, the grid cannot tell the supremum (e.g. js at fl(log 2), u* = 4e16)."""
    steps = torch.linspace(-16.0, 16.0, 33, dtype=torch.float64) * 2.0**-30
    values = objective(u_star[:, None] * (1.0 + steps[None, :]))
    return (values.max(dim=1).values - values.min(dim=1).values).nan_to_num(nan=math.inf)


def conjugate_test_points(divergence: Divergence, dtype: torch.dtype) -> torch.Tensor:
    """g_f(v) rounded to dtype for v in linspace(-50, 50, 801), the finite ends of dom f* in dtype and their float
    neighbours."""
    rounded = divergence.activation(torch.linspace(-50.0, 50.0, 801, dtype=dtype))
    ends = torch.tensor([end for end in divergence.conjugate_domain if math.isfinite(end)], dtype=dtype)
    infinity = torch.full_like(ends, math.inf)
    return torch.cat([rounded, ends, torch.nextafter(ends, infinity), torch.nextafter(ends, -infinity)])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conjugate_at_domain_ends_and_rounded_activations_is_the_supremum(
    divergence: Divergence, dtype: torch.dtype
) -> None:
    """At every test point, in t's own dtype: where the brute-force supremum converges f* is finite and equal to
    it (to 1e-10 relative in float64, to float32 rounding in float32, plus 32 times the rounding error of u t - f(u));
    where it does not, f* is +inf or at least the supremum found (a finite f* with its maximiser beyond 1e17)."""
    t = conjugate_test_points(divergence, dtype)
    value = divergence.conjugate(t)
    assert value.dtype == dtype
    t64 = t.double()
    expected, _, noise, converged = brute_force_supremum(divergence, t64)
    rtol = 1e-10 if dtype == torch.float64 else 2.0 * torch.finfo(dtype).eps
    tolerance = rtol * expected.abs() + 1e-12 + 32.0 * noise
    value64 = value.double()
    bad = converged & ~(torch.isfinite(value64) & ((value64 - expected).abs() <= tolerance))
    assert not bad.any(), (t64[bad].tolist()[:5], value64[bad].tolist()[:5], expected[bad].tolist()[:5])
    assert (value64[~converged] >= expected[~converged] - tolerance[~converged]).all()
    assert torch.isfinite(value64[divergence.in_conjugate_domain(t)]).all()


def test_conjugate_at_the_closed_and_rounded_ends() -> None:
    """The ends named in issue 15: neyman f*(1) = 2, alpha:-1 f*(1/2) = 1, and js at fl(log 2) < log 2, where
    f* = -log(2 - e^t) = -log 2 - log(1 - e^{-(log 2 - t)}) with log 2 - fl(log 2) = 2.3190468138462996e-17."""
    for dtype in (torch.float32, torch.float64):
        assert get_divergence("neyman").conjugate(torch.tensor([1.0], dtype=dtype)).item() == 2.0
        assert get_divergence("alpha:-1").conjugate(torch.tensor([0.5], dtype=dtype)).item() == 1.0
    gap = 2.3190468138462996e-17
    js_at_end = -math.log(2.0) - math.log(-math.expm1(-gap))
    assert get_divergence("js").conjugate(f64([math.log(2.0)])).item() == pytest.approx(js_at_end, rel=1e-14)
    assert torch.isposinf(get_divergence("js").conjugate(torch.tensor([math.log(2.0)])))  # fl32(log 2) > log 2
    assert torch.isposinf(get_divergence("neyman").conjugate(f64([math.nextafter(1.0, 2.0)])))
    # alpha:-0.5: f*(t) = 2 - 2 (1.5 (2/3 - t))^{1/3} on t <= 2/3; fl64(2/3) < 2/3 < fl32(2/3)
    below = float(Fraction(2, 3) - Fraction(2.0 / 3.0))
    expected = 2.0 - 2.0 * (1.5 * below) ** (1.0 / 3.0)
    assert get_divergence("alpha:-0.5").conjugate(f64([2.0 / 3.0])).item() == pytest.approx(expected, rel=1e-14)
    assert torch.isposinf(get_divergence("alpha:-0.5").conjugate(torch.tensor([2.0 / 3.0])))


# --- float64 fused forms against 40-digit references ------------------------------------------------------------

mp.mp.dps = 40
FUSED_V = torch.linspace(-50.0, 50.0, 801, dtype=torch.float64)
FUSED_TOLERANCE = 1e-14


def _mp_softplus(v: mp.mpf) -> mp.mpf:
    return mp.log1p(mp.exp(v))


def _alpha_conjugate(a: mp.mpf, t: mp.mpf) -> mp.mpf:
    base = t * (a - 1) + 1
    return -1 / a if base <= 0 else base ** (a / (a - 1)) / a - 1 / a


def reference_activation_and_conjugate(divergence: Divergence) -> tuple[Callable, Callable]:
    """g_f and f* of the paper (Table 6), written again in mpmath, for the composition f*(g_f(v)) in 40 digits."""
    name = divergence.name.partition(":")[0]
    if name == "js-weighted":
        pi = mp.mpf(divergence.pi)
        return (
            lambda v: -pi * mp.log(pi) - _mp_softplus(-v),
            lambda t: (1 - pi) * mp.log((1 - pi) / (1 - pi * mp.exp(t / pi))),
        )
    if name == "alpha":
        a = mp.mpf(divergence.alpha)
        below_one = a < 1
        return (lambda v: 1 / (1 - a) - _mp_softplus(-v) if below_one else v), lambda t: _alpha_conjugate(a, t)

    def one_minus_exp(v: mp.mpf) -> mp.mpf:
        return 1 - mp.exp(-v)

    def jeffrey_conjugate(t: mp.mpf) -> mp.mpf:
        w = mp.lambertw(mp.exp(1 - t)).real
        return w + 1 / w + t - 2

    forms = {
        "tv": (lambda v: mp.tanh(v) / 2, lambda t: t),
        "kl": (lambda v: v, lambda t: mp.exp(t - 1)),
        "reverse-kl": (lambda v: -mp.exp(-v), lambda t: -1 - mp.log(-t)),
        "pearson": (lambda v: v, lambda t: t * t / 4 + t),
        "neyman": (one_minus_exp, lambda t: 2 - 2 * mp.sqrt(1 - t)),
        "hellinger": (one_minus_exp, lambda t: t / (1 - t)),
        "jeffrey": (lambda v: v, jeffrey_conjugate),
        "jeffrey-ratio": (lambda v: v + 1 - mp.exp(-v), jeffrey_conjugate),
        "js": (lambda v: mp.log(2) - _mp_softplus(-v), lambda t: -mp.log(2 - mp.exp(t))),
        "gan": (lambda v: -_mp_softplus(-v), lambda t: -mp.log(1 - mp.exp(t))),
    }
    return forms[name]


def test_fused_form_and_gradient_in_float64_to_1e_14(divergence: Divergence) -> None:
    """f*(g_f(v)) and d/dv f*(g_f(v)) in float64 for v in linspace(-50, 50, 801) against the composition of the
    paper's g_f and f* in 40-digit arithmetic (mpmath; the gradient by mpmath's numerical differentiation): the
    error is at most 1e-14 relative where the reference is above 1 in size and 1e-14 absolute below."""
    activation, conjugate = reference_activation_and_conjugate(divergence)

    def composed(v: mp.mpf) -> mp.mpf:
        return conjugate(activation(v))

    v = FUSED_V.clone().requires_grad_()
    value = divergence.conjugate_of_activation(v)
    (grad,) = torch.autograd.grad(value.sum(), v)
    points = [mp.mpf(x) for x in FUSED_V.tolist()]
    expected = f64([float(composed(x)) for x in points])
    expected_grad = f64([float(mp.diff(composed, x)) for x in points])
    for got, want in ((value.detach(), expected), (grad, expected_grad)):
        error = (got - want).abs() / want.abs().clamp(min=1.0)
        assert error.max().item() <= FUSED_TOLERANCE, (FUSED_V[error.argmax()].item(), error.max().item())
