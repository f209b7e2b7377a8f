r"""Estimating an f-divergence between two sample sets with the variational bound, and density ratios.

Only the critic is trained: ``V_ω`` maximises ``F(ω) = mean_P g_f(V_ω(x)) - mean_Q f*(g_f(V_ω(x)))``. The bound is
reported on held-out samples by cross-fitting: both sets are cut into ``folds`` parts; for each part a critic is
trained on the other parts (its steps chosen by early stopping on a validation split of them) and evaluated on the
part it never saw, so that every sample is used once for the estimate. With a confidence interval:

* ``normal``: ``F ± z_{(1+level)/2} · se``, ``se² = var_P[g_f(V)]/n_P + var_Q[f*(g_f(V))]/n_Q`` (the two sets are
  independent);
* ``bootstrap``: percentiles of F over resamples (with replacement) of each test set.

A critic's output on a held-out sample of P is clamped to the range it produced on the training samples of P, and
likewise for Q (for density ratios, at points of unknown origin, to the range on both): a critic can run away in
a region only one set reaches (reverse-kl's f*(g_f(v)) = v - 1 is linear, so V falls without bound where only Q
has samples), and one held-out sample of the other set landing there swamps a term unbounded in V. Unclamped, that
took a reverse-kl estimate in 10 dimensions to -0.48 against a truth of 0.98.

The interval is for the bound at the learned critics; the bound is below D_f, tight when a critic reaches
T* = f'(p/q). Where the ratio p/q is heavy-tailed under the set whose term is unbounded (for ``kl``, Q much narrower
than P), the held-out mean of that term is itself heavy-tailed and the estimate unreliable; the interval cannot
show it. Features are standardised jointly (one mean and scale from the training parts of both sets). The
density ratio r(x) = p(x)/q(x) comes from the critics as ``(f')^{-1}(g_f(V(x)))``, V the mean of their outputs.
"""

from __future__ import annotations

import copy
import math
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
from scipy.stats import norm
from torch import Tensor, nn

from fgan.critic_objective import CriticBatch, CriticObjective
from fgan.divergences import Divergence, get_divergence
from fgan.errors import UsageError
from fgan.models import ACTIVATIONS, MLPCritic
from fgan.objectives import variational_bound
from fgan.options import check_options, option
from fgan.training import DEVICES, resolve_device, seed_everything

#: ``EstimateConfig.ci``: the normal approximation, or bootstrap percentiles.
CIMethod = Literal["normal", "bootstrap"]
CI_METHODS: tuple[CIMethod, ...] = get_args(CIMethod)
#: The fewest samples a split may hold.
MIN_SPLIT = 10


@dataclass
class EstimateConfig:
    """Options of :func:`estimate_divergence`."""

    hidden: int = option(64, help="critic units per hidden layer", low=1)
    depth: int = option(2, help="critic hidden layers", low=1)
    activation: str = option("elu", help="the critic's hidden activation", choices=ACTIVATIONS)
    max_steps: int = option(4000, help="most steps per critic", low=1)
    batch_size: int = option(1024, help="minibatch size", low=1)
    lr: float = option(1e-3, help="Adam step size", low=0, low_open=True)
    folds: int = option(3, help="cross-fitting folds", low=2)
    validation_fraction: float = option(
        0.15,
        help="share of each fold's training samples held out to stop early",
        low=0,
        low_open=True,
        high=1,
        high_open=True,
    )
    eval_every: int = option(100, help="steps between validation bounds", low=1)
    patience: int = option(8, help="validation bounds without improvement before a critic stops", low=1)
    ci: CIMethod = option("normal", help="interval: normal approximation or bootstrap", choices=CI_METHODS)
    level: float = option(0.95, help="confidence level", low=0, low_open=True, high=1, high_open=True)
    bootstrap_samples: int = option(1000, help="bootstrap resamples of the interval", low=10)
    seed: int = option(0, help="random seed")
    device: str = option("auto", help="auto: cuda, then mps, then cpu", choices=DEVICES)

    def validate(self) -> None:
        """Raise UsageError naming the first option out of range (see :func:`fgan.options.check_options`)."""
        check_options(self)


