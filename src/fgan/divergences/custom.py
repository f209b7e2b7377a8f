r"""Custom f-divergences: give a convex ``f`` with ``f(1) = 0``, and fgan derives the rest numerically.

For a convex ``f`` on ``u > 0`` the Fenchel conjugate ``f*(t) = sup_{u >= 0} [u t - f(u)]`` is found from the
stationary point ``u*(t)``, the solution of ``f'(u) = t`` (``f'`` is non-decreasing, so the solution is found by
bisection in ``log u``):

* ``f'`` comes from torch.autograd, so f only has to be a differentiable torch function of u.
* dom f* is ``t < L`` with ``L = lim_{u->inf} f'(u)`` (taken open at L); L is estimated from f' at
  ``u = 1e4, 1e6, 1e8, 1e10``, extrapolated geometrically, and is ``+inf`` when f' keeps growing.
* Below ``f'(0+)`` the supremum sits at ``u = 0`` and ``f*(t) = -f(0+)``.
* ``d f*/dt = u*(t)`` (envelope theorem), so the gradient is exact without differentiating the solver.
* The activation is the identity when ``L = +inf`` and ``g_f(v) = L - softplus(-v) = L + logsigmoid(v)`` otherwise.

``get_divergence("f:EXPR")`` builds one from the f that :func:`fgan.divergences.expression.parse_f_expression`
compiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from fgan.divergences.base import Divergence
from fgan.errors import UsageError

_INF = math.inf
_F64 = torch.float64


class CustomDivergence(Divergence):
    r"""An f-divergence from a user-given convex f with f(1) = 0; conjugate, domain and activation are derived.

    Formulas::

        f(u)           = the given f (a torch function of u > 0, elementwise and differentiable)
        f'(u)          = by torch.autograd;  f'(1) = f_prime_one
        L              = lim_{u->inf} f'(u)  (estimated numerically; +inf if f' is unbounded)
        f*(t)          = u* t - f(u*)  with f'(u*) = t  on dom f* = t < L;  -f(0+) where t <= f'(0+)
        d f*/dt        = u*(t)  (envelope theorem)
        g_f(v)         = v if L = +inf, else L - softplus(-v) = L + logsigmoid(v)
        f*(g_f(v))     = the conjugate at g_f(v) (no closed fused form; see ``conjugate_of_activation``)
        T*(r)          = f'(r),  ratio_from_critic(t) = u*(t)

    ``u*`` is found per element by bisection in log u over ``[u_min, u_max] = [1e-12, 1e12]`` (in float64, without
    autograd) followed by a few safeguarded Newton steps. Beyond the bracket the answer saturates: for
    ``t <= f'(u_min)`` the better of ``u = 0`` (when f(0+) is finite) and ``u = u_min`` is taken, and for
    ``t >= f'(u_max)`` the value is ``u_max t - f(u_max)``, a lower bound of f*(t) with gradient ``u_max``. Each
    call costs about 50 evaluations of f and f' on the whole tensor.

    Construction checks, in float64, that f(1) = 0 (within 1e-9) and that f is finite and convex on a log-spaced
    grid of u in [1e-6, 1e6]; it raises UsageError otherwise. Convexity outside that grid is not checked.

    Attributes (besides those of :class:`Divergence`):
        slope_at_infinity: L, the upper end of dom f* (``conjugate_domain[1]``).
        f_at_zero: f(0+), ``inf`` when f blows up at 0.
        slope_at_u_min, slope_at_u_max: f' at the ends of the search bracket.
    """

    u_min: float = 1e-12
    u_max: float = 1e12
    bisection_steps: int = 50
    newton_steps: int = 3

    def __init__(self, f: Callable[[Tensor], Tensor], name: str = "custom", formula: str = "") -> None:
        if not callable(f):
            raise UsageError(f"a custom divergence needs a callable f, got {type(f).__name__}")
        self._f = f
        self.name = name
        self.formula_f = formula or "custom f"
        self._check_f()
        self.f_prime_one = float(self._slope(torch.ones(1, dtype=_F64))[0])
        self.slope_at_infinity = self._estimate_slope_at_infinity()
        self.f_at_zero = self._estimate_f_at_zero()
        self.slope_at_u_min, self.slope_at_u_max = (
            float(s) for s in self._slope(torch.tensor([self.u_min, self.u_max], dtype=_F64))
        )
        limit = self.slope_at_infinity
        self.conjugate_domain = (-_INF, limit)
        self.formula_activation = "v" if limit == _INF else f"{limit:.6g} - log(1 + e^{{-v}})"
        self.formula_conjugate = "u* t - f(u*) with f'(u*) = t (numeric)"
        self.formula_fused = "f*(g_f(v)) (numeric)"

    def __repr__(self) -> str:
        return f"<CustomDivergence {self.name}>"

    # --- f and its derivatives -------------------------------------------------------------------------------

    def f(self, u: Tensor) -> Tensor:
        value = torch.as_tensor(self._f(u))
        if value.shape != u.shape:  # an f that does not depend on u gives a scalar
            value = value + torch.zeros_like(u)
        return value

    def _slope(self, u: Tensor, create_graph: bool = False) -> Tensor:
        """f'(u) by autograd; differentiable in u when ``create_graph`` and u requires grad."""
        with torch.enable_grad():
            x = u if (create_graph and u.requires_grad) else u.detach().requires_grad_(True)
            y = self.f(x)
            if not y.requires_grad:
                return torch.zeros_like(u)
            (grad,) = torch.autograd.grad(y.sum(), x, create_graph=create_graph, allow_unused=True)
        return torch.zeros_like(u) if grad is None else grad

    def _slope_and_curvature(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """f'(u) and f''(u) by autograd (detached); f'' is 0 where f' does not depend on u."""
        with torch.enable_grad():
            x = u.detach().requires_grad_(True)
            y = self.f(x)
            if not y.requires_grad:
                return torch.zeros_like(u), torch.zeros_like(u)
            # allow_unused: None for an input y does not depend on (torch's stubs omit the None)
            grads: tuple[Tensor | None, ...] = torch.autograd.grad(y.sum(), x, create_graph=True, allow_unused=True)
            (grad,) = grads
            if grad is None:
                return torch.zeros_like(u), torch.zeros_like(u)
            if not grad.requires_grad:
                return grad.detach(), torch.zeros_like(u)
            (curv,) = torch.autograd.grad(grad.sum(), x, allow_unused=True)
        return grad.detach(), torch.zeros_like(u) if curv is None else curv.detach()

    # --- checks and limits at construction ---------------------------------------------------------------------

    def _check_f(self) -> None:
        one = self.f(torch.ones(1, dtype=_F64))
        f_one = float(one.reshape(-1)[0])
        if not abs(f_one) <= 1e-9:
            raise UsageError(
                f"f(1) = {f_one:.6g}, but an f-divergence needs f(1) = 0 (subtract the constant f(1) from f)"
            )
        u = torch.logspace(-6, 6, 1201, dtype=_F64)
        values = self.f(u)
        bad = ~torch.isfinite(values)
        if bad.any():
            i = int(bad.nonzero()[0, 0])
            raise UsageError(
                f"f is not finite at u = {u[i].item():.6g} (f(u) = {values[i].item()}); it must be on u > 0"
            )
        # convexity: the slopes of the chords between neighbouring grid points must not decrease
        du = u[1:] - u[:-1]
        slopes = (values[1:] - values[:-1]) / du
        drop = slopes[1:] - slopes[:-1]
        scale = torch.maximum(
            torch.maximum(values[:-2].abs(), values[1:-1].abs()),
            torch.maximum(values[2:].abs(), u[1:-1] * slopes[1:].abs()),
        )
        tolerance = 1e-6 * (slopes[1:].abs() + slopes[:-1].abs()) + 1e-11 * (scale + 1.0) * (
            1.0 / du[1:] + 1.0 / du[:-1]
        )
        violation = drop < -tolerance
        if violation.any():
            i = int(torch.argmin(torch.where(violation, drop / tolerance, torch.zeros_like(drop))))
            raise UsageError(
                f"f is not convex near u = {u[i + 1].item():.6g}: its slope falls from {slopes[i].item():.6g} to "
                f"{slopes[i + 1].item():.6g}"
            )

    @staticmethod
    def _geometric_limit(values: list[float]) -> float:
        """The limit of a monotone sequence sampled at geometrically spaced points; ``inf`` if it diverges.

        The last two increments d2, d3 fix a ratio q = d3/d2 and the tail d3 q / (1 - q) is added (exact for
        ``L - c x^p``). A sequence whose increments do not shrink (q close to 1 or above, e.g. log growth) diverges.
        """
        if not all(math.isfinite(v) for v in values):
            return _INF
        last = values[-1]
        d2, d3 = values[-2] - values[-3], values[-1] - values[-2]
        if abs(d3) <= 1e-12 * max(1.0, abs(last)):
            return last
        if d2 <= 0.0 or d3 <= 0.0:  # rounding noise around a flat tail, or not monotone
            return last
        q = d3 / d2
        if q >= 1.0 - 1e-3:
            return _INF
        return last + d3 * q / (1.0 - q)

    def _estimate_slope_at_infinity(self) -> float:
        slopes = self._slope(torch.tensor([1e4, 1e6, 1e8, 1e10], dtype=_F64)).tolist()
        if any(math.isfinite(s) and abs(s) > 1e6 for s in slopes):
            return _INF
        limit = self._geometric_limit(slopes)
        if not math.isfinite(limit) or abs(limit) > 1e6:
            return _INF
        return _round_limit(limit)

    def _estimate_f_at_zero(self) -> float:
        at_zero = float(self.f(torch.zeros(1, dtype=_F64))[0])
        if math.isfinite(at_zero):
            return at_zero
        # f(0) itself is undefined in the formula (e.g. 0 log 0): take the limit; f is monotone near 0 (convex)
        values = self.f(torch.tensor([1e-10, 1e-20, 1e-30], dtype=_F64)).tolist()
        direction = 1.0 if values[-1] >= values[0] else -1.0
        limit = self._geometric_limit([direction * v for v in values])
        return _round_limit(direction * limit) if math.isfinite(limit) else _INF

    # --- the conjugate ------------------------------------------------------------------------------------------

    def _argmax(self, t: Tensor, gap: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``u*(t)`` and ``f*(t) = u* t - f(u*)`` in float64, without autograd.

        With ``gap`` given, the target is ``t = L - gap`` and the comparisons use the gap, which keeps t apart from
        L even where ``L - gap`` rounds to L.
        """
        limit = self.slope_at_infinity

        def below(slope: Tensor) -> Tensor:
            return slope < t if gap is None else (limit - slope) > gap

        with torch.no_grad():
            lo = torch.full_like(t, math.log(self.u_min))
            hi = torch.full_like(t, math.log(self.u_max))
            for _ in range(self.bisection_steps):
                mid = 0.5 * (lo + hi)
                slope = self._slope(torch.exp(mid))
                pole = torch.where(mid > 0, torch.full_like(mid, _INF), torch.full_like(mid, -_INF))
                slope = torch.where(torch.isnan(slope), pole, slope)
                go_up = below(slope)
                lo = torch.where(go_up, mid, lo)
                hi = torch.where(go_up, hi, mid)
            x = 0.5 * (lo + hi)
            for _ in range(self.newton_steps):
                slope, curvature = self._slope_and_curvature(torch.exp(x))
                residual = slope - t if gap is None else (slope - limit) + gap
                step = residual / (curvature * torch.exp(x))
                x_new = x - step
                ok = torch.isfinite(x_new) & (x_new >= lo) & (x_new <= hi)
                x = torch.where(ok, x_new, x)
            u_star = torch.exp(x)
            # beyond the bracket: at the top keep u_max; at the bottom the better of u = 0 and u = u_min
            at_top = below(torch.full_like(t, self.slope_at_u_max))
            at_bottom = ~below(torch.full_like(t, self.slope_at_u_min))
            u_star = torch.where(at_top, torch.full_like(t, self.u_max), u_star)
            u_star = torch.where(at_bottom, torch.full_like(t, self.u_min), u_star)
            value = u_star * t - self.f(u_star)
            if math.isfinite(self.f_at_zero):
                zero_better = at_bottom & (-self.f_at_zero >= value)
                u_star = torch.where(zero_better, torch.zeros_like(t), u_star)
                value = torch.where(zero_better, torch.full_like(t, -self.f_at_zero), value)
        return u_star, value

    @staticmethod
    def _envelope(t: Tensor, u_star: Tensor, value: Tensor) -> Tensor:
        """``value`` in t's dtype, with gradient ``u*`` with respect to t (first derivatives only)."""
        out = value.to(t.dtype)
        if t.requires_grad:
            out = out + u_star.to(t.dtype) * (t - t.detach())
        return out

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        u_star, value = self._argmax(t.detach().to(_F64))
        return self._envelope(t, u_star, value)

    # --- the f-GAN interface -------------------------------------------------------------------------------------

    def activation(self, v: Tensor) -> Tensor:
        if self.slope_at_infinity == _INF:
            return v
        return self.slope_at_infinity + F.logsigmoid(v)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        """f*(g_f(v)): no closed fused form, the conjugate is solved at g_f(v).

        For a finite L the solver works with the gap ``softplus(-v) = L - g_f(v)`` in float64 rather than with
        g_f(v) itself, so the result stays finite (and equals the composition where that is finite) even where
        ``L + logsigmoid(v)`` rounds to L.
        """
        if self.slope_at_infinity == _INF:
            return self.conjugate(v)
        t = self.activation(v)
        v64 = v.detach().to(_F64)
        u_star, value = self._argmax(self.slope_at_infinity + F.logsigmoid(v64), gap=F.softplus(-v64))
        return self._envelope(t, u_star, value)

    def optimal_critic(self, r: Tensor) -> Tensor:
        return self._slope(r, create_graph=r.requires_grad)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        """u*(t), the maximiser of u t - f(u); ``+inf`` outside dom f* (t >= L)."""
        t64 = t.detach().to(_F64)
        inside = self.in_conjugate_domain(t64)
        safe = torch.where(inside, t64, torch.full_like(t64, min(self.f_prime_one, self.slope_at_infinity - 1.0)))
        u_star, _ = self._argmax(safe)
        return torch.where(inside, u_star, torch.full_like(u_star, _INF)).to(t.dtype)


def _round_limit(value: float) -> float:
    """A numerically estimated limit, rounded to 10 significant digits and snapped to 0 when below 1e-10."""
    if abs(value) < 1e-10:
        return 0.0
    return float(f"{value:.10g}")
