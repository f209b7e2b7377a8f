"""The paper's Section 4.1 (Table 3): fitting a Gaussian Q_θ = N(μ, σ²) to a 1-D Gaussian mixture P.

For each divergence: Algorithm 1 (single-step gradient method) with minibatches of 1024 from P and Q_θ, critic
V_ω an MLP with two hidden layers of 64 tanh units, step size 0.01. The learned (μ̂, σ̂) and the final bound
F(ω̂, θ̂) are compared with the exact best fit θ* = argmin_θ D_f(P||Q_θ) (quadrature and Nelder-Mead) and with the
exact divergences D_f(P||Q_θ*) and D_f(P||Q_θ̂).

``fgan reproduce gaussian-mixture`` keeps each fit as a run folder, ``OUT/runs/DIVERGENCE`` (config, metrics,
checkpoint, plots and the row as ``score.json``), which ``fgan report`` and ``fgan sample`` open. With ``cross`` it
also scores every fitted Q_θ̂ under every divergence (the table's right half, :mod:`fgan.experiments.table3_cross`).

D_f(P‖Q_θ) is not convex in θ: on a mixture of separated components the mode-seeking divergences (reverse KL,
Neyman χ²) have a local minimum on every component, and gradient descent ends in the one whose basin holds its
start. With ``restarts`` K > 1 each divergence is fitted from K starts (:func:`starting_points`) and the fit with the
smallest estimate of D_f(P‖Q_θ̂) is kept: the largest of the lower bounds at hand, F(ω̂, θ̂) of the fit's own
critic, F of a fresh critic trained against the frozen Q_θ̂ (:func:`fgan.experiments.table3_cross.train_critic`),
and F of every other start's final critic against this start's Q_θ̂ (:func:`cross_start_bounds`). All are what a
user with samples alone can compute; each is ≤ D_f(P‖Q_θ̂) up to sampling noise (every critic gives a lower
bound), so the largest is the tightest, and a critic that failed (its F far below D_f, even negative: the constant
critic f'(1) gives F = 0) is outvoted by the others. The other starts' critics matter where the fits end close
together: a start whose own critic fell short then looks like the best fit by its own bound alone (jeffrey-ratio,
10,000 steps: kept at D_f 2.871 with its own F 6.4 % short, over fits at D_f 2.802), while a neighbour's critic,
trained against a Q_θ̂ a little way off, reads its D_f within 1 %. Train each start's critic well
(``--update alternating --critic-steps 5``) and check F against D_f in the table.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from fgan.data import PAPER_MIXTURE, GaussianMixture, parse_mixture
from fgan.divergences import EXAMPLE_DIVERGENCES, PAPER_DIVERGENCES, Divergence, get_divergence
from fgan.errors import UsageError
from fgan.experiments.protocol import Experiment, ExperimentResult, Progress, open_experiment_folder, quiet, written
from fgan.experiments.table3_cross import CrossCell, cross_table, format_cross, gaussian_sampler, train_critic
from fgan.folder_names import folder_name
from fgan.models import LocationScaleGenerator, sample_latent
from fgan.objectives import variational_bound
from fgan.options import check_options, option
from fgan.plotting import save_figure, subplots
from fgan.profiles import profile
from fgan.quadrature import (
    Component,
    best_gaussian_fit,
    check_mass,
    covering_grid,
    gaussian_fit_divergence,
    gaussian_log_density,
)
from fgan.runner import ModelConfig, RunConfig, build_models, plot_vector_run
from fgan.runs import CONFIG_FILE, load_latest_checkpoint, prepare_run_dir, write_json
from fgan.snapshots import SnapshotRecorder, write_snapshots
from fgan.step import NonFiniteError
from fgan.training import TrainConfig, Trainer, seed_everything

COLUMNS = (
    "divergence",
    "objective_hat",
    "divergence_star",
    "divergence_at_hat",
    "mu_hat",
    "mu_star",
    "sigma_hat",
    "sigma_star",
)
#: Samples per distribution for evaluating F(ω̂, θ̂) after training.
EVALUATION_SAMPLES = 200_000
#: Q_θ = N(μ, σ²) and the critic, an MLP with two hidden layers of 64 tanh units.
MODEL = ModelConfig(model="mlp", generator="location-scale", critic_hidden=64, critic_depth=2, critic_activation="tanh")
#: A fit's row, in its run folder.
SCORE_FILE = "score.json"
#: Samples of P whose quantiles place the restarts (:func:`starting_points`).
START_SAMPLES = 100_000
#: A start (μ₀, σ₀) of Q_θ.
Start = tuple[float, float]


@dataclass
class FitRow:
    """One row of Table 3."""

    divergence: str
    objective_hat: float
    divergence_star: float
    divergence_at_hat: float
    mu_hat: float
    mu_star: float
    sigma_hat: float
    sigma_star: float
    seed: int
    steps: int
    seconds: float
    mu_start: float
    sigma_start: float
    start: int = 0
    failure: str = ""
    objective_refit: float = math.nan
    objective_cross: float = math.nan


def default_config(steps: int = 5000, seed: int = 0) -> TrainConfig:
    """The paper's settings: Algorithm 1, minibatches of 1024, step size 0.01 (Adam)."""
    return profile("table3", steps=steps, seed=seed)


