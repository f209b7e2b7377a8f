r"""The f-divergences of the f-GAN paper (Nowozin, Cseke and Tomioka 2016, Tables 1, 2 and 6).

An f-divergence is ``D_f(P||Q) = ∫ q(x) f(p(x)/q(x)) dx`` for a convex ``f`` with ``f(1) = 0``. Its Fenchel
conjugate ``f*(t) = sup_u [u t - f(u)]`` gives the variational lower bound

    D_f(P||Q) >= E_P[T(x)] - E_Q[f*(T(x))],   tight at T*(x) = f'(p(x)/q(x)).

In f-GAN the critic is ``T = g_f(V(x))`` with an unconstrained network ``V`` and an output activation ``g_f`` that
maps R into dom f*. Every divergence here provides, on torch tensors (float32 and float64, autograd-safe):

* ``f(u)``, ``conjugate(t)`` (f*, ``+inf`` outside dom f*), ``activation(v)`` (g_f),
* ``conjugate_of_activation(v)``: f*(g_f(v)) composed analytically into a numerically stable form,
* ``f_prime_one`` (f'(1), the critic value at which real and fake are indistinguishable),
* ``optimal_critic(r)`` (T* = f'(r) for a density ratio r) and ``ratio_from_critic(t)`` (the inverse of f').

Names: ``tv, kl, reverse-kl, pearson, neyman, hellinger, jeffrey, js, gan, js-weighted:PI, alpha:A``, and
``f:EXPR`` for a custom convex f given as an expression in u (e.g. ``f:u*log(u)``; conjugate, domain and activation
are derived numerically, see :mod:`fgan.custom`); :func:`get_divergence` parses them and :func:`register_divergence`
adds your own.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from fgan.special import log1mexp, log_lambertw_exp, log_softplus

_INF = math.inf


def interval_text(low: float, high: float, closed: bool = False) -> str:
    """An interval as text: ``R``, ``t < b``, ``t > a``, ``[a, b]`` (closed) or ``(a, b)``."""
    if low == -_INF and high == _INF:
        return "R"
    if low == -_INF:
        return f"t < {high:.4g}"
    if high == _INF:
        return f"t > {low:.4g}"
    return f"[{low:.4g}, {high:.4g}]" if closed else f"({low:.4g}, {high:.4g})"


class Divergence:
    """Base class of an f-divergence. Subclasses set the formula strings and implement the methods.

    Attributes:
        name: the canonical name, as :func:`get_divergence` accepts it.
        f_prime_one: f'(1) as a float.
        conjugate_domain: ``(low, high)``, the interval dom f* (ends excluded unless ``domain_closed``).
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
    #: dom f* in words, for classes whose domain depends on a parameter (else it is written from conjugate_domain).
    formula_domain: str = ""
    f_domain_low: float = 0.0
    invertible_critic: bool = True
    default_critic_penalty: float = 0.0

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.formula_f:
            domain = cls.formula_domain or cls._domain_text()
            cls.__doc__ = (cls.__doc__ or "").rstrip() + (
                "\n\n    Formulas::\n\n"
                f"        f(u)           = {cls.formula_f}\n"
                f"        g_f(v)         = {cls.formula_activation}\n"
                f"        f*(t)          = {cls.formula_conjugate}   on dom f* = {domain}\n"
                f"        f*(g_f(v))     = {cls.formula_fused}\n"
                f"        f'(1)          = {cls.f_prime_one:g}\n"
            )

    @classmethod
    def _domain_text(cls) -> str:
        return interval_text(*cls.conjugate_domain, cls.domain_closed)

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

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        """f*(t) for t inside dom f* (``conjugate`` replaces the outside by ``+inf``)."""
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

    def in_conjugate_domain(self, t: Tensor) -> Tensor:
        """Boolean mask of the points of t inside dom f*."""
        low, high = self.conjugate_domain
        if self.domain_closed:
            return (t >= low) & (t <= high)
        return (t > low) & (t < high)

    def conjugate(self, t: Tensor) -> Tensor:
        """The Fenchel conjugate f*(t) = sup_u [u t - f(u)]; ``+inf`` outside dom f*.

        Points outside the domain are replaced by a point inside before the formula is applied, so gradients
        stay finite (and zero) there.
        """
        inside = self.in_conjugate_domain(t)
        low, high = self.conjugate_domain
        safe_point = (
            0.0
            if low < 0.0 < high or (self.domain_closed and low <= 0.0 <= high)
            else (high - 1.0 if high < _INF else low + 1.0)
        )
        t_safe = torch.where(inside, t, torch.full_like(t, safe_point))
        return torch.where(inside, self._conjugate_inside(t_safe), torch.full_like(t, _INF))


