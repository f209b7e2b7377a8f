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
Whether the Gaussian fit or a trained network is the better critic is decided by the held-out bound on a
validation split (:mod:`fgan.estimation.variational`).
"""

from __future__ import annotations

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


#: The critics of the family: the Ledoit-Wolf Gaussian fit, and the trained network of ``EstimateConfig``.
CRITIC_KINDS = ("gaussian", "mlp")
