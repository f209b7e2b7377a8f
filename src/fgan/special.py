"""Special functions that the divergences need, written to be stable and differentiable in torch.

* :func:`lambertw_exp`, :func:`log_lambertw_exp` -- ``W(e^y)`` and its log, the principal branch of Lambert W
  at ``e^y``, computed in log space so that ``e^y`` never overflows; the gradient is the exact implicit one.
* :func:`log1mexp` -- ``log(1 - e^x)`` for ``x < 0`` (Maechler's two-branch form).
* :func:`softplus` -- ``log(1 + e^x)`` to the precision of x's dtype (torch's softplus is the identity above 20,
  off by ``e^{-20}`` relative to 20, which float64 resolves).
* :func:`log_softplus` -- ``log(softplus(x)) = log(log(1 + e^x))``, finite for very negative ``x``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

_NEWTON_STEPS = 12


def log_lambertw_exp(y: Tensor) -> Tensor:
    """``log W(e^y)``: the solution ``s`` of ``e^s + s = y`` (so ``W(e^y) = e^s``).

    Newton's method on ``s = log w`` (``e^s + s = y``, convex and increasing in ``s``, so it converges from any
    start) runs without autograd; one last Newton step is taken with autograd on. At the root the Newton map has
    zero derivative in ``s``, so that step carries exactly the implicit derivative
    ``dW(e^y)/dy = W / (1 + W)`` and nothing of the iterations. First derivatives are exact; second derivatives
    (``create_graph=True``) are not.
    """
    with torch.no_grad():
        # Starting points: W(e^y) ~ e^y for small y; W(e^y) ~ y - log y for large y.
        large = y > 1.0
        y_large = torch.where(large, y, torch.full_like(y, 2.0))
        s = torch.where(large, torch.log(y_large - torch.log(y_large)), y - torch.exp(torch.clamp(y, max=1.0)))
        for _ in range(_NEWTON_STEPS):
            w = torch.exp(s)
            s = s - (w + s - y) / (w + 1.0)
    w = torch.exp(s)
    return s - (w + s - y) / (w + 1.0)  # differentiable step: ds/dy = 1 / (1 + W)


def lambertw_exp(y: Tensor) -> Tensor:
    """``W(e^y)``, the solution ``w > 0`` of ``w + log(w) = y``; see :func:`log_lambertw_exp`."""
    return torch.exp(log_lambertw_exp(y))


def lambertw(x: Tensor) -> Tensor:
    """Principal branch ``W(x)`` for ``x > 0`` (``W(x) e^{W(x)} = x``), differentiable."""
    return lambertw_exp(torch.log(x))


def log1mexp(x: Tensor) -> Tensor:
    """``log(1 - e^x)`` for ``x < 0``: ``log(-expm1(x))`` near 0, ``log1p(-e^x)`` below ``-log 2``."""
    near_zero = x > -math.log(2.0)
    x_near = torch.where(near_zero, x, torch.full_like(x, -1.0))
    x_far = torch.where(near_zero, torch.full_like(x, -1.0), x)
    return torch.where(near_zero, torch.log(-torch.expm1(x_near)), torch.log1p(-torch.exp(x_far)))


#: Where ``log(1 + e^x) = x + log1p(e^{-x})`` becomes x to the dtype's precision (``e^{-x}`` below its epsilon
#: relative to x); torch's default of 20 for every dtype, float32 and below.
_SOFTPLUS_IDENTITY_ABOVE: dict[torch.dtype, float] = {torch.float64: 40.0}
#: Where :func:`log_softplus` switches to ``x - e^x / 2`` (error about ``e^{2x}/5``, below the dtype's epsilon).
_LOG_SOFTPLUS_TAIL_BELOW: dict[torch.dtype, float] = {torch.float64: -20.0}


def softplus(x: Tensor) -> Tensor:
    """``log(1 + e^x)``: torch's softplus with its switch to the identity at 40 in float64 (``e^{-40}/40`` is
    below float64's epsilon) and at torch's 20 otherwise (the same bits as ``F.softplus`` in float32)."""
    return F.softplus(x, threshold=_SOFTPLUS_IDENTITY_ABOVE.get(x.dtype, 20.0))


def log_softplus(x: Tensor) -> Tensor:
    """``log(log(1 + e^x))``. Below ``x = -15`` (``-20`` in float64) it uses ``x - e^x / 2`` (error about
    ``e^{2x}/5``), so it stays finite where ``softplus(x)`` underflows."""
    switch = _LOG_SOFTPLUS_TAIL_BELOW.get(x.dtype, -15.0)
    tail = x < switch
    x_tail = torch.clamp(x, max=switch)
    x_body = torch.clamp(x, min=switch)
    return torch.where(tail, x_tail - 0.5 * torch.exp(x_tail), torch.log(softplus(x_body)))