def _xlogx(u: Tensor) -> Tensor:
    return torch.special.xlogy(u, u)


class TotalVariation(Divergence):
    """Total variation distance, ``D = ½ ∫ |p - q|``.

    The optimal critic ½ sign(r - 1) sits where ½ tanh(v) saturates (v -> ±inf), and a saturated critic passes no
    gradient to either player: unchecked, training stalls with F = 0. Training therefore penalises the raw output
    by default (``default_critic_penalty``), which keeps V finite at a small cost to the bound.
    """

    name = "tv"
    formula_f = "½|u - 1|"
    formula_activation = "½ tanh(v)"
    formula_conjugate = "t"
    formula_fused = "½ tanh(v)"
    conjugate_domain = (-0.5, 0.5)
    domain_closed = True
    invertible_critic = False
    default_critic_penalty = 0.01

    def f(self, u: Tensor) -> Tensor:
        return 0.5 * torch.abs(u - 1.0)

    def activation(self, v: Tensor) -> Tensor:
        return 0.5 * torch.tanh(v)

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        return t

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return 0.5 * torch.tanh(v)

    def optimal_critic(self, r: Tensor) -> Tensor:
        return 0.5 * torch.sign(r - 1.0)


class KullbackLeibler(Divergence):
    """Kullback-Leibler divergence ``KL(P||Q) = ∫ p log(p/q)``."""

    name = "kl"
    formula_f = "u log u"
    formula_activation = "v"
    formula_conjugate = "exp(t - 1)"
    formula_fused = "exp(v - 1)"
    f_prime_one = 1.0

    def f(self, u: Tensor) -> Tensor:
        return _xlogx(u)

    def activation(self, v: Tensor) -> Tensor:
        return v

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        return torch.exp(t - 1.0)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return torch.exp(v - 1.0)

    def optimal_critic(self, r: Tensor) -> Tensor:
        return 1.0 + torch.log(r)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        return torch.exp(t - 1.0)


class ReverseKL(Divergence):
    """Reverse Kullback-Leibler divergence ``KL(Q||P) = ∫ q log(q/p)``."""

    name = "reverse-kl"
    formula_f = "-log u"
    formula_activation = "-exp(-v)"
    formula_conjugate = "-1 - log(-t)"
    formula_fused = "v - 1"
    f_prime_one = -1.0
    conjugate_domain = (-_INF, 0.0)

    def f(self, u: Tensor) -> Tensor:
        return -torch.log(u)

    def activation(self, v: Tensor) -> Tensor:
        return -torch.exp(-v)

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        return -1.0 - torch.log(-t)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return v - 1.0

    def optimal_critic(self, r: Tensor) -> Tensor:
        return -1.0 / r

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        return -1.0 / t


class Pearson(Divergence):
    """Pearson χ² divergence ``∫ (p - q)² / q``.

    As in the paper, f is taken on all of R (it is convex there), so f*(t) = t²/4 + t on all of R; over u >= 0
    alone the conjugate would be -1 for t < -2. The optimal critic 2(r - 1) >= -2 lies where both agree.
    """

    name = "pearson"
    formula_f = "(u - 1)²"
    formula_activation = "v"
    formula_conjugate = "t²/4 + t"
    formula_fused = "v²/4 + v"
    f_domain_low = -_INF

    def f(self, u: Tensor) -> Tensor:
        return torch.square(u - 1.0)

    def activation(self, v: Tensor) -> Tensor:
        return v

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        return 0.25 * t * t + t

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return 0.25 * v * v + v

    def optimal_critic(self, r: Tensor) -> Tensor:
        return 2.0 * (r - 1.0)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        return torch.clamp(1.0 + 0.5 * t, min=0.0)


class Neyman(Divergence):
    """Neyman χ² divergence ``∫ (q - p)² / p``."""

    name = "neyman"
    formula_f = "(1 - u)²/u"
    formula_activation = "1 - exp(-v)"
    formula_conjugate = "2 - 2 sqrt(1 - t)"
    formula_fused = "2 - 2 exp(-v/2)"
    conjugate_domain = (-_INF, 1.0)

    def f(self, u: Tensor) -> Tensor:
        return torch.square(1.0 - u) / u

    def activation(self, v: Tensor) -> Tensor:
        return -torch.expm1(-v)

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        return 2.0 - 2.0 * torch.sqrt(1.0 - t)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return -2.0 * torch.expm1(-0.5 * v)

    def optimal_critic(self, r: Tensor) -> Tensor:
        return 1.0 - torch.reciprocal(r * r)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        return torch.rsqrt(1.0 - t)


