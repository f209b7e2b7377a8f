r"""Log-ratio critics for the KL bounds: a closed-form Gaussian fit, and a trained critic's output as a log ratio.

The KL bounds of :mod:`fgan.estimation.bounds` take a critic ``s(x)`` meant to be ``log p(x)/q(x)``. The best
critic of the Donsker-Varadhan bound is exactly that (up to a constant), and between two Gaussians it is a
quadratic, ``log N(x; m_P, S_P) - log N(x; m_Q, S_Q)``. :class:`GaussianLogRatio` is that quadratic with the means
and covariances fitted to the training samples: no steps, and in high dimension with few samples it fits far
better than a trained network, because the covariances are shrunk toward a multiple of the identity by the
Ledoit-Wolf estimate (Ledoit and Wolf, "A well-conditioned estimator for large-dimensional covariance matrices",
J. Multivariate Anal. 88, 2004), which picks the shrinkage that minimises the expected Frobenius error. (A
quadratic-feature critic trained on the bound itself overfits there: in 50 dimensions it has 1,326 parameters,
and with 3,333 training samples of each set its training bound grows without limit while the held-out one falls.)
:class:`TailFeatureLogRatio` adds what a Gaussian fit cannot express, the tails: with z the point whitened by the
Ledoit-Wolf fit of both sets together, ``s(x) = α s_G(x) + β |z|² + γ log(1 + |z|²) + δ Σ_i |z_i| + c``,
the four weights fitted by maximising the Donsker-Varadhan bound on the training samples (concave in them: a
unique optimum, found by L-BFGS; four weights do not overfit). The log ratio of a Student t to the Gaussian of its
covariance is exactly of the radial form ``β |z|² + γ log(1 + |z|²/(ν - 2))`` (up to the scale inside the log),
that of independent Laplace coordinates to a Gaussian ``Σ_i (z_i²/2 - sqrt 2 |z_i|)``: where the Gaussian fit
sees equal covariances and says "no difference", these features see the tails. Whether a fit or a trained
network is the better critic is decided by the held-out bound on a
validation split (:mod:`fgan.estimation.variational`).
"""

from __future__ import annotations

import math

import torch
from sklearn.covariance import ledoit_wolf
from torch import Tensor, nn


class GaussianLogRatio(nn.Module):
    """``s(x) = log N(x; m_P, S_P) - log N(x; m_Q, S_Q)``, the covariances Ledoit-Wolf estimates, in float64."""

    p_mean: Tensor
    q_mean: Tensor
    p_cholesky: Tensor
    q_cholesky: Tensor

    def __init__(self, p_train: Tensor, q_train: Tensor) -> None:
        super().__init__()
        for name, samples in (("p", p_train), ("q", q_train)):
            values = samples.detach().double().cpu()
            covariance, _ = ledoit_wolf(values.numpy())
            self.register_buffer(f"{name}_mean", values.mean(0).to(p_train.device))
            cholesky = torch.linalg.cholesky(torch.from_numpy(covariance))
            self.register_buffer(f"{name}_cholesky", cholesky.to(p_train.device))

    @staticmethod
    def _log_density(x: Tensor, mean: Tensor, cholesky: Tensor) -> Tensor:
        """``log N(x; mean, L Lᵀ)`` without the ``-d/2 log 2π`` that cancels in the ratio."""
        centred = torch.linalg.solve_triangular(cholesky, (x - mean).T, upper=False)
        return -0.5 * (centred * centred).sum(0) - torch.log(torch.diagonal(cholesky)).sum()

    def forward(self, x: Tensor) -> Tensor:
        x = x.double()
        ratio = self._log_density(x, self.p_mean, self.p_cholesky) - self._log_density(x, self.q_mean, self.q_cholesky)
        return ratio.float()