def estimate_bound(trainer: Trainer, samples: int = EVALUATION_SAMPLES) -> float:
    """F(ω̂, θ̂) on fresh samples from P and Q_θ̂ with the trained critic."""
    with torch.no_grad():
        real = trainer.data.sample(samples, trainer.device)
        generator = trainer.evaluation_generator
        fake = generator(sample_latent(generator, samples, trainer.device))
        return float(variational_bound(trainer.divergence, trainer.critic(real), trainer.critic(fake)))


def starting_points(mixture: GaussianMixture, restarts: int, seed: int = 0) -> list[Start]:
    """The K = ``restarts`` starts of a fit: the generator's own initialisation (Table 3's, N(0, 1)), then for
    j = 1, ..., K − 1 the start μ₀ = the (j − ½)/(K − 1) quantile of P, σ₀ = std(P)/(K − 1): K − 1 Gaussians
    side by side across P's mass. Quantiles and std come from :data:`START_SAMPLES` samples of P (drawn with
    ``seed``), what a user with data alone has."""
    own = LocationScaleGenerator()
    starts = [(own.mu.item(), own.sigma.item())]
    if restarts == 1:
        return starts
    seed_everything(seed)
    samples = mixture.sample(START_SAMPLES)[:, 0].double()
    levels = (torch.arange(1, restarts, dtype=torch.float64) - 0.5) / (restarts - 1)
    sigma = float(samples.std()) / (restarts - 1)
    return starts + [(float(mu), sigma) for mu in torch.quantile(samples, levels)]


def fit_one(
    mixture: GaussianMixture,
    divergence_name: str,
    config: TrainConfig,
    recorder: SnapshotRecorder | None = None,
    run_dir: Path | None = None,
    start: Start | None = None,
) -> FitRow:
    """Train Q_θ under one divergence from ``start`` (None: the generator's own) and compare it with the exact best
    fit; ``recorder`` takes snapshots of the training dynamics; ``run_dir`` (a prepared run folder) receives the
    metrics and the final checkpoint."""
    trainer, seconds, initial = _train(mixture, divergence_name, config, recorder, run_dir, start)
    return _fit_row(trainer, mixture, config, seconds, initial)


def _train(
    mixture: GaussianMixture,
    divergence_name: str,
    config: TrainConfig,
    recorder: SnapshotRecorder | None,
    run_dir: Path | None,
    start: Start | None = None,
) -> tuple[Trainer, float, Start]:
    """The trained Trainer of one fit from ``start`` (None: the generator's own), its training time in seconds and
    the (μ₀, σ₀) it started from."""
    seed_everything(config.seed)  # each fit from its own seed, whatever ran before it in the process
    generator, critic = mixture_models(mixture.dim)
    assert isinstance(generator, LocationScaleGenerator), "Table 3 fits Q_θ = N(μ, σ²) (see MODEL)"
    if start is not None:
        with torch.no_grad():
            generator.mu.fill_(start[0])
            generator.log_sigma.fill_(math.log(start[1]))
    initial = (generator.mu.item(), generator.sigma.item())
    trainer = Trainer(generator, critic, mixture, get_divergence(divergence_name), config, run_dir=run_dir)
    seed_everything(config.seed)  # the minibatches drawn do not depend on the networks' initialisation
    if recorder is not None:
        recorder.attach(trainer)
    began = time.perf_counter()
    trainer.train()
    return trainer, time.perf_counter() - began, initial


