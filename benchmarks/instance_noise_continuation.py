"""Where annealed instance noise can lead a 1-D Gaussian fit, computed exactly: the continuation path of the best fit.

Instance noise of standard deviation s (Sønderby et al. 2016, "Amortised MAP Inference for Image Super-resolution",
Appendix C) trains Q_θ = N(μ, σ²) against P ⊛ N(0, s²) with Q_θ ⊛ N(0, s²) = N(μ, σ² + s²). With a critic that tracks
T* exactly and a noise annealed slowly enough, the generator follows the path

    θ(s) = local argmin_θ D_f(P ⊛ N(0, s²) || N(μ, σ² + s²)),   s from s_0 down to 0,

each point descended (Nelder-Mead over (μ, log σ), trapezoidal quadrature) from the one before. Where θ(0) is not
the global best fit θ* (:func:`fgan.quadrature.best_gaussian_fit`), no annealing schedule of instance noise reaches
θ*, however good the critic; where it is, the trained runs show how far the critic is from tracking it.

    python benchmarks/instance_noise_continuation.py [--mixture W:M:S,...] [--divergence NAME ...] [--noise S0]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from scipy.optimize import minimize

from fgan.data import GaussianMixture, parse_mixture
from fgan.divergences import Divergence, get_divergence
from fgan.experiments.table3_mixture import mixture_components
from fgan.quadrature import Component, LogDensity, best_gaussian_fit, gaussian_fit_divergence

#: The 1-D mixture of the stabilisers' 1-D measurements (README, "1-D, separated components").
SEPARATED_MIXTURE = "0.5:-4:0.6,0.3:1:0.5,0.2:5:0.8"
_TOLERANCES = {"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000}


def convolved(mixture: GaussianMixture, noise: float) -> GaussianMixture:
    """P ⊛ N(0, noise²): each component widened to sqrt(std² + noise²)."""
    return GaussianMixture(mixture.weights, mixture.means, torch.hypot(mixture.stds, torch.tensor(noise)))


def continuation(
    divergence: Divergence, mixture: GaussianMixture, initial_noise: float, levels: int, start: tuple[float, float]
) -> list[tuple[float, float, float, float]]:
    """``(s, μ(s), σ(s), D_f at θ(s))`` from ``s = initial_noise`` down to 0 in ``levels`` equal steps, each
    integrated on the grid covering P ⊛ N(0, s²)'s components and the candidate (as the exact side of Table 3)."""
    point = np.array([start[0], math.log(start[1])])
    path = []
    for noise in np.linspace(initial_noise, 0.0, levels):
        smoothed = convolved(mixture, float(noise))
        log_p, widened = smoothed.log_prob, mixture_components(smoothed)

        def objective(
            params: np.ndarray, log_p: LogDensity = log_p, widened: list[Component] = widened, noise: float = noise
        ) -> float:
            # D_f(P ⊛ N || N(μ, σ² + s²)): Q's noise widens it like P's components.
            value = gaussian_fit_divergence(
                divergence, log_p, widened, float(params[0]), math.hypot(math.exp(params[1]), noise)
            )
            return value if math.isfinite(value) else math.inf

        point = minimize(objective, point, method="Nelder-Mead", options=_TOLERANCES).x
        path.append((float(noise), float(point[0]), math.exp(point[1]), objective(point)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixture", default=SEPARATED_MIXTURE)
    parser.add_argument("--divergence", nargs="+", default=["reverse-kl", "neyman", "jeffrey"])
    parser.add_argument("--noise", type=float, default=4.0, help="the initial noise s_0")
    parser.add_argument("--levels", type=int, default=41, help="noise levels from s_0 to 0")
    parser.add_argument("--start", type=float, nargs=2, default=[0.0, 1.0], metavar=("MU", "SIGMA"))
    args = parser.parse_args()
    mixture = parse_mixture(args.mixture)
    print(f"P = {args.mixture}; noise {args.noise} → 0 in {args.levels} levels; from θ = {tuple(args.start)}")
    print("| divergence | θ(s) at s = s_0, s_0/2, s_0/4, 0 | D_f at θ(0) | θ* | D_f(P‖Q_θ*) | reaches θ* |")
    print("|---|---|---|---|---|---|")
    for name in args.divergence:
        divergence = get_divergence(name)
        path = continuation(divergence, mixture, args.noise, args.levels, (args.start[0], args.start[1]))
        shown = [path[0], path[len(path) // 2], path[3 * len(path) // 4], path[-1]]
        mu_star, sigma_star, d_star = best_gaussian_fit(
            divergence,
            mixture.log_prob,
            (float(mixture.mean()), float(mixture.std())),
            cover=mixture_components(mixture),
        )
        _, mu_end, sigma_end, d_end = path[-1]
        reached = abs(mu_end - mu_star) <= 0.1 and abs(sigma_end - sigma_star) <= 0.1
        trail = ", ".join(f"({mu:.2f}, {sigma:.2f})" for _, mu, sigma, _ in shown)
        print(
            f"| {name} | {trail} | {d_end:.4f} | ({mu_star:.2f}, {sigma_star:.2f}) | {d_star:.4f} | "
            f"{'yes' if reached else 'no'} |"
        )


if __name__ == "__main__":
    main()