class SquaredHellinger(Divergence):
    """Squared Hellinger distance ``∫ (sqrt(p) - sqrt(q))²``."""

    name = "hellinger"
    formula_f = "(sqrt(u) - 1)²"
    formula_activation = "1 - exp(-v)"
    formula_conjugate = "t / (1 - t)"
    formula_fused = "exp(v) - 1"
    conjugate_domain = (-_INF, 1.0)

    def f(self, u: Tensor) -> Tensor:
        return torch.square(torch.sqrt(u) - 1.0)

    def activation(self, v: Tensor) -> Tensor:
        return -torch.expm1(-v)

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        return t / (1.0 - t)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return torch.expm1(v)

    def optimal_critic(self, r: Tensor) -> Tensor:
        return 1.0 - torch.rsqrt(r)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        return torch.reciprocal(torch.square(1.0 - t))


class Jeffrey(Divergence):
    """Jeffrey divergence ``KL(P||Q) + KL(Q||P) = ∫ (p - q) log(p/q)``.

    Its conjugate needs the Lambert W function, computed by :func:`fgan.special.log_lambertw_exp` in log space
    (``W(e^{1-t})`` never forms ``e^{1-t}``) with an exact implicit gradient.
    """

    name = "jeffrey"
    formula_f = "(u - 1) log u"
    formula_activation = "v"
    formula_conjugate = "W(e^{1-t}) + 1/W(e^{1-t}) + t - 2"
    formula_fused = "W(e^{1-v}) + 1/W(e^{1-v}) + v - 2"

    def f(self, u: Tensor) -> Tensor:
        return (u - 1.0) * torch.log(u)

    def activation(self, v: Tensor) -> Tensor:
        return v

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        log_w = log_lambertw_exp(1.0 - t)
        return torch.exp(log_w) + torch.exp(-log_w) + t - 2.0

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return self._conjugate_inside(v)

    def optimal_critic(self, r: Tensor) -> Tensor:
        return 1.0 + torch.log(r) - torch.reciprocal(r)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        return torch.exp(-log_lambertw_exp(1.0 - t))


_LOG2 = math.log(2.0)


class JensenShannon(Divergence):
    """Jensen-Shannon divergence ``½ KL(P||M) + ½ KL(Q||M)`` with ``M = (P + Q)/2``, times 2 (paper's scaling).

    The paper's f gives ``D_f = 2 JS``; its values lie in [0, log 4].
    """

    name = "js"
    formula_f = "-(u + 1) log((1 + u)/2) + u log u"
    formula_activation = "log 2 - log(1 + e^{-v})"
    formula_conjugate = "-log(2 - e^t)"
    formula_fused = "softplus(v) - log 2"
    conjugate_domain = (-_INF, _LOG2)

    def f(self, u: Tensor) -> Tensor:
        return _xlogx(u) - (u + 1.0) * (torch.log1p(u) - _LOG2)

    def activation(self, v: Tensor) -> Tensor:
        return _LOG2 + F.logsigmoid(v)

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        return -torch.log(2.0 - torch.exp(t))

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return F.softplus(v) - _LOG2

    def optimal_critic(self, r: Tensor) -> Tensor:
        return _LOG2 + torch.log(r) - torch.log1p(r)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        # e^t / (2 - e^t) = 1 / (2 e^{-t} - 1)
        return torch.reciprocal(2.0 * torch.exp(-t) - 1.0)