def _fit_row(trainer: Trainer, mixture: GaussianMixture, config: TrainConfig, seconds: float, initial: Start) -> FitRow:
    """The fitted (μ̂, σ̂) and F(ω̂, θ̂) against the exact best fit θ* and the exact divergences."""
    divergence, generator = trainer.divergence, trainer.evaluation_generator
    assert isinstance(generator, LocationScaleGenerator), "Table 3 fits Q_θ = N(μ, σ²) (see MODEL)"
    mu_hat, sigma_hat = generator.mu.item(), generator.sigma.item()
    cover = mixture_components(mixture)
    mu_star, sigma_star, divergence_star = best_gaussian_fit(
        divergence, mixture.log_prob, (float(mixture.mean()), float(mixture.std())), cover=cover
    )
    divergence_at_hat = divergence_at(divergence, mixture, mu_hat, sigma_hat)
    return FitRow(
        divergence.name,
        estimate_bound(trainer),
        divergence_star,
        divergence_at_hat,
        mu_hat,
        mu_star,
        sigma_hat,
        sigma_star,
        config.seed,
        config.steps,
        seconds,
        *initial,
    )


def mixture_components(mixture: GaussianMixture) -> list[Component]:
    """The (mean, std) of each component of a 1-D mixture: what the quadrature grids cover."""
    return list(zip(mixture.means[:, 0].tolist(), mixture.stds.tolist(), strict=True))


def check_mixture(spec: str) -> GaussianMixture:
    """The 1-D mixture ``spec``, refused (UsageError) unless it is one-dimensional and its density integrates to 1
    on its quadrature grid (:func:`fgan.quadrature.check_mass`)."""
    mixture = parse_mixture(spec)
    if mixture.dim != 1:
        raise UsageError("the mixture must be one-dimensional")
    check_mass(mixture.log_prob, covering_grid(mixture_components(mixture)), f"the mixture {spec!r}")
    return mixture


def divergence_at(divergence: Divergence, mixture: GaussianMixture, mu: float, sigma: float) -> float:
    """The exact ``D_f(P‖N(μ, σ²))`` for the mixture P, by quadrature on a grid covering P and the fit."""
    return gaussian_fit_divergence(divergence, mixture.log_prob, mixture_components(mixture), mu, sigma)


def format_table(rows: list[FitRow]) -> str:
    """Table 3 as Markdown."""
    header = "| divergence | F(ω̂, θ̂) | D_f(P‖Q_θ*) | D_f(P‖Q_θ̂) | μ̂ | μ* | σ̂ | σ* |"
    lines = [header, "|" + "---|" * 8]
    for row in rows:
        values = [getattr(row, name) for name in COLUMNS[1:]]
        lines.append(f"| {row.divergence} | " + " | ".join(_number(value) for value in values) + " |")
    return "\n".join(lines)


def format_starts(fits: list[FitRow], kept: list[FitRow]) -> str:
    """Every start's fit as Markdown, the kept ones marked: (μ₀, σ₀), (μ̂, σ̂), F(ω̂, θ̂), the fresh critic's F,
    the largest F of the other starts' critics and D_f(P‖Q_θ̂)."""
    header = (
        "| divergence | start | μ₀ | σ₀ | μ̂ | σ̂ | F(ω̂, θ̂) | F, fresh critic | F, other starts' critics "
        "| D_f(P‖Q_θ̂) | kept |"
    )
    lines = [header, "|" + "---|" * 11]
    kept_starts = {(row.divergence, row.start) for row in kept}
    for row in fits:
        values = (
            row.mu_start,
            row.sigma_start,
            row.mu_hat,
            row.sigma_hat,
            row.objective_hat,
            row.objective_refit,
            row.objective_cross,
            row.divergence_at_hat,
        )
        mark = "yes" if (row.divergence, row.start) in kept_starts else ("failed" if row.failure else "")
        lines.append(f"| {row.divergence} | {row.start} | " + " | ".join(map(_number, values)) + f" | {mark} |")
    return "\n".join(lines)