class TailFeatureLogRatio(nn.Module):
    """``α s_G(x) + β |z|² + γ log(1 + |z|²) + δ Σ |z_i|``, s_G the :class:`GaussianLogRatio` of the training
    samples and z = L⁻¹(x - m) with m, L Lᵀ the Ledoit-Wolf fit of both sets together; the weights maximise the
    Donsker-Varadhan bound on the training samples (see the module docstring), and a constant that normalises
    ``e^{s}`` to mean 1 on the training samples of Q."""

    mean: Tensor
    cholesky: Tensor
    weights: Tensor
    offset: Tensor

    def __init__(self, p_train: Tensor, q_train: Tensor) -> None:
        super().__init__()
        self.gaussian = GaussianLogRatio(p_train, q_train)
        both = torch.cat([p_train, q_train]).detach().double().cpu()
        covariance, _ = ledoit_wolf(both.numpy())
        self.register_buffer("mean", both.mean(0).to(p_train.device))
        self.register_buffer("cholesky", torch.linalg.cholesky(torch.from_numpy(covariance)).to(p_train.device))
        self.register_buffer("weights", torch.zeros(4, dtype=torch.float64, device=p_train.device))
        self.register_buffer("offset", torch.zeros((), dtype=torch.float64, device=p_train.device))
        q_features = self.features(q_train)
        self.weights.copy_(_dv_weights(self.features(p_train), q_features))
        # DV does not see a constant; this one makes mean_Q e^{s} = 1 on the training samples, as for a log ratio
        self.offset.copy_(math.log(len(q_train)) - torch.logsumexp(q_features @ self.weights, 0))

    def features(self, x: Tensor) -> Tensor:
        """``(s_G, |z|², log(1 + |z|²), Σ |z_i|)`` at each row of ``x``, float64, shape ``(n, 4)``."""
        z = torch.linalg.solve_triangular(self.cholesky, (x.double() - self.mean).T, upper=False).T
        radius = (z * z).sum(1)
        return torch.stack([self.gaussian(x).double(), radius, torch.log1p(radius), z.abs().sum(1)], 1)

    def forward(self, x: Tensor) -> Tensor:
        return (self.features(x) @ self.weights + self.offset).float()


#: The ridge on the tail-feature weights (in units of the features' spread): it keeps the fit finite where the
#: training samples of the two sets are nearly separable along a feature combination, where the DV objective grows
#: without limit (measured: 10-D N(1, I) against N(0, I), 3,333 samples each: weights of 1e180 without it), and
#: moves the weights of a well-posed fit by under 0.1 % (the same pair, 13,333 samples each).
TAIL_RIDGE = 1e-5


def _dv_weights(p_features: Tensor, q_features: Tensor) -> Tensor:
    """The weights w maximising ``mean_P (F w) - log mean_Q exp(F w) - TAIL_RIDGE |w / scale|²`` (L-BFGS from
    α = 1, the rest 0); the start itself, the Gaussian fit, where the optimiser does not end finite and better."""
    scale = torch.cat([p_features, q_features]).std(0).clamp_min(1e-12)
    p_scaled, q_scaled = p_features / scale, q_features / scale
    start = torch.zeros(4, dtype=torch.float64)
    start[0] = scale[0]
    weights = start.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([weights], max_iter=200, line_search_fn="strong_wolfe")

    def objective(w: Tensor) -> Tensor:
        return torch.logsumexp(q_scaled @ w, 0) - (p_scaled @ w).mean() + TAIL_RIDGE * (w * w).sum()

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = objective(weights)
        loss.backward()
        return loss

    optimizer.step(closure)
    fitted = weights.detach()
    with torch.no_grad():
        if not (torch.isfinite(fitted).all() and objective(fitted) <= objective(start)):
            fitted = start
    return fitted / scale


class AffineOutput(nn.Module):
    """``scale · critic(x) + offset``: a critic's output in another convention (a log ratio as the raw critic
    output V of a divergence, or a trained kl critic's V as the log ratio ``V - 1``)."""

    def __init__(self, critic: nn.Module, scale: float, offset: float) -> None:
        super().__init__()
        self.critic = critic
        self.scale = scale
        self.offset = offset

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * self.critic(x) + self.offset


#: The critics of the family: the Ledoit-Wolf Gaussian fit, it with tail features, the trained network.
CRITIC_KINDS = ("gaussian", "tails", "mlp")
