r"""The base class of an f-divergence: what every divergence provides and what a new one implements.

An f-divergence is ``D_f(P||Q) = ∫ q(x) f(p(x)/q(x)) dx`` for a convex ``f`` with ``f(1) = 0``. Its Fenchel
conjugate ``f*(t) = sup_u [u t - f(u)]`` gives the variational lower bound

    D_f(P||Q) >= E_P[T(x)] - E_Q[f*(T(x))],   tight at T*(x) = f'(p(x)/q(x)).

In f-GAN the critic is ``T = g_f(V(x))`` with an unconstrained network ``V`` and an output activation ``g_f`` that
maps R into dom f*. A subclass implements, on torch tensors (float32 and float64, autograd-safe), ``f(u)``,
``activation(v)`` (g_f), ``conjugate_in_domain(t)`` (f* on dom f*), ``conjugate_of_activation(v)`` (f*(g_f(v)) in
a stable fused form), ``optimal_critic(r)`` (T* = f'(r)) and, where f' is invertible, ``ratio_from_critic(t)``;
it sets the formula strings, ``conjugate_domain`` and ``f_prime_one``. The base class adds ``conjugate(t)``
(``+inf`` outside dom f*), the domain mask and the docstring of formulas.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from fgan.divergences.recommendations import Recommendation, recommendation_for

_INF = math.inf
_F64 = torch.float64


def interval_text(low: float, high: float, closed: bool = False) -> str:
    """An interval as text: ``R``, ``t < b`` (``t ≤ b`` closed), ``t > a``, ``[a, b]`` (closed) or ``(a, b)``."""
    if low == -_INF and high == _INF:
        return "R"
    if low == -_INF:
        return f"t {'≤' if closed else '<'} {high:.4g}"
    if high == _INF:
        return f"t {'≥' if closed else '>'} {low:.4g}"
    return f"[{low:.4g}, {high:.4g}]" if closed else f"({low:.4g}, {high:.4g})"


def number_text(value: float) -> str:
    """``value`` as the shortest text that reads back as exactly ``value``: ``0.5``, ``2``, ``0.1234567``,
    ``0.99999999`` (``:g`` where it round-trips, else Python's repr): names and messages of parametric divergences
    quote the parameter that runs, never a rounding of it."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


class Divergence:
    """Base class of an f-divergence. Subclasses set the formula strings and implement the methods.

    Attributes:
        name: the canonical name, as :func:`fgan.divergences.get_divergence` accepts it.
        f_prime_one: f'(1) as a float.
        conjugate_domain: ``(low, high)``, the interval dom f* (ends excluded unless ``domain_closed``).
        domain_closed: whether the finite ends of dom f* belong to it (f* is finite there).
        domain_end_error: ``b - high`` for the true upper end b of dom f* when b is not a float (``log 2 -
            fl(log 2)`` for js), so that the float next to an irrational end falls on the correct side of it.
        f_domain_low: the smallest u at which f is taken to be defined (the conjugate is a supremum over
            ``u >= f_domain_low``). 0 for all but Pearson, whose f the paper extends to all of R.
        invertible_critic: whether f' is invertible, so that ``ratio_from_critic`` exists.
        default_critic_penalty: the weight λ of the penalty λ/2 (E_P[V²] + E_Q[V²]) on the raw critic output that
            training uses unless told otherwise; 0 except for divergences whose activation saturates.
    """

    name: str = ""
    formula_f: str = ""
    formula_activation: str = ""
    formula_conjugate: str = ""
    formula_fused: str = ""
    f_prime_one: float = 0.0
    conjugate_domain: tuple[float, float] = (-_INF, _INF)
    domain_closed: bool = False
    domain_end_error: float = 0.0
    #: dom f* in words, for classes whose domain depends on a parameter (else it is written from conjugate_domain).
    formula_domain: str = ""
    f_domain_low: float = 0.0
    invertible_critic: bool = True
    default_critic_penalty: float = 0.0

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.formula_f:
            cls.__doc__ = (cls.__doc__ or "").rstrip() + (
                "\n\n    Formulas::\n\n"
                f"        f(u)           = {cls.formula_f}\n"
                f"        g_f(v)         = {cls.formula_activation}\n"
                f"        f*(t)          = {cls.formula_conjugate}   on dom f* = {cls.domain_formula()}\n"
                f"        f*(g_f(v))     = {cls.formula_fused}\n"
                f"        f'(1)          = {cls.f_prime_one:g}\n"
            )

    @classmethod
    def domain_formula(cls) -> str:
        """dom f* of the class as text: ``formula_domain`` when set, else written from ``conjugate_domain``."""
        return cls.formula_domain or interval_text(*cls.conjugate_domain, cls.domain_closed)

    def domain_text(self) -> str:
        """dom f* of this divergence (its parameters included) as text: ``R``, ``t < b``, ``[a, b]``, ..."""
        return interval_text(*self.conjugate_domain, self.domain_closed)

    def __repr__(self) -> str:
        return f"<Divergence {self.name}>"

    def f(self, u: Tensor) -> Tensor:
        """The generator function f(u) of ``D_f(P||Q) = E_Q[f(p/q)]``."""
        raise NotImplementedError

    def activation(self, v: Tensor) -> Tensor:
        """The output activation g_f: R -> dom f*."""
        raise NotImplementedError

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        """f*(t) for t in dom f*, the method a new divergence implements (``conjugate`` puts ``+inf`` outside).

        :meth:`conjugate` calls it with float64 points of dom f* only; near a finite upper end b write it in terms
        of :meth:`distance_to_end` (``b - t``, exact there) rather than of t, so that it stays accurate at the end.
        """
        raise NotImplementedError

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        """f*(g_f(v)) in a stable fused form."""
        raise NotImplementedError

    def optimal_critic(self, r: Tensor) -> Tensor:
        """T*(x) = f'(r) for the density ratio r = p(x)/q(x)."""
        raise NotImplementedError

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        """The density ratio r with f'(r) = t (the inverse of ``optimal_critic``)."""
        raise NotImplementedError(f"f' of {self.name} is not invertible: no density ratio from its critic")

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        """w(v) = f*''(g_f(v)) g_f'(v)², the weight of ||∇_x V||² in the noise-convolution regulariser of Roth et al.
        (2017): E_Q[f*''(T) ||∇_x T||²] with T = g_f(V) is E_Q[w(V) ||∇_x V||²].

        This generic form takes both derivatives by autograd (f* in float64); the closed forms override it with
        formulas that stay finite where g_f saturates. Differentiable in v.
        """
        with torch.enable_grad():
            leaf = not v.requires_grad
            v = v.detach().requires_grad_(True) if leaf else v
            t = self.activation(v)
            (slope,) = torch.autograd.grad(t.sum(), v, create_graph=True)
            wide = t.to(_F64)
            (first,) = torch.autograd.grad(self.conjugate(wide).sum(), wide, create_graph=True)
            second = (
                torch.autograd.grad(first.sum(), wide, create_graph=True)[0]
                if first.requires_grad
                else torch.zeros_like(wide)
            )
            weight = torch.nan_to_num(second.to(v.dtype) * slope.square(), nan=0.0, posinf=0.0)
        return weight.detach() if leaf else weight

    def curvature_weights(self, critic_real: Tensor, critic_fake: Tensor) -> tuple[Tensor, Tensor]:
        """The per-sample weights (w_P(v^P), w_Q(v^Q)) of Roth et al.'s regulariser
        Ω = E_P[w_P(V) ||∇_x V||²] + E_Q[w_Q(V) ||∇_x V||²]: by default (0, :meth:`conjugate_curvature`), their
        Ω_f(Q) = E_Q[f*''(T) ||∇_x T||²]. A divergence may move part of the weight onto P by the optimality condition
        p = q f*'(T*) (E_Q[f*'(T*) h] = E_P[h]), as the GAN's symmetric form does."""
        return torch.zeros_like(critic_real), self.conjugate_curvature(critic_fake)

    @property
    def recommended_stabilizer(self) -> Recommendation:
        """The stabilisers (and weights) ``fgan train`` uses with this divergence by default (the table of
        :mod:`fgan.divergences.recommendations`; plain Algorithm 1 for a divergence not in it)."""
        return recommendation_for(self.name)

    def distance_to_end(self, t: Tensor) -> Tensor:
        """``b - t`` for the upper end ``b = high + domain_end_error`` of dom f*, in t's dtype.

        ``high - t`` is exact for t within a factor 2 of ``high`` (Sterbenz), so the distance to the end keeps all
        its digits where t itself has rounded to (or next to) the end.
        """
        return (self.conjugate_domain[1] - t) + self.domain_end_error

    def in_conjugate_domain(self, t: Tensor) -> Tensor:
        """Boolean mask of the points of t inside dom f*, decided exactly (in float64, against the true end)."""
        t = t.to(_F64)
        low = self.conjugate_domain[0]
        to_end = self.distance_to_end(t)
        if self.domain_closed:
            return (t >= low) & (to_end >= 0.0)
        return (t > low) & (to_end > 0.0)

    def conjugate(self, t: Tensor) -> Tensor:
        """The Fenchel conjugate f*(t) = sup_u [u t - f(u)]; ``+inf`` outside dom f*; in t's dtype.

        Evaluated in float64 (a float32 t is an exact float64 number), so that f* stays correct up to the ends of
        dom f*. Points outside the domain are replaced by a point inside before the formula is applied, so
        gradients stay finite (and zero) there.
        """
        wide = t.to(_F64)
        inside = self.in_conjugate_domain(wide)
        low, high = self.conjugate_domain
        safe_point = (
            0.0
            if low < 0.0 < high or (self.domain_closed and low <= 0.0 <= high)
            else (high - 1.0 if high < _INF else low + 1.0)
        )
        t_safe = torch.where(inside, wide, torch.full_like(wide, safe_point))
        return torch.where(inside, self.conjugate_in_domain(t_safe), torch.full_like(wide, _INF)).to(t.dtype)