def _number(value: float) -> str:
    """A table cell: four decimals, or four significant digits from 10⁶ on (a Neyman χ² far off is 10³⁰⁰)."""
    return f"{value:.4f}" if abs(value) < 1e6 else f"{value:.4g}"


def _from_starts(count: int) -> str:
    return "" if count == 1 else f", from {count} starts"


def plot_fits(mixture: GaussianMixture, rows: list[FitRow], path: Path) -> None:
    """One panel per divergence: p, q_θ̂ and q_θ*."""
    x = torch.linspace(-5.0, 7.0, 1201, dtype=torch.float64)
    density_p = torch.exp(mixture.log_prob(x))
    columns = min(len(rows), 3)
    lines = (len(rows) + columns - 1) // columns
    figure, axes = subplots(lines, columns, figsize=(4.2 * columns, 3.2 * lines), squeeze=False)
    for axis, row in zip(axes.flat, rows, strict=False):
        axis.plot(x, density_p, color="black", label="p (mixture)")
        axis.plot(x, torch.exp(gaussian_log_density(row.mu_hat, row.sigma_hat)(x)), label="q_θ̂ (learned)")
        axis.plot(x, torch.exp(gaussian_log_density(row.mu_star, row.sigma_star)(x)), "--", label="q_θ* (best fit)")
        axis.set_title(f"{row.divergence}: F = {row.objective_hat:.3f}, D_f(θ̂) = {row.divergence_at_hat:.3f}")
        axis.set_xlabel("x")
    for axis in list(axes.flat)[len(rows) :]:
        axis.axis("off")
    axes.flat[0].legend(fontsize=8)
    save_figure(figure, path)


