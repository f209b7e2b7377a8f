r"""The f-divergences of the f-GAN paper in closed form (Nowozin, Cseke and Tomioka 2016, Tables 1, 2 and 6).

Each class gives f, g_f, f* on dom f*, the fused f*(g_f(v)), f'(1), T* = f'(r) and (where f' is invertible) its
inverse, with the formulas in its docstring (see :class:`fgan.divergences.base.Divergence`). Near a finite upper end
b of dom f* the conjugates are written in the distance ``b - t`` (exact there), so that ``conjugate`` is finite and
correct at the floats next to b, and at b itself where dom f* is closed (neyman, alpha with A < 0).
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import torch
import torch.nn.functional as F
from torch import Tensor

from fgan.divergences.base import Divergence, number_text
from fgan.errors import UsageError
from fgan.special import log1mexp, log_lambertw_exp, log_softplus, softplus

_INF = math.inf


def float_error(exact: Decimal, rounded: float) -> float:
    """``exact - rounded`` as a float: what a float end of dom f* misses of the true (irrational) end."""
    return float(exact - Decimal(rounded))


def _decimal_log(x: float) -> Decimal:
    with localcontext() as context:
        context.prec = 40
        return Decimal(x).ln()


def _xlogx(u: Tensor) -> Tensor:
    return torch.special.xlogy(u, u)


class TotalVariation(Divergence):
    """Total variation distance, ``D = ½ ∫ |p - q|``.

    The optimal critic ½ sign(r - 1) sits where ½ tanh(v) saturates (v -> ±inf), and a saturated critic passes no
    gradient to either player: unchecked, training stalls with F = 0. Training therefore penalises the raw output
    by default (``default_critic_penalty``), which keeps V finite at a small cost to the bound.

    The paper gives f*(t) = t on |t| <= ½; below -½ the supremum over u >= 0 sits at u = 0, so f* = -f(0) = -½
    there (the activation never goes below -½).
    """

    name = "tv"
    formula_f = "½|u - 1|"
    formula_activation = "½ tanh(v)"
    formula_conjugate = "max(t, -½)"
    formula_fused = "½ tanh(v)"
    conjugate_domain = (-_INF, 0.5)
    domain_closed = True
    invertible_critic = False
    default_critic_penalty = 0.01

    def f(self, u: Tensor) -> Tensor:
        return 0.5 * torch.abs(u - 1.0)

    def activation(self, v: Tensor) -> Tensor:
        return 0.5 * torch.tanh(v)

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        return torch.clamp(t, min=-0.5)  # below -½ the supremum over u >= 0 sits at u = 0: f* = -f(0) = -½

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return 0.5 * torch.tanh(v)

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        return torch.zeros_like(v)  # f* is linear on dom f*: f*'' = 0

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

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        return torch.exp(t - 1.0)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return torch.exp(v - 1.0)

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        return torch.exp(v - 1.0)  # f*'' = e^{t-1}, g' = 1

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

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        return -1.0 - torch.log(self.distance_to_end(t))

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return v - 1.0

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        return torch.ones_like(v)  # f*'' = 1/t² = e^{2v}, g' = e^{-v}

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

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        return 0.25 * t * t + t

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return 0.25 * v * v + v

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        return torch.full_like(v, 0.5)  # f*'' = ½, g' = 1

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
    formula_fused = "-2 expm1(-v/2)"
    conjugate_domain = (-_INF, 1.0)
    domain_closed = True

    def f(self, u: Tensor) -> Tensor:
        return torch.square(1.0 - u) / u

    def activation(self, v: Tensor) -> Tensor:
        return -torch.expm1(-v)

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        return 2.0 - 2.0 * torch.sqrt(self.distance_to_end(t))

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return -2.0 * torch.expm1(-0.5 * v)

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        return 0.5 * torch.exp(-0.5 * v)  # f*'' = ½ (1 - t)^{-3/2} = ½ e^{3v/2}, g' = e^{-v}

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
    formula_fused = "expm1(v)"
    conjugate_domain = (-_INF, 1.0)

    def f(self, u: Tensor) -> Tensor:
        return torch.square(torch.sqrt(u) - 1.0)

    def activation(self, v: Tensor) -> Tensor:
        return -torch.expm1(-v)

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        return t / self.distance_to_end(t)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return torch.expm1(v)

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        return 2.0 * torch.exp(v)  # f*'' = 2 / (1 - t)³ = 2 e^{3v}, g' = e^{-v}

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
    formula_fused = "1/W - log W - 1 with W = W(e^{1-v}) (W + v = 1 - log W), W in log space"

    def f(self, u: Tensor) -> Tensor:
        return (u - 1.0) * torch.log(u)

    def activation(self, v: Tensor) -> Tensor:
        return v

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        # W + t = 1 - log W (W e^W = e^{1-t}): no cancellation of W against t where t is very negative
        log_w = log_lambertw_exp(1.0 - t)
        return torch.exp(-log_w) - log_w - 1.0

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return self.conjugate_in_domain(v)

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        # f*'' = 1/f''(u) at u = f*'(t) = 1/W(e^{1-t}), f''(u) = (u + 1)/u²: f*'' = 1/(W (1 + W)), g' = 1
        log_w = log_lambertw_exp(1.0 - v)
        return torch.exp(-log_w - F.softplus(log_w))

    def optimal_critic(self, r: Tensor) -> Tensor:
        return 1.0 + torch.log(r) - torch.reciprocal(r)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        return torch.exp(-log_lambertw_exp(1.0 - t))


class JeffreyRatio(Jeffrey):
    r"""Jeffrey divergence with the density-ratio activation: the critic's output is the log density ratio.

    .. math::

        g(v) = f'(e^v) = v + 1 - e^{-v}, \qquad f^*(g(v)) = e^v f'(e^v) - f(e^v) = e^v + v - 1,

    so that V* = log(p/q) and the bound reads F = E_P[v + 1 - e^{-v}] - E_Q[e^v + v - 1], with no Lambert W.
    The paper's activation g(v) = v (:class:`Jeffrey`) asks the critic for T* = 1 + log r - 1/r, which falls like
    -q/p where q has mass and p has almost none (between separated components, in the tails of Q): T* = -10^6 at
    three standard deviations of a Gaussian fitted to a mixture of narrow components, which an MLP does not reach,
    so F stays far below D_f there. Here the critic needs V* = log r ≈ -14 at that point. Same f, same D_f, same
    T* = g(V*); only the parameterisation of the critic differs (any g onto dom f* = R is valid,
    Nowozin et al. 2016, Section 2.4).
    """

    name = "jeffrey-ratio"
    formula_activation = "v + 1 - e^{-v}"
    formula_fused = "e^v + v - 1 (expm1(v) + v)"

    def activation(self, v: Tensor) -> Tensor:
        return v - torch.expm1(-v)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return torch.expm1(v) + v

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        # f*''(f'(u)) g'(v)² with u = e^v: f*'' = 1/f''(u) = u²/(u + 1), g' = (u + 1)/u, so the weight is u + 1
        return torch.exp(v) + 1.0


_LOG2 = math.log(2.0)
_LOG2_ERROR = float_error(_decimal_log(2.0), _LOG2)


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
    domain_end_error = _LOG2_ERROR
    formula_domain = "t < log 2"

    def f(self, u: Tensor) -> Tensor:
        return _xlogx(u) - (u + 1.0) * (torch.log1p(u) - _LOG2)

    def activation(self, v: Tensor) -> Tensor:
        return _LOG2 + F.logsigmoid(v)

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        # 2 - e^t = 2 (1 - e^{-(log 2 - t)})
        return -_LOG2 - log1mexp(-self.distance_to_end(t))

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return softplus(v) - _LOG2

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        return torch.sigmoid(v)  # e^t = 2σ(v): f*'' = 2e^t/(2 - e^t)² = σ/(1 - σ)², g' = 1 - σ

    def curvature_weights(self, critic_real: Tensor, critic_fake: Tensor) -> tuple[Tensor, Tensor]:
        return _logistic_weights(critic_real, critic_fake)

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
            raise UsageError(f"js-weighted needs a weight PI in (0, 1), got {number_text(pi)}")
        self.pi = float(pi)
        self.name = f"js-weighted:{number_text(pi)}"
        end = -pi * math.log(pi)
        self.conjugate_domain = (-_INF, end)
        self.domain_end_error = float_error(-Decimal(pi) * _decimal_log(pi), end)

    def f(self, u: Tensor) -> Tensor:
        pi = self.pi
        mix = 1.0 - pi + pi * u
        return pi * _xlogx(u) - _xlogx(mix)

    def activation(self, v: Tensor) -> Tensor:
        return -self.pi * math.log(self.pi) + F.logsigmoid(v)

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        pi = self.pi
        # 1 - π e^{t/π} = 1 - exp(t/π + log π) = 1 - exp(-(b - t)/π) with b = -π log π
        return (1.0 - pi) * (math.log(1.0 - pi) - log1mexp(-self.distance_to_end(t) / pi))

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


def _logistic_weights(critic_real: Tensor, critic_fake: Tensor) -> tuple[Tensor, Tensor]:
    """Roth et al.'s (2017) symmetric regulariser of the GAN, D = σ(v): E_P[(1 - D)² ||∇v||²] + E_Q[D² ||∇v||²].

    Where the critic is optimal, p(1 - D) = qD, it equals E_Q[D ||∇v||²] = Ω_f(Q) (D = D(1 - D) + D², and
    E_Q[D(1 - D) h] = E_P[(1 - D)² h]); it weighs the gradient where the critic is wrong on either side.
    """
    return torch.sigmoid(-critic_real).square(), torch.sigmoid(critic_fake).square()


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

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        return -log1mexp(t)

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        return softplus(v)

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        return torch.sigmoid(v)  # e^t = D = σ(v): f*'' = D/(1 - D)², g' = 1 - D

    def curvature_weights(self, critic_real: Tensor, critic_fake: Tensor) -> tuple[Tensor, Tensor]:
        return _logistic_weights(critic_real, critic_fake)

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
    formula_domain = "t ≤ 1/(1 - α) if α < 0, t < 1/(1 - α) if 0 < α < 1, R if α > 1"
    formula_fused = (
        "exp(α/(α-1) (log(1-α) + log softplus(-v)))/α - 1/α if α < 1, the conjugate at v (base clamped at 0) if α > 1"
    )

    def __init__(self, alpha: float) -> None:
        if alpha in (0.0, 1.0) or not math.isfinite(alpha):
            raise UsageError(f"alpha needs A not 0 or 1 (those limits are reverse-kl and kl), got {number_text(alpha)}")
        self.alpha = float(alpha)
        self.name = f"alpha:{number_text(alpha)}"
        if alpha < 1.0:
            end = 1.0 / (1.0 - alpha)
            self.conjugate_domain = (-_INF, end)
            self.domain_end_error = float_error(1 / (1 - Decimal(alpha)), end)
            self.domain_closed = alpha < 0.0  # f*(b) = -1/α is finite where α/(α - 1) > 0

    def f(self, u: Tensor) -> Tensor:
        a = self.alpha
        return (torch.pow(u, a) - 1.0 - a * (u - 1.0)) / (a * (a - 1.0))

    def activation(self, v: Tensor) -> Tensor:
        if self.alpha < 1.0:
            return 1.0 / (1.0 - self.alpha) + F.logsigmoid(v)
        return v

    def conjugate_in_domain(self, t: Tensor) -> Tensor:
        a = self.alpha
        # for α < 1: t(α - 1) + 1 = (1 - α)(b - t) with b = 1/(1 - α)
        base = (1.0 - a) * self.distance_to_end(t) if a < 1.0 else torch.clamp(t * (a - 1.0) + 1.0, min=0.0)
        return torch.pow(base, a / (a - 1.0)) / a - 1.0 / a

    def conjugate_of_activation(self, v: Tensor) -> Tensor:
        a = self.alpha
        if a > 1.0:
            return self.conjugate_in_domain(v)
        # g_f(v)(α - 1) + 1 = (1 - α) softplus(-v), raised to α/(α - 1) in log space.
        log_base = math.log(1.0 - a) + log_softplus(-v)
        return torch.exp(a / (a - 1.0) * log_base) / a - 1.0 / a

    def conjugate_curvature(self, v: Tensor) -> Tensor:
        # f*'' = B^{(2-α)/(α-1)} with B = t(α - 1) + 1 (0 where f* is constant, B = 0, α > 1); for α < 1,
        # B = (1 - α) softplus(-v) and g' = σ(-v), in log space
        a = self.alpha
        power = (2.0 - a) / (a - 1.0)
        if a > 1.0:
            base = v * (a - 1.0) + 1.0
            return torch.where(base > 0.0, torch.pow(torch.clamp(base, min=1e-30), power), 0.0)
        return torch.exp(power * (math.log(1.0 - a) + log_softplus(-v)) + 2.0 * F.logsigmoid(-v))

    def optimal_critic(self, r: Tensor) -> Tensor:
        a = self.alpha
        return (torch.pow(r, a - 1.0) - 1.0) / (a - 1.0)

    def ratio_from_critic(self, t: Tensor) -> Tensor:
        a = self.alpha
        return torch.pow(torch.clamp(1.0 + (a - 1.0) * t, min=0.0), 1.0 / (a - 1.0))
