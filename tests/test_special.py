"""Tests of fgan.special: Lambert W at e^y, log(1 - e^x) and log(softplus(x)), values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch
from torch.testing import assert_close

from fgan.special import lambertw, lambertw_exp, log1mexp, log_lambertw_exp, log_softplus, softplus


def _scipy_lambertw_exp(y: torch.Tensor) -> torch.Tensor:
    """W(e^y) from scipy in float64 (real part of the principal branch)."""
    values = scipy.special.lambertw(np.exp(y.double().numpy())).real
    return torch.from_numpy(values)


# --- Lambert W -------------------------------------------------------------------------------------------------


def test_lambertw_exp_matches_scipy_float64() -> None:
    y = torch.linspace(-700.0, 700.0, 14_001, dtype=torch.float64)
    w = lambertw_exp(y)
    assert w.dtype == torch.float64
    assert_close(w, _scipy_lambertw_exp(y), rtol=1e-12, atol=0.0)


def test_lambertw_exp_near_branch_switch_float64() -> None:
    # The starting point changes form at y = 1; check a dense neighbourhood of it.
    y = torch.linspace(0.9, 1.1, 2001, dtype=torch.float64)
    assert_close(lambertw_exp(y), _scipy_lambertw_exp(y), rtol=1e-12, atol=0.0)


def test_lambertw_exp_satisfies_defining_equation() -> None:
    y = torch.linspace(-50.0, 700.0, 3001, dtype=torch.float64)
    w = lambertw_exp(y)
    assert (w > 0).all()
    assert_close(w + torch.log(w), y, rtol=1e-13, atol=1e-13)


def test_log_lambertw_exp_is_log_of_lambertw_exp() -> None:
    y = torch.linspace(-700.0, 700.0, 1401, dtype=torch.float64)
    expected = torch.log(_scipy_lambertw_exp(y))
    assert_close(log_lambertw_exp(y), expected, rtol=1e-12, atol=1e-12)


def test_lambertw_matches_scipy_float64() -> None:
    x = torch.logspace(-300.0, 300.0, 6001, dtype=torch.float64)
    expected = torch.from_numpy(scipy.special.lambertw(x.numpy()).real)
    assert_close(lambertw(x), expected, rtol=1e-12, atol=0.0)


def test_lambertw_known_values() -> None:
    x = torch.tensor([np.e, 2.0 * np.e**2, 1.0], dtype=torch.float64)
    assert_close(lambertw(x), torch.tensor([1.0, 2.0, 0.5671432904097838], dtype=torch.float64))


def test_lambertw_exp_matches_scipy_float32() -> None:
    # W(e^y) is a normal float32 down to y = -80; above, y runs to 700 since nothing forms e^y.
    y = torch.linspace(-80.0, 700.0, 7801, dtype=torch.float32)
    w = lambertw_exp(y)
    assert w.dtype == torch.float32
    assert torch.isfinite(w).all()
    assert_close(w.double(), _scipy_lambertw_exp(y), rtol=1e-5, atol=0.0)


def test_lambertw_float32_matches_scipy() -> None:
    x = torch.logspace(-30.0, 30.0, 601, dtype=torch.float32)
    expected = torch.from_numpy(scipy.special.lambertw(x.double().numpy()).real)
    assert_close(lambertw(x).double(), expected, rtol=1e-5, atol=0.0)


def test_lambertw_exp_gradcheck() -> None:
    y = torch.tensor([-30.0, -5.0, -1.0, 0.0, 0.5, 1.0, 1.5, 3.0, 20.0, 300.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambertw_exp, (y.requires_grad_(),))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_lambertw_exp_gradient_is_w_over_one_plus_w(dtype: torch.dtype) -> None:
    y = torch.linspace(-80.0, 700.0, 1001, dtype=dtype, requires_grad=True)
    w = lambertw_exp(y)
    (grad,) = torch.autograd.grad(w.sum(), y)
    expected = (w / (1.0 + w)).detach()
    rtol = 1e-12 if dtype == torch.float64 else 1e-5
    assert_close(grad, expected, rtol=rtol, atol=0.0)


def test_lambertw_gradient() -> None:
    # dW/dx = W / (x (1 + W))
    x = torch.logspace(-5.0, 5.0, 101, dtype=torch.float64, requires_grad=True)
    w = lambertw(x)
    (grad,) = torch.autograd.grad(w.sum(), x)
    assert_close(grad, (w / (x * (1.0 + w))).detach(), rtol=1e-12, atol=0.0)


# --- log1mexp --------------------------------------------------------------------------------------------------


def _log1mexp_grid() -> torch.Tensor:
    near = -torch.logspace(-10.0, 0.0, 2001, dtype=torch.float64)
    far = torch.linspace(-50.0, -1.0, 2001, dtype=torch.float64)
    return torch.cat([near, far])


def test_log1mexp_matches_numpy() -> None:
    x = _log1mexp_grid()
    # log(1 - e^x), written with expm1 so the reference itself is accurate near 0
    expected = torch.from_numpy(np.log(-np.expm1(x.numpy())))
    assert_close(log1mexp(x), expected, rtol=1e-12, atol=1e-15)


def test_log1mexp_matches_naive_formula_away_from_zero() -> None:
    x = torch.linspace(-30.0, -0.1, 500, dtype=torch.float64)
    expected = torch.from_numpy(np.log(1.0 - np.exp(x.numpy())))
    assert_close(log1mexp(x), expected, rtol=1e-10, atol=1e-15)


def test_log1mexp_keeps_tiny_tail_values() -> None:
    # For x = -40, log(1 - e^x) = -e^-40 ~ -4.2e-18: log1p keeps it, a naive log(1 - e^x) rounds it to 0.
    x = torch.tensor([-40.0], dtype=torch.float64)
    assert_close(log1mexp(x), torch.tensor([-np.exp(-40.0)], dtype=torch.float64), rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_log1mexp_value_and_gradient_finite(dtype: torch.dtype) -> None:
    x = _log1mexp_grid().to(dtype)
    x = x[x < 0].requires_grad_()
    value = log1mexp(x)
    (grad,) = torch.autograd.grad(value.sum(), x)
    assert torch.isfinite(value).all()
    assert torch.isfinite(grad).all()
    # d/dx log(1 - e^x) = -1 / expm1(-x)
    expected = (-1.0 / torch.expm1(-x)).detach()
    assert_close(grad, expected, rtol=1e-10 if dtype == torch.float64 else 1e-4, atol=1e-12)


# --- log_softplus ----------------------------------------------------------------------------------------------


def test_log_softplus_matches_reference_float64() -> None:
    x = torch.linspace(-750.0, 700.0, 145_001, dtype=torch.float64)
    expected = torch.log(torch.log1p(torch.exp(x)))
    # Where e^x is subnormal (x < -708) the reference itself loses digits; compare where it is accurate.
    finite = torch.isfinite(expected) & (x > -708.0)
    assert finite.sum() > 140_000
    # fgan.special.softplus keeps log1p(e^x) up to x = 40 in float64 (torch's own switches to x at 20, ~e^-20 off)
    assert_close(log_softplus(x)[finite], expected[finite], rtol=1e-14, atol=1e-15)


def test_log_softplus_tail_switch_is_continuous() -> None:
    x = torch.tensor([-15.0 - 1e-9, -15.0, -15.0 + 1e-9], dtype=torch.float64)
    expected = torch.log(torch.log1p(torch.exp(x)))
    assert_close(log_softplus(x), expected, rtol=1e-14, atol=0.0)


def test_log_softplus_far_tail_is_x() -> None:
    # Where softplus underflows, log(softplus(x)) = x - e^x/2 + ..., i.e. x to working precision.
    x = torch.tensor([-800.0, -1000.0, -1e5], dtype=torch.float64)
    assert_close(log_softplus(x), x, rtol=1e-15, atol=0.0)


def test_log_softplus_float32_finite_with_finite_gradient() -> None:
    x = torch.linspace(-1000.0, 50.0, 10_501, dtype=torch.float32, requires_grad=True)
    value = log_softplus(x)
    (grad,) = torch.autograd.grad(value.sum(), x)
    assert value.dtype == torch.float32
    assert torch.isfinite(value).all()
    assert torch.isfinite(grad).all()
    # d/dx log(softplus(x)) = sigmoid(x) / softplus(x), which tends to 1 as x -> -inf
    xd = x.detach().double()
    expected = torch.sigmoid(xd) / torch.nn.functional.softplus(xd)
    expected = torch.where(xd < -700.0, torch.ones_like(xd), expected)
    assert_close(grad.double(), expected, rtol=1e-4, atol=1e-6)
    assert_close(value[:100].double(), xd[:100], rtol=1e-6, atol=0.0)


# --- softplus ---------------------------------------------------------------------------------------------------


def test_softplus_float64_is_exact_beyond_torchs_threshold() -> None:
    x = torch.linspace(-60.0, 60.0, 1201, dtype=torch.float64)
    expected = torch.logaddexp(x, torch.zeros_like(x))
    assert_close(softplus(x), expected, rtol=1e-15, atol=0.0)
    assert (torch.nn.functional.softplus(x[x > 20.0]) - expected[x > 20.0]).abs().max() > 1e-10  # torch's is not


def test_softplus_float32_is_torchs_bit_for_bit() -> None:
    x = torch.linspace(-60.0, 60.0, 12001, dtype=torch.float32)
    assert torch.equal(softplus(x), torch.nn.functional.softplus(x))