class JensenShannonWeighted(Divergence):
    """π-weighted Jensen-Shannon divergence, π in (0, 1) (a weight, not 3.14159); π = ½ gives ½ of ``js``."""

    name = "js-weighted"
    formula_f = "π u log u - (1 - π + π u) log(1 - π + π u)"
    formula_activation = "-π log π - log(1 + e^{-v})"
    formula_conjugate = "(1 - π) log((1 - π) / (1 - π e^{t/π}))"
    formula_domain = "t < -π log π"
    formula_fused = "(1 - π) [log(1 - π) - log(1 - exp(logsigmoid(v)/π))]"

    def __init__(self, pi: float) -> None:
        if not 0.0 < pi < 1.0:
            raise ValueError(f"js-weighted needs a weight PI in (0, 1), got {pi}")
        self.pi = float(pi)
        self.name = f"js-weighted:{pi:g}"
        self.conjugate_domain = (-_INF, -pi * math.log(pi))

    def f(self, u: Tensor) -> Tensor:
        pi = self.pi
        mix = 1.0 - pi + pi * u
        return pi * _xlogx(u) - _xlogx(mix)

    def activation(self, v: Tensor) -> Tensor:
        return -self.pi * math.log(self.pi) + F.logsigmoid(v)

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        pi = self.pi
        # 1 - π e^{t/π} = 1 - exp(t/π + log π)
        return (1.0 - pi) * (math.log(1.0 - pi) - log1mexp(t / pi + math.log(pi)))

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        # π e^{g_f(v)/π} = sigmoid(v)^{1/π}
        pi = self.pi
        return (1.0 - pi) * (math.log(1.0 - pi) - log1mexp(F.logsigmoid(v) / pi))

    def optimal_critic(self, r: Tensor) -> Tensor:
        pi = self.pi
        return pi * (torch.log(r) - torch.log1p(pi * (r - 1.0)))

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        pi = self.pi
        scaled = torch.exp(t / pi)
        return (1.0 - pi) * scaled / (1.0 - pi * scaled)


class GAN(Divergence):
    """The original GAN objective as an f-divergence: ``D_f = 2 JS - log 4`` (it can be negative).

    The paper's f has f(1) = -log 4 (the one exception to f(1) = 0); f and f* are kept as in the paper.
    """

    name = "gan"
    formula_f = "u log u - (u + 1) log(u + 1)"
    formula_activation = "-log(1 + e^{-v})"
    formula_conjugate = "-log(1 - e^t)"
    formula_fused = "softplus(v)"
    f_prime_one = -_LOG2
    conjugate_domain = (-_INF, 0.0)

    def f(self, u: Tensor) -> Tensor:
        return _xlogx(u) - (u + 1.0) * torch.log1p(u)

    def activation(self, v: Tensor) -> Tensor:
        return F.logsigmoid(v)

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        return -log1mexp(t)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return F.softplus(v)

    def optimal_critic(self, r: Tensor) -> Tensor:
        return torch.log(r) - torch.log1p(r)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        return torch.reciprocal(torch.expm1(-t))


class Alpha(Divergence):
    """Amari α-divergence, α not 0 or 1 (α -> 1 is KL, α -> 0 reverse KL; α = 2 is ½ Pearson, α = ½ is
    2 Hellinger, α = -1 is ½ Neyman).

    For α < 1 the activation keeps the critic below 1/(1 - α); for α > 1 it is the identity and f* is
    -1/α below t = -1/(α - 1) (where the supremum sits at u = 0).
    """

    name = "alpha"
    formula_f = "(u^α - 1 - α(u - 1)) / (α(α - 1))"
    formula_activation = "1/(1 - α) - log(1 + e^{-v}) if α < 1, v if α > 1"
    formula_conjugate = "(1/α) (t(α - 1) + 1)^{α/(α-1)} - 1/α  (-1/α below t = -1/(α-1) when α > 1)"
    formula_domain = "t < 1/(1 - α) if α < 1, R if α > 1"
    formula_fused = "(1/α) ((1-α) softplus(-v))^{α/(α-1)} - 1/α if α < 1, the conjugate at v if α > 1"

    def __init__(self, alpha: float) -> None:
        if alpha in (0.0, 1.0) or not math.isfinite(alpha):
            raise ValueError(f"alpha needs A not 0 or 1 (those limits are reverse-kl and kl), got {alpha}")
        self.alpha = float(alpha)
        self.name = f"alpha:{alpha:g}"
        self.conjugate_domain = (-_INF, 1.0 / (1.0 - alpha)) if alpha < 1.0 else (-_INF, _INF)

    def f(self, u: Tensor) -> Tensor:
        a = self.alpha
        return (torch.pow(u, a) - 1.0 - a * (u - 1.0)) / (a * (a - 1.0))

    def activation(self, v: Tensor) -> Tensor:
        if self.alpha < 1.0:
            return 1.0 / (1.0 - self.alpha) + F.logsigmoid(v)
        return v

    def _conjugate_inside(self, t: Tensor) -> Tensor:
        a = self.alpha
        base = torch.clamp(t * (a - 1.0) + 1.0, min=0.0)
        return torch.pow(base, a / (a - 1.0)) / a - 1.0 / a

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        a = self.alpha
        if a > 1.0:
            return self._conjugate_inside(v)
        # g_f(v)(α - 1) + 1 = (1 - α) softplus(-v), raised to α/(α - 1) in log space.
        log_base = math.log(1.0 - a) + log_softplus(-v)
        return torch.exp(a / (a - 1.0) * log_base) / a - 1.0 / a

    def optimal_critic(self, r: Tensor) -> Tensor:
        a = self.alpha
        return (torch.pow(r, a - 1.0) - 1.0) / (a - 1.0)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        a = self.alpha
        return torch.pow(torch.clamp(1.0 + (a - 1.0) * t, min=0.0), 1.0 / (a - 1.0))


