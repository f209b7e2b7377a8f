r"""Table 3's right half: each fitted Q_θ̂ scored under every divergence.

For each pair (A, B): Q_A = N(μ̂_A, σ̂_A²) is the Gaussian trained under divergence A (the left half, Table 3), held
fixed; a fresh critic V_ω (Table 3's: two hidden layers of 64 tanh units) is trained under B alone, maximising

    F_B(ω) = E_P[g_B(V_ω(x))] - E_{Q_A}[f_B*(g_B(V_ω(x)))],

by Adam for :data:`CRITIC_STEPS` steps on minibatches of 1024 from P and Q_A, its step size falling linearly to 0;
then F_B(ω̂) is measured on :data:`EVALUATION_SAMPLES` fresh samples of each and set against the exact
D_B(P‖Q_A) by quadrature. Q_B minimises D_B among Gaussians only approximately (it is trained), but the paper's
point holds when it does: in every column B the smallest D_B(P‖Q_A) is on the diagonal, A = B.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from fgan.data import GaussianMixture
from fgan.divergences import Divergence, get_divergence
from fgan.models import MLPCritic
from fgan.objectives import variational_bound
from fgan.training import seed_everything

#: Critic steps per pair, minibatch size, Adam's step size (falling linearly to 0) and β.
CRITIC_STEPS = 3000
BATCH_SIZE = 1024
LR = 0.01
BETAS = (0.9, 0.999)
#: Samples per distribution for F_B(ω̂) after training.
EVALUATION_SAMPLES = 200_000
#: The exact D_B(P‖N(μ, σ²)) of divergence B at (μ, σ): Table 3's quadrature, given by the caller.
ExactDivergence = Callable[[Divergence, float, float], float]


@dataclass
class CrossCell:
    """One pair: Q trained under ``trained``, scored under ``scored``: F_B(ω̂) and the exact D_B(P‖Q)."""

    trained: str
    scored: str
    objective_hat: float
    divergence_exact: float


def gaussian_sampler(mu: float, sigma: float) -> Callable[[int], torch.Tensor]:
    """A sampler of N(μ, σ²) as column vectors."""
    return lambda n: mu + sigma * torch.randn(n, 1)


def train_critic(mixture: GaussianMixture, q: Callable[[int], torch.Tensor], scored: str, seed: int) -> float:
    """F_B(ω̂) of a fresh critic trained under divergence ``scored`` between P = ``mixture`` and samples of ``q``."""
    divergence = get_divergence(scored)
    seed_everything(seed)
    critic = MLPCritic(1, hidden=64, depth=2, activation="tanh")
    optimizer = torch.optim.Adam(critic.parameters(), lr=LR, betas=BETAS)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / CRITIC_STEPS)
    for _ in range(CRITIC_STEPS):
        real, fake = mixture.sample(BATCH_SIZE, "cpu"), q(BATCH_SIZE)
        loss = -variational_bound(divergence, critic(real), critic(fake))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        real, fake = mixture.sample(EVALUATION_SAMPLES, "cpu"), q(EVALUATION_SAMPLES)
        return float(variational_bound(divergence, critic(real), critic(fake)))


def cross_table(
    mixture: GaussianMixture,
    fits: list[tuple[str, float, float]],
    exact: ExactDivergence,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[CrossCell]:
    """Every pair (A, B) of the divergences of ``fits`` (``(A, μ̂_A, σ̂_A)`` each): F_B(ω̂) against
    ``exact(B, μ̂_A, σ̂_A)`` = D_B(P‖Q_A)."""
    cells = []
    for trained, mu, sigma in fits:
        if progress is not None:
            progress(f"cross: Q trained under {trained}, a critic per divergence")
        for scored, _, _ in fits:
            divergence_exact = exact(get_divergence(scored), mu, sigma)
            estimate = train_critic(mixture, gaussian_sampler(mu, sigma), scored, seed)
            cells.append(CrossCell(trained, scored, estimate, divergence_exact))
    return cells


def diagonal_minima(cells: list[CrossCell], value: Callable[[CrossCell], float]) -> list[str]:
    """The columns B whose smallest ``value`` (over the rows A) is on the diagonal, A = B."""
    columns = list(dict.fromkeys(cell.scored for cell in cells))
    return [column for column in columns if min((c for c in cells if c.scored == column), key=value).trained == column]


def format_cross(cells: list[CrossCell]) -> str:
    """The right half as Markdown: a row per trained Q, a column per scoring divergence, ``F̂_B / D_B`` in each
    cell, each column's smallest exact D_B in bold; then how many column minima are on the diagonal."""
    names = list(dict.fromkeys(cell.trained for cell in cells))
    lookup = {(cell.trained, cell.scored): cell for cell in cells}
    lines = [
        "| Q trained under \\ scored by: F̂_B / D_B(P‖Q) | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for trained in names:
        shown = []
        for scored in names:
            cell = lookup[trained, scored]
            smallest = min(lookup[other, scored].divergence_exact for other in names)
            exact = f"{cell.divergence_exact:.4f}"
            shown.append(
                f"{cell.objective_hat:.4f} / " + (f"**{exact}**" if cell.divergence_exact == smallest else exact)
            )
        lines.append(f"| {trained} | " + " | ".join(shown) + " |")
    exact_diagonal = diagonal_minima(cells, lambda cell: cell.divergence_exact)
    estimated_diagonal = diagonal_minima(cells, lambda cell: cell.objective_hat)
    lines += [
        "",
        f"column minimum on the diagonal: exact D_B {len(exact_diagonal)} of {len(names)}, estimated F̂_B "
        f"{len(estimated_diagonal)} of {len(names)}",
    ]
    return "\n".join(lines)
