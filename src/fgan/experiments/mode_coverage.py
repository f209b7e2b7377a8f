"""Which divergences seek modes and which cover mass, measured (``fgan reproduce modes``).

The 2-D ring (8 modes) and grid (25 modes) are each fitted under each divergence with the same budget and several
seeds: the default MLP generator (latent dimension 8) and critic of ``fgan train``, Algorithm 1 with Adam at 1e-3
falling linearly, minibatches of 512. Each run's generator then draws 10,000 samples, scored by
:func:`fgan.modes.mode_coverage`: the modes covered and the share of high-quality samples (within 3σ of a mode).
Plain Algorithm 1 by default; with ``--stabilizer`` (a stabiliser of :mod:`fgan.stabilizers`, or ``recommended``)
every run is also trained with it, and the table shows both, plain first.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from matplotlib.patches import Circle
from torch import Tensor, nn

from fgan.data import GaussianMixture
from fgan.datasets import synthetic_mixture
from fgan.divergences import get_divergence
from fgan.errors import require
from fgan.experiments.protocol import Experiment, ExperimentResult, Progress, open_experiment_folder, written
from fgan.modes import DEFAULT_SIGMAS, mode_coverage
from fgan.options import check_options, option
from fgan.plotting import save_figure, subplots
from fgan.profiles import profile
from fgan.runner import ModelConfig, RunConfig, build_models, generate
from fgan.runs import write_json
from fgan.step import NonFiniteError
from fgan.training import TrainConfig, Trainer, seed_everything

MODE_DIVERGENCES = ("kl", "reverse-kl", "js", "gan", "hellinger", "pearson", "neyman", "jeffrey", "tv")
DATASETS = ("ring", "grid")
SEEDS = (0, 1, 2)
DEFAULT_STEPS = 3000
#: Generated samples scored per run.
DEFAULT_SAMPLES = 10_000
#: Generated samples kept per panel of the figures.
PLOT_SAMPLES = 2000


@dataclass
class ModeRow:
    """One run: a divergence fitted to a data set with one seed. The metrics are None for a run that diverged."""

    dataset: str
    divergence: str
    seed: int
    steps: int
    seconds: float
    status: str
    modes_covered: int | None
    n_modes: int
    high_quality_share: float | None
    kl_to_uniform: float | None
    stabilizer: str = "none"

    @property
    def trained(self) -> bool:
        return not self.status.startswith("diverged")


@dataclass
class ModeSummary:
    """The runs of one (data set, divergence) over the seeds; means and standard deviations (None for fewer than
    two runs) over the runs that trained."""

    dataset: str
    divergence: str
    n_modes: int
    runs: int
    diverged: int
    modes_mean: float | None
    modes_std: float | None
    quality_mean: float | None
    quality_std: float | None
    kl_mean: float | None
    stabilizer: str = "none"


def default_config(steps: int = DEFAULT_STEPS, seed: int = 0) -> TrainConfig:
    """The synthetic defaults of ``fgan train`` (Adam at 1e-3 falling linearly, minibatches of 512), on the CPU,
    quiet, without checkpoints (the runs stay in memory)."""
    return profile("modes", steps=steps, seed=seed)


def check_names(datasets: Sequence[str], divergences: Sequence[str]) -> list[str]:
    """The canonical divergence names; an unknown data set or divergence, or an empty list, is a UsageError."""
    require(
        [
            (len(datasets) > 0, "no data sets given"),
            (len(divergences) > 0, "no divergences given"),
            *((name in DATASETS, f"unknown data set {name!r}; valid: {', '.join(DATASETS)}") for name in datasets),
        ]
    )
    return [get_divergence(name).name for name in divergences]


def build_default_models(dataset: str, dim: int, model: ModelConfig | None = None) -> tuple[nn.Module, nn.Module]:
    """The generator and critic ``fgan train`` builds for the synthetic data set ``dataset`` of dimension ``dim``
    (with ``model``'s sizes, by default ``fgan train``'s)."""
    return build_models(
        RunConfig(data=dataset, model=(model or ModelConfig()).resolved(dataset, dim), data_shape=[dim])
    )


def train_one(
    dataset: str,
    divergence: str,
    config: TrainConfig,
    samples: int = DEFAULT_SAMPLES,
    model: ModelConfig | None = None,
) -> tuple[ModeRow, Tensor | None]:
    """Fit ``dataset`` under ``divergence`` with ``config`` (in memory, the networks of ``model``, by default those
    of ``fgan train``) and score ``samples`` generated samples.

    Returns the row and the generated samples (on the CPU), or None in place of the samples for a run stopped by
    a non-finite loss or gradient, whose row says at which step it diverged.
    """
    mixture = synthetic_mixture(dataset)
    seed_everything(config.seed)
    generator, critic = build_default_models(dataset, mixture.dim, model)
    trainer = Trainer(generator, critic, mixture, divergence, config)
    seed_everything(config.seed)  # the minibatches drawn do not depend on the networks' initialisation
    name, stabilizer = trainer.divergence.name, " + ".join(trainer.config.stabilizer)
    row = ModeRow(dataset, name, config.seed, 0, 0.0, "trained", None, len(mixture.means), None, None, stabilizer)
    start = time.perf_counter()
    try:
        trainer.train()
    except NonFiniteError:
        seconds = time.perf_counter() - start
        return replace(row, steps=trainer.step, seconds=seconds, status=f"diverged at step {trainer.step + 1}"), None
    seconds = time.perf_counter() - start
    generated = generate(trainer.evaluation_generator.eval(), samples, seed=config.seed).cpu()
    coverage = mode_coverage(generated, mixture)
    status = f"trained, {trainer.skipped_steps} steps skipped" if trainer.skipped_steps else "trained"
    row = replace(
        row,
        steps=trainer.step,
        seconds=seconds,
        status=status,
        modes_covered=coverage.modes_covered,
        high_quality_share=coverage.high_quality_share,
        kl_to_uniform=coverage.kl_to_uniform,
    )
    return row, generated


def run_modes(
    datasets: Sequence[str],
    divergences: Sequence[str],
    seeds: Sequence[int],
    config: TrainConfig,
    samples: int = DEFAULT_SAMPLES,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[ModeRow], dict[str, dict[str, Tensor | None]]]:
    """Every (data set, divergence, seed) run with ``config`` (its seed replaced), and for the figures, per data set
    and divergence, ``PLOT_SAMPLES`` generated samples of the first seed that trained (None if none did).

    ``progress`` receives one line before each run.
    """
    names = check_names(datasets, divergences)
    require([(len(seeds) > 0, "no seeds given")])
    config.validate()
    say = progress or (lambda message: None)
    rows: list[ModeRow] = []
    plotted: dict[str, dict[str, Tensor | None]] = {dataset: {} for dataset in datasets}
    total, index = len(datasets) * len(names) * len(seeds), 0
    for dataset in datasets:
        for name in names:
            plotted[dataset][name] = None
            for seed in seeds:
                index += 1
                say(f"[{index}/{total}] {dataset}, {name}, seed {seed}: {config.steps} steps")
                row, generated = train_one(dataset, name, replace(config, seed=seed), samples)
                rows.append(row)
                if generated is not None and plotted[dataset][name] is None:
                    plotted[dataset][name] = generated[:PLOT_SAMPLES]
    return rows, plotted


def side_by_side(plain: Sequence[ModeRow], stabilized: Sequence[ModeRow]) -> list[ModeRow]:
    """The rows of both runs of the same (data set, divergence, seed) next to each other, plain first."""
    return [row for pair in zip(plain, stabilized, strict=True) for row in pair]


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def summarise(rows: Sequence[ModeRow]) -> list[ModeSummary]:
    """One summary per (data set, divergence, stabiliser), in the order of first appearance of the (data set,
    divergence), its stabilisers side by side."""
    groups: dict[tuple[str, str], dict[str, list[ModeRow]]] = {}
    for row in rows:
        groups.setdefault((row.dataset, row.divergence), {}).setdefault(row.stabilizer, []).append(row)
    summaries = []
    for (dataset, divergence), stabilizer, group in (
        (key, stabilizer, group) for key, by_stabilizer in groups.items() for stabilizer, group in by_stabilizer.items()
    ):
        trained = [row for row in group if row.trained]
        modes_mean, modes_std = _mean_std(
            [float(row.modes_covered) for row in trained if row.modes_covered is not None]
        )
        quality_mean, quality_std = _mean_std(
            [row.high_quality_share for row in trained if row.high_quality_share is not None]
        )
        kl_mean, _ = _mean_std([row.kl_to_uniform for row in trained if row.kl_to_uniform is not None])
        n_modes = group[0].n_modes
        summaries.append(
            ModeSummary(
                dataset,
                divergence,
                n_modes,
                len(group),
                len(group) - len(trained),
                modes_mean,
                modes_std,
                quality_mean,
                quality_std,
                kl_mean,
                stabilizer,
            )
        )
    return summaries


def _spread(mean: float | None, std: float | None, digits: int) -> str:
    if mean is None:
        return "—"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def format_table(summaries: Sequence[ModeSummary], rows: Sequence[ModeRow] = ()) -> str:
    """Markdown: per data set and divergence the modes covered (of all), the high-quality share (mean ± standard
    deviation over the seeds that trained), the mean KL of the mode histogram to uniform and the runs that
    diverged, with a stabiliser column when some run was stabilised; then one line for each diverged run of
    ``rows``."""
    stabilized = any(summary.stabilizer != "none" for summary in summaries)
    head = "| dataset | divergence | stabilizer |" if stabilized else "| dataset | divergence |"
    lines = [
        f"{head} modes covered | high-quality share | mode KL | runs diverged |",
        f"|---|---|{'---|' if stabilized else ''}---:|---:|---:|---:|",
    ]
    for summary in summaries:
        modes = f"{_spread(summary.modes_mean, summary.modes_std, 1)} of {summary.n_modes}"
        kl = "—" if summary.kl_mean is None else f"{summary.kl_mean:.3f}"
        name = f"{summary.divergence} | {summary.stabilizer}" if stabilized else summary.divergence
        lines.append(
            f"| {summary.dataset} | {name} | {modes} | "
            f"{_spread(summary.quality_mean, summary.quality_std, 3)} | {kl} | "
            f"{summary.diverged}/{summary.runs} |"
        )
    diverged = [
        f"{row.dataset}, {row.divergence}{'' if row.stabilizer == 'none' else ', ' + row.stabilizer}, seed {row.seed}: "
        f"{row.status}"
        for row in rows
        if not row.trained
    ]
    return "\n".join([*lines, "", *diverged]).rstrip()


def plot_modes(
    samples_by_divergence: dict[str, Tensor | None],
    mixture: GaussianMixture,
    path: Path,
    title: str = "",
    sigmas: float = DEFAULT_SIGMAS,
) -> None:
    """One panel of generated samples per divergence over the mode centres (crosses) and their ``sigmas``-σ circles,
    equal aspect, the view fixed to the modes with a margin; a divergence whose samples are None is shown as
    diverged."""
    means, radii = mixture.means.tolist(), (sigmas * mixture.stds).tolist()
    low, high = mixture.means.min().item(), mixture.means.max().item()
    margin = 0.25 * (high - low) + sigmas * mixture.stds.max().item()
    columns = min(len(samples_by_divergence), 3)
    lines = (len(samples_by_divergence) + columns - 1) // columns
    figure, axes = subplots(lines, columns, figsize=(3.6 * columns, 3.6 * lines), squeeze=False)
    for axis, (name, samples) in zip(axes.flat, samples_by_divergence.items(), strict=False):
        if samples is None:
            axis.text(0.5, 0.5, "diverged", ha="center", va="center", transform=axis.transAxes)
        else:
            points = samples.detach().cpu()
            axis.scatter(points[:, 0], points[:, 1], s=2, alpha=0.3, color="tab:orange", linewidths=0)
        for (x, y), radius in zip(means, radii, strict=True):
            axis.add_patch(Circle((x, y), radius, fill=False, color="black", linewidth=0.6))
        axis.scatter([x for x, _ in means], [y for _, y in means], marker="x", s=12, color="black", linewidths=0.8)
        axis.set_xlim(low - margin, high + margin)
        axis.set_ylim(low - margin, high + margin)
        axis.set_aspect("equal")
        axis.set_title(name)
    for axis in list(axes.flat)[len(samples_by_divergence) :]:
        axis.axis("off")
    if title:
        figure.suptitle(title)
    save_figure(figure, path)


def write_outputs(
    rows: Sequence[ModeRow],
    samples: dict[str, dict[str, Tensor | None]],
    out: Path,
    meta: dict[str, Any] | None = None,
) -> None:
    """table.md, table.json (``meta``, the rows and the summaries) and ``modes-DATASET.png`` per data set in
    ``samples`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    summaries = summarise(rows)
    (out / "table.md").write_text(format_table(summaries, rows) + "\n")
    write_json(
        out / "table.json",
        {
            **(meta or {}),
            "rows": [asdict(row) for row in rows],
            "summaries": [asdict(summary) for summary in summaries],
        },
    )
    steps = max((row.steps for row in rows), default=0)
    for dataset, by_divergence in samples.items():
        if by_divergence:
            mixture = synthetic_mixture(dataset)
            title = f"{dataset}: {len(mixture.means)} modes, {steps} steps, first seed that trained"
            plot_modes(by_divergence, mixture, out / f"modes-{dataset}.png", title)


@dataclass
class ModesOptions:
    """The options of ``fgan reproduce modes``; ``train`` is the training of every run (its seed replaced by each
    of ``seeds``)."""

    datasets: tuple[str, ...] = option(DATASETS, help="data sets", choices=DATASETS, flag="dataset")
    divergences: tuple[str, ...] = option(MODE_DIVERGENCES, help="divergences to train", flag="divergence")
    seeds: tuple[int, ...] = option(SEEDS, help="one run per seed and divergence")
    samples: int = option(DEFAULT_SAMPLES, help="generated samples scored", low=1)
    force: bool = option(False, help="overwrite an output folder that holds results")
    train: TrainConfig = field(default_factory=default_config)


class ModeCoverage(Experiment[ModesOptions, ModeRow]):
    """Mode seeking against mass covering, measured on the ring and the grid."""

    name = "modes"
    summary = "mode seeking against mass covering: ring and grid, per divergence"
    Options = ModesOptions

    def run(
        self, options: ModesOptions, out: Path | None = None, progress: Progress | None = None
    ) -> ExperimentResult[ModeRow]:
        """Every (data set, divergence, seed) run, in memory; table.md, table.json and modes-DATASET.png."""
        check_options(options)
        datasets = list(options.datasets)
        divergences = check_names(datasets, options.divergences)
        config = options.train
        config.validate()
        meta = {"datasets": datasets, "divergences": divergences, "seeds": list(options.seeds)}
        settings = {**meta, "samples": options.samples, "train": asdict(config)}
        out = open_experiment_folder(self.name, out, settings, force=options.force)
        rows, samples = run_modes(datasets, divergences, options.seeds, config, options.samples, progress)
        if tuple(config.stabilizer) != ("none",):  # plain Algorithm 1 next to the stabilised runs
            plain_rows, plain_samples = run_modes(
                datasets, divergences, options.seeds, replace(config, stabilizer=("none",)), options.samples, progress
            )
            rows = side_by_side(plain_rows, rows)
            samples = {
                dataset: {
                    **{f"{name}, plain": plot for name, plot in plain_samples[dataset].items()},
                    **{f"{name}, stabilized": plot for name, plot in by_divergence.items()},
                }
                for dataset, by_divergence in samples.items()
            }
        write_outputs(rows, samples, out, {"experiment": self.name, **meta})
        return ExperimentResult(rows, out)

    def format(self, result: ExperimentResult[ModeRow]) -> str:
        figures = (f"modes-{dataset}.png" for dataset in dict.fromkeys(row.dataset for row in result.rows))
        table = (result.folder / "table.md").read_text().rstrip()
        return f"{table}\n\n{written(result.folder, 'table.md', 'table.json', *figures)}"