@dataclass
class DivergenceEstimate:
    """The result of :func:`estimate_divergence`."""

    divergence: str
    estimate: float
    ci_low: float
    ci_high: float
    ci_method: str
    level: float
    n_p: int
    n_q: int
    folds: int
    best_steps: list[int]
    curve: list[dict[str, float]] = field(default_factory=list)
    critics: list[nn.Module] = field(default_factory=list, repr=False)
    shift: Tensor | None = field(default=None, repr=False)
    scale: Tensor | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The numbers, as JSON-ready values (no critic)."""
        values = asdict(self)
        for name in ("critics", "shift", "scale"):
            values.pop(name)
        return values

    def critic_output(self, x: np.ndarray | Tensor) -> Tensor:
        """The critics' mean raw output V(x) at points of the original (unstandardised) space, shape ``(n,)``.

        Raises:
            UsageError: for points of another dimension than the samples, or an estimate not made by
                :func:`estimate_divergence` (without the standardisation of its samples).
        """
        shift, scale = self.shift, self.scale
        if shift is None or scale is None:
            raise UsageError(
                "this estimate lacks the standardisation of its samples (shift, scale), which only "
                "estimate_divergence sets"
            )
        points = torch.as_tensor(as_samples(x, "points"))
        if points.shape[1] != len(shift):
            raise UsageError(f"points have dimension {points.shape[1]}, the samples had {len(shift)}")
        standardised = (points.to(shift.device) - shift) / scale
        with torch.no_grad():
            return torch.stack([critic(standardised) for critic in self.critics]).mean(0).cpu()

    def ratio(self, x: np.ndarray | Tensor) -> np.ndarray:
        """The density ratio ``r(x) = p(x)/q(x)`` from the critic, ``(f')^{-1}(g_f(V(x)))``, shape ``(n,)``.

        Raises:
            UsageError: for a divergence whose f' has no inverse (tv).
        """
        divergence = get_divergence(self.divergence)
        if not divergence.invertible_critic:
            raise UsageError(f"{divergence.name} gives no density ratio: its f' is not invertible")
        output = self.critic_output(x).double()
        return divergence.ratio_from_critic(divergence.activation(output)).numpy()


def as_samples(values: np.ndarray | Tensor, name: str) -> np.ndarray:
    """Samples as a float32 array of shape ``(n, d)`` (a 1-D array is one feature), checked finite and non-empty."""
    array = np.asarray(values.detach().cpu() if isinstance(values, Tensor) else values)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise UsageError(f"{name}: samples must have shape (n, d), got {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise UsageError(f"{name}: no samples (shape {array.shape})")
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise UsageError(f"{name}: samples must be real numbers, got dtype {array.dtype}")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise UsageError(
            f"{name}: {int(bad.sum())} rows hold NaN or infinite values (the first is row {int(np.argmax(bad))})"
        )
    return array.astype(np.float32)


def _interval(
    divergence: Divergence, real: Tensor, fake: Tensor, config: EstimateConfig, generator: np.random.Generator
) -> tuple[float, float]:
    """The confidence interval of the bound from the critic outputs on the test split."""
    gain = divergence.activation(real.double()).numpy()
    cost = divergence.conjugate_of_activation(fake.double()).numpy()
    estimate = gain.mean() - cost.mean()
    if config.ci == "normal":
        se = math.sqrt(gain.var(ddof=1) / len(gain) + cost.var(ddof=1) / len(cost))
        half = norm.ppf(0.5 + config.level / 2.0) * se
        return estimate - half, estimate + half
    draws = np.empty(config.bootstrap_samples)
    for index in range(config.bootstrap_samples):
        draws[index] = (
            gain[generator.integers(0, len(gain), len(gain))].mean()
            - cost[generator.integers(0, len(cost), len(cost))].mean()
        )
    tail = (1.0 - config.level) / 2.0
    return float(np.quantile(draws, tail)), float(np.quantile(draws, 1.0 - tail))


class ClampedCritic(nn.Module):
    """A trained critic whose output is clamped to ``[low, high]``."""

    low: Tensor
    high: Tensor

    def __init__(self, critic: nn.Module, low: Tensor, high: Tensor) -> None:
        super().__init__()
        self.critic = critic
        self.register_buffer("low", low)
        self.register_buffer("high", high)

    def forward(self, x: Tensor) -> Tensor:
        return torch.clamp(self.critic(x), self.low, self.high)


def _train_critic(
    divergence: Divergence, p_data: Tensor, q_data: Tensor, config: EstimateConfig, generator: np.random.Generator
) -> tuple[ClampedCritic, ClampedCritic, int, list[dict[str, float]]]:
    """A critic trained on most of ``p_data`` and ``q_data``, early-stopped on the rest: (the critic clamped to its
    range on the training samples of P, the same critic clamped to its range on those of Q, best step, curve)."""
    device = p_data.device
    p_order, q_order = generator.permutation(len(p_data)), generator.permutation(len(q_data))
    p_cut, q_cut = round(len(p_data) * config.validation_fraction), round(len(q_data) * config.validation_fraction)
    p_validation, p_train = p_data[p_order[:p_cut]], p_data[p_order[p_cut:]]
    q_validation, q_train = q_data[q_order[:q_cut]], q_data[q_order[q_cut:]]
    critic = MLPCritic(p_data.shape[1], config.hidden, config.depth, config.activation).to(device)
    optimizer = torch.optim.Adam(critic.parameters(), lr=config.lr)
    best_bound, best_state, best_step, waited = -math.inf, copy.deepcopy(critic.state_dict()), 0, 0
    curve: list[dict[str, float]] = []
    running = []
    objective = CriticObjective(divergence)  # the trainer's critic objective, without a penalty
    for step in range(1, config.max_steps + 1):
        real = p_train[torch.randint(len(p_train), (config.batch_size,), device=device)]
        fake = q_train[torch.randint(len(q_train), (config.batch_size,), device=device)]
        bound, loss = objective(CriticBatch(real, fake, critic(real), critic(fake)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running.append(bound.detach())
        if step % config.eval_every == 0 or step == config.max_steps:
            with torch.no_grad():
                validation = float(variational_bound(divergence, critic(p_validation), critic(q_validation)))
            curve.append(
                {"step": step, "train_bound": float(torch.stack(running).mean()), "validation_bound": validation}
            )
            running.clear()
            if validation > best_bound:
                best_bound, best_state, best_step, waited = validation, copy.deepcopy(critic.state_dict()), step, 0
            else:
                waited += 1
                if waited >= config.patience:
                    break
    critic.load_state_dict(best_state)
    critic.eval()
    with torch.no_grad():
        p_seen, q_seen = critic(p_train), critic(q_train)
    return (
        ClampedCritic(critic, p_seen.min(), p_seen.max()),
        ClampedCritic(critic, q_seen.min(), q_seen.max()),
        best_step,
        curve,
    )


def estimate_divergence(
    p_samples: np.ndarray | Tensor,
    q_samples: np.ndarray | Tensor,
    divergence: Divergence | str,
    config: EstimateConfig | None = None,
) -> DivergenceEstimate:
    """Estimate ``D_f(P||Q)`` from samples of P and Q (arrays of shape ``(n, d)``) with cross-fitted critics: the
    bound ``F = mean_P g_f(V(x)) - mean_Q f*(g_f(V(x)))`` over the held-out outputs of every fold's critic.

    Raises:
        UsageError: for mismatched dimensions, NaN or infinite rows, empty inputs, fewer samples than the folds
            and validation splits need, or bad options (one-line messages).
    """
    config = config or EstimateConfig()
    config.validate()
    divergence = get_divergence(divergence)
    p_array, q_array = _checked_sample_sets(p_samples, q_samples, config)
    seed_everything(config.seed)
    generator = np.random.default_rng(config.seed)
    p_data, q_data, shift, scale = _standardised(p_array, q_array, resolve_device(config.device))
    fit = _cross_fit(divergence, p_data, q_data, config, generator)
    estimate = float(variational_bound(divergence, fit.real.double(), fit.fake.double()))
    ci_low, ci_high = _interval(divergence, fit.real, fit.fake, config, generator)
    return DivergenceEstimate(
        divergence=divergence.name,
        estimate=estimate,
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        ci_method=config.ci,
        level=config.level,
        n_p=len(p_array),
        n_q=len(q_array),
        folds=config.folds,
        best_steps=fit.best_steps,
        curve=fit.curve,
        critics=fit.critics,
        shift=shift,
        scale=scale,
    )


def _checked_sample_sets(
    p_samples: np.ndarray | Tensor, q_samples: np.ndarray | Tensor, config: EstimateConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Both sample sets as float32 arrays (:func:`as_samples`), of one dimension, each with at least
    :data:`MIN_SPLIT` samples in its smallest split (a test fold, or a validation split of the other folds)."""
    p_array, q_array = as_samples(p_samples, "P"), as_samples(q_samples, "Q")
    if p_array.shape[1] != q_array.shape[1]:
        raise UsageError(f"P and Q differ in dimension: {p_array.shape[1]} and {q_array.shape[1]}")
    smallest_share = min(1.0 / config.folds, (1.0 - 1.0 / config.folds) * config.validation_fraction)
    for name, array in (("P", p_array), ("Q", q_array)):
        if len(array) * smallest_share < MIN_SPLIT:
            needed = math.ceil(MIN_SPLIT / smallest_share)
            raise UsageError(
                f"{name} has {len(array)} samples; {config.folds} folds with validation splits need at least {needed}"
            )
    return p_array, q_array


def _standardised(
    p_array: np.ndarray, q_array: np.ndarray, device: torch.device
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Both sample sets on ``device`` standardised jointly, ``(x - shift) / scale`` with ``shift`` and ``scale``
    the mean and standard deviation of both sets together (1 for a constant feature); and ``shift``, ``scale``."""
    p_data, q_data = torch.from_numpy(p_array).to(device), torch.from_numpy(q_array).to(device)
    both = torch.cat([p_data, q_data])
    shift, scale = both.mean(0), both.std(0)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return (p_data - shift) / scale, (q_data - shift) / scale, shift, scale


@dataclass
class _CrossFit:
    """The critics of the folds (each clamped to the range of its outputs on its training samples of both sets),
    their best steps and validation curves (each point with its fold), and their outputs on the held-out samples of
    P (``real``) and Q (``fake``), every sample once."""

    critics: list[nn.Module]
    best_steps: list[int]
    curve: list[dict[str, float]]
    real: Tensor
    fake: Tensor


def _cross_fit(
    divergence: Divergence, p_data: Tensor, q_data: Tensor, config: EstimateConfig, generator: np.random.Generator
) -> _CrossFit:
    """Both sets cut into ``config.folds`` parts; for each part, a critic trained on the other parts and evaluated
    on that part, its output on a sample of P (of Q) clamped to its range on the training samples of P (of Q)."""
    p_folds = np.array_split(generator.permutation(len(p_data)), config.folds)
    q_folds = np.array_split(generator.permutation(len(q_data)), config.folds)
    critics: list[nn.Module] = []
    best_steps: list[int] = []
    curves: list[dict[str, float]] = []
    real_outputs, fake_outputs = [], []
    for fold in range(config.folds):
        p_rest = np.concatenate([part for index, part in enumerate(p_folds) if index != fold])
        q_rest = np.concatenate([part for index, part in enumerate(q_folds) if index != fold])
        for_p, for_q, best_step, curve = _train_critic(divergence, p_data[p_rest], q_data[q_rest], config, generator)
        with torch.no_grad():
            real_outputs.append(for_p(p_data[p_folds[fold]]).cpu())
            fake_outputs.append(for_q(q_data[q_folds[fold]]).cpu())
        low, high = torch.minimum(for_p.low, for_q.low), torch.maximum(for_p.high, for_q.high)
        critics.append(ClampedCritic(for_p.critic, low, high))
        best_steps.append(best_step)
        curves.extend({"fold": fold, **point} for point in curve)
    return _CrossFit(critics, best_steps, curves, torch.cat(real_outputs), torch.cat(fake_outputs))


def load_samples(path: str | Path) -> np.ndarray:
    """Samples from a .npy file (an array), a .npz file (its only array, or the one named ``samples``) or a .csv
    file (comma-separated numbers, one sample a row; a header row is skipped), as float32 of shape ``(n, d)``.

    Raises:
        UsageError: for a missing, unreadable, empty or malformed file (one line naming it).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz", ".csv"):
        raise UsageError(f"{path}: samples must be a .npy, .npz or .csv file")
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                names = list(archive.keys())
                if len(names) != 1 and "samples" not in names:
                    raise UsageError(f"{path}: holds arrays {', '.join(names) or '(none)'}; name one 'samples'")
                array = archive["samples" if "samples" in names else names[0]]
        else:
            array = _read_csv(path)
    except UsageError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"{path}: cannot read samples: {first_line}") from None
    return as_samples(array, str(path))


def _read_csv(path: Path) -> np.ndarray:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise UsageError(f"{path}: empty file")
    try:
        float(lines[0].split(",")[0])
    except ValueError:
        lines = lines[1:]  # a header row
    try:
        rows = [[float(value) for value in line.split(",")] for line in lines]
    except ValueError as err:
        raise UsageError(f"{path}: not comma-separated numbers ({err})") from None
    if not rows or len({len(row) for row in rows}) != 1:
        raise UsageError(f"{path}: rows must all have the same number of values")
    return np.asarray(rows, dtype=np.float64)


def save_array(path: str | Path, values: np.ndarray) -> None:
    """Write values as .npy or .csv (by suffix)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        np.save(path, values)
    elif path.suffix.lower() == ".csv":
        np.savetxt(path, values.reshape(len(values), -1), delimiter=",")
    else:
        raise UsageError(f"{path}: output must be a .npy or .csv file")