_SIMPLE: dict[str, type[Divergence]] = {
    cls.name: cls
    for cls in (
        TotalVariation,
        KullbackLeibler,
        ReverseKL,
        Pearson,
        Neyman,
        SquaredHellinger,
        Jeffrey,
        JensenShannon,
        GAN,
    )
}
_PARAMETRIC: dict[str, tuple[str, Callable[[float], Divergence]]] = {
    "js-weighted": ("PI", JensenShannonWeighted),
    "alpha": ("A", Alpha),
}
_CUSTOM: dict[str, Callable[[], Divergence]] = {}

#: The divergences of the paper's Gaussian-mixture experiment (Table 3).
PAPER_DIVERGENCES = ("kl", "reverse-kl", "js", "jeffrey", "pearson")
#: One instance of every form, parametric ones at representative parameters.
EXAMPLE_DIVERGENCES = (*_SIMPLE, "js-weighted:0.3", "alpha:-1", "alpha:0.5", "alpha:2")


def list_divergences() -> list[str]:
    """Every accepted name form: the fixed names, ``js-weighted:PI``, ``alpha:A``, ``f:EXPR`` and registered ones."""
    return [*_SIMPLE, *(f"{base}:{param}" for base, (param, _) in _PARAMETRIC.items()), "f:EXPR", *_CUSTOM]


def describe_divergences() -> list[dict[str, str]]:
    """One row per name form: ``name, f, activation, conjugate, domain, f_prime_one`` (formulas as text)."""
    forms = [*_SIMPLE.items(), *((f"{base}:{param}", cls) for base, (param, cls) in _PARAMETRIC.items())]
    return [
        {
            "name": name,
            "f": cls.formula_f,
            "activation": cls.formula_activation,
            "conjugate": cls.formula_conjugate,
            "f_prime_one": f"{cls.f_prime_one:.4g}",
        }
        for name, cls in forms
    ]


def register_divergence(name: str, factory: Callable[[], Divergence]) -> None:
    """Make ``get_divergence(name)`` (and ``--divergence name``) return ``factory()``."""
    if name in _SIMPLE or name in _PARAMETRIC or ":" in name:
        raise ValueError(f"cannot register {name!r}: the name is built in or contains ':'")
    _CUSTOM[name] = factory


def get_divergence(name: str | Divergence) -> Divergence:
    """Return the divergence called ``name`` (see :func:`list_divergences`); a Divergence is returned as is.

    Raises:
        ValueError: for an unknown or malformed name; the message lists the valid forms.
    """
    if isinstance(name, Divergence):
        return name
    valid = ", ".join(list_divergences())
    key = str(name).strip().lower()
    if key in _SIMPLE:
        return _SIMPLE[key]()
    if key in _CUSTOM:
        return _CUSTOM[key]()
    base, sep, param = key.partition(":")
    if sep and base == "f":
        from fgan.custom import CustomDivergence, parse_f_expression  # here: fgan.custom imports this module

        expression = param.strip()
        try:
            return CustomDivergence(parse_f_expression(expression), name=f"f:{expression}", formula=expression)
        except ValueError as err:
            raise ValueError(f"divergence {name!r}: {err}; valid forms: {valid}") from None
    if sep and base in _PARAMETRIC:
        try:
            value = float(param)
        except ValueError:
            raise ValueError(f"divergence {name!r}: {param!r} is not a number; valid forms: {valid}") from None
        try:
            return _PARAMETRIC[base][1](value)
        except ValueError as err:
            raise ValueError(f"divergence {name!r}: {err}; valid forms: {valid}") from None
    raise ValueError(f"unknown divergence {name!r}; valid forms: {valid}")