def write_outputs(mixture: GaussianMixture, rows: list[FitRow], out: Path) -> None:
    """table.md, table.json and fits.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(format_table(rows) + "\n")
    write_json(out / "table.json", [asdict(row) for row in rows])
    plot_fits(mixture, rows, out / "fits.png")


def fit_into_run(
    spec: str,
    divergence_name: str,
    config: TrainConfig,
    recorder: SnapshotRecorder,
    out: Path,
    start: Start | None = None,
    index: int = 0,
) -> FitRow:
    """:func:`fit_one` of the mixture ``spec`` (``w:mean:std,...``) from ``start`` (number ``index`` of the
    divergence's starts) kept as a run folder ``out`` that ``fgan report`` and ``fgan sample`` open: config.json,
    metrics, checkpoint, plots, and the row as score.json. The plots are drawn after the row is measured, so the row
    is that of :func:`fit_one`."""
    mixture = parse_mixture(spec)
    run = RunConfig(
        data=f"mixture:{spec}",
        divergence=get_divergence(divergence_name).name,
        model=MODEL.resolved(f"mixture:{spec}", mixture.dim),
        train=config,
        data_shape=[mixture.dim],
    )
    prepare_run_dir(out, force=True)
    write_json(out / CONFIG_FILE, run.to_dict())
    trainer, seconds, initial = _train(mixture, divergence_name, config, recorder, out, start)
    row = replace(_fit_row(trainer, mixture, config, seconds, initial), start=index)
    write_json(out / SCORE_FILE, asdict(row))
    plot_vector_run(trainer, f"{row.divergence} on the mixture, {trainer.step} steps")
    return row


def fit_from_starts(
    spec: str, divergence_name: str, config: TrainConfig, starts: list[Start], snapshots: int, out: Path
) -> tuple[FitRow, list[FitRow]]:
    """The kept fit of one divergence (the smallest :func:`selection_bound`) and the fits from each of ``starts``,
    in their order.

    One start trains straight into ``out/runs/NAME``; several train into ``out/starts/NAME/J`` each, and the kept
    fit's folder is copied to ``out/runs/NAME``. The kept fit's snapshots go to ``out/dynamics/NAME``. Of several
    starts, one whose training met a non-finite loss or gradient is a row with its ``failure`` and NaN values, and
    is never kept; when every start fails (or the only one does) the error is raised."""
    name = folder_name(divergence_name)
    several = len(starts) > 1
    mixture = parse_mixture(spec)
    rows, recorders = [], []
    for index, start in enumerate(starts):
        folder = out / "starts" / name / str(index) if several else out / "runs" / name
        recorders.append(SnapshotRecorder(snapshots, config.steps))
        try:
            row = fit_into_run(spec, divergence_name, config, recorders[-1], folder, start, index)
        except NonFiniteError as error:
            if not several:
                raise
            rows.append(_failed_fit(divergence_name, config, start, index, str(error)))
            continue
        if several:
            refit = train_critic(mixture, gaussian_sampler(row.mu_hat, row.sigma_hat), divergence_name, config.seed)
            row = replace(row, objective_refit=refit)
            write_json(folder / SCORE_FILE, asdict(row))
        rows.append(row)
    finished = [index for index, row in enumerate(rows) if not row.failure]
    if not finished:
        raise NonFiniteError(f"every start of {divergence_name} failed; the last: {rows[-1].failure}")
    if len(finished) > 1:
        folders = [out / "starts" / name / str(index) for index in finished]
        cross = cross_start_bounds(mixture, divergence_name, folders, [rows[index] for index in finished])
        for index, folder, bound in zip(finished, folders, cross, strict=True):
            rows[index] = replace(rows[index], objective_cross=bound)
            write_json(folder / SCORE_FILE, asdict(rows[index]))
    kept = min(finished, key=lambda index: selection_bound(rows[index]))
    if several:
        shutil.rmtree(out / "runs" / name, ignore_errors=True)
        shutil.copytree(out / "starts" / name / str(kept), out / "runs" / name)
    write_snapshots(recorders[kept].snapshots, out / "dynamics" / name, divergence_name)
    return rows[kept], rows


def selection_bound(row: FitRow) -> float:
    """The estimate of D_f(P‖Q_θ̂) by which starts are compared: the largest of the fit's F(ω̂, θ̂), the fresh
    critic's and the other starts' critics' (all lower bounds of it; those not measured, NaN, left out)."""
    return max(
        value for value in (row.objective_hat, row.objective_refit, row.objective_cross) if not math.isnan(value)
    )


def mixture_models(dim: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Table 3's generator and critic (:data:`MODEL`) for data of dimension ``dim``, freshly initialised."""
    return build_models(RunConfig(data="mixture", model=MODEL.resolved("mixture", dim), data_shape=[dim]))


def final_critic(folder: Path, dim: int) -> torch.nn.Module:
    """The critic of a fit's run folder, from its newest checkpoint, in eval mode."""
    _, critic = mixture_models(dim)
    critic.load_state_dict(load_latest_checkpoint(folder)[1]["critic"])
    return critic.eval()


def cross_start_bounds(
    mixture: GaussianMixture, divergence_name: str, folders: list[Path], rows: list[FitRow]
) -> list[float]:
    """Per fit j (its run folder and row), the largest F(ω̂_k, θ̂_j) over the final critics ω̂_k of the other fits,
    each a lower bound of D_f(P‖Q_θ̂_j), on :data:`EVALUATION_SAMPLES` samples of P and of Q_θ̂_j shared by the
    critics (so that they differ by their critics, not by their samples)."""
    divergence = get_divergence(divergence_name)
    critics = [final_critic(folder, mixture.dim) for folder in folders]
    bounds = []
    with torch.no_grad():
        for j, row in enumerate(rows):
            real = mixture.sample(EVALUATION_SAMPLES, "cpu")
            fake = gaussian_sampler(row.mu_hat, row.sigma_hat)(EVALUATION_SAMPLES)
            others = [critic for k, critic in enumerate(critics) if k != j]
            bounds.append(max(float(variational_bound(divergence, c(real), c(fake))) for c in others))
    return bounds


def _failed_fit(divergence_name: str, config: TrainConfig, start: Start, index: int, failure: str) -> FitRow:
    """The row of a start whose training failed: its start and ``failure``, NaN for what it did not measure."""
    nan = math.nan
    name = get_divergence(divergence_name).name
    return FitRow(name, nan, nan, nan, nan, nan, nan, nan, config.seed, config.steps, nan, *start, index, failure)


@dataclass
class Table3Options:
    """The options of ``fgan reproduce gaussian-mixture``; ``train`` is the training of every fit."""

    divergences: tuple[str, ...] = option(
        PAPER_DIVERGENCES,
        help="divergences to fit; 'all' for every one",
        flag="divergence",
        metavar="NAME",
    )
    mixture: str = option(PAPER_MIXTURE, help="P as w:mean:std,...")
    snapshots: int = option(
        6, help="K snapshots of the training dynamics per divergence (dynamics/NAME/dynamics.png and .gif)", low=1
    )
    restarts: int = option(
        1,
        help="K starts per divergence: the generator's own, then K-1 side by side across P's quantiles; the fit "
        "with the smallest bound (the largest F of its own critic, a fresh critic and the other starts' critics) "
        "is kept (starts.md, starts.json)",
        low=1,
    )
    cross: bool = option(
        False,
        help="also the right half: each fitted Q scored by a fresh critic under every divergence, against the "
        "exact divergence (cross.md, cross.json)",
    )
    force: bool = option(False, help="overwrite an output folder that holds results")
    train: TrainConfig = field(default_factory=default_config)


@dataclass
class Table3Result(ExperimentResult[FitRow]):
    """The rows of the left half; with ``cross``, the cells of the right half; with ``restarts``, every start's fit."""

    cross: list[CrossCell] | None = None
    starts: list[FitRow] | None = None


class Table3Mixture(Experiment[Table3Options, FitRow]):
    """Section 4.1, Table 3: a Gaussian fitted to a 1-D mixture under each divergence."""

    name = "gaussian-mixture"
    summary = "Section 4.1, Table 3: a Gaussian fitted to a mixture"
    Options = Table3Options

    def run(
        self, options: Table3Options, out: Path | None = None, progress: Progress | None = None
    ) -> ExperimentResult[FitRow]:
        """Fit every divergence (``all``: every example divergence) into ``out/runs/NAME``, with the snapshots of
        its dynamics in ``out/dynamics/NAME``; then table.md, table.json and fits.png."""
        check_options(options)
        say = progress or quiet
        names = list(EXAMPLE_DIVERGENCES) if "all" in options.divergences else list(options.divergences)
        divergences = [get_divergence(name).name for name in names]
        mixture = check_mixture(options.mixture)
        config = options.train
        config.validate()
        SnapshotRecorder(options.snapshots, config.steps)  # a bad count is refused before any output is written
        settings = {
            "mixture": options.mixture,
            "divergences": divergences,
            "restarts": options.restarts,
            "train": asdict(config),
        }
        out = open_experiment_folder(self.name, out, settings, force=options.force)
        starts = starting_points(mixture, options.restarts, config.seed)
        rows, every_start = [], []
        for index, name in enumerate(divergences, start=1):
            say(f"[{index}/{len(divergences)}] {name}: {config.steps} steps" + _from_starts(len(starts)))
            kept, of_starts = fit_from_starts(options.mixture, name, config, starts, options.snapshots, out)
            rows.append(kept)
            every_start += of_starts
        write_outputs(mixture, rows, out)
        if len(starts) > 1:
            (out / "starts.md").write_text(format_starts(every_start, rows) + "\n")
            write_json(out / "starts.json", [asdict(row) for row in every_start])
        fits_of_starts = every_start if len(starts) > 1 else None
        if not options.cross:
            return Table3Result(rows, out, starts=fits_of_starts)
        fits = [(row.divergence, row.mu_hat, row.sigma_hat) for row in rows]
        cells = cross_table(
            mixture, fits, lambda divergence, mu, sigma: divergence_at(divergence, mixture, mu, sigma), config.seed, say
        )
        (out / "cross.md").write_text(format_cross(cells) + "\n")
        write_json(out / "cross.json", [asdict(cell) for cell in cells])
        return Table3Result(rows, out, cells, fits_of_starts)

    def format(self, result: ExperimentResult[FitRow]) -> str:
        files = written(result.folder, "table.md", "table.json", "fits.png", "runs/NAME", "dynamics/NAME/dynamics.png")
        text = f"{format_table(result.rows)}\n\n{files} and .gif"
        if isinstance(result, Table3Result) and result.starts is not None:
            starts = format_starts(result.starts, result.rows)
            text += f"\n\n{starts}\n\n{written(result.folder, 'starts.md', 'starts.json', 'starts/NAME/J')}"
        if isinstance(result, Table3Result) and result.cross is not None:
            text += f"\n\n{format_cross(result.cross)}\n\n{written(result.folder, 'cross.md', 'cross.json')}"
        return text
