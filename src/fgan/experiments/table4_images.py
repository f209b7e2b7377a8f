"""The paper's Section 4.2 (Table 4): the paper's MNIST generator and critic trained under each divergence, scored
by the Parzen-window log-likelihood of the test set and by fgan's classifier-feature metrics.

Every divergence gets the same budget (steps, or minutes of wall time) and the same settings: Algorithm 1 with
Adam (step size 2e-4, β1 = 0.5), minibatches of 256, z ~ U(-1, 1)^100. A reference row scores real training
images under the same protocol (see :mod:`fgan.evaluation`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from fgan.divergences import get_divergence
from fgan.errors import UsageError
from fgan.evaluation import EvaluationData, evaluation_data, feature_classifier, feature_scores, parzen_score
from fgan.experiments.protocol import Experiment, ExperimentResult, Progress, open_experiment_folder, quiet, written
from fgan.features import FeatureClassifier
from fgan.grids import make_grid
from fgan.options import check_options, option
from fgan.plotting import save_figure, subplots
from fgan.profiles import profile
from fgan.runner import ModelConfig, RunConfig, fixed_latent, generate, load_run, train_run
from fgan.runs import write_json
from fgan.step import NonFiniteError
from fgan.training import TrainConfig

#: The divergences of the paper's Table 4.
TABLE4_DIVERGENCES = ("gan", "kl", "reverse-kl", "pearson", "neyman", "hellinger", "jeffrey", "js", "tv")
DATASETS = ("mnist", "fashion-mnist")
REFERENCE = "real training images"
#: A finished divergence's row, in its run folder; ``resume`` reuses it.
SCORE_FILE = "score.json"


@dataclass
class ImageRow:
    """One row of Table 4: a divergence (or the reference), its budget and its scores."""

    divergence: str
    steps: int
    seconds: float
    status: str
    parzen_mean: float | None = None
    parzen_stderr: float | None = None
    sigma: float | None = None
    fid: float | None = None
    c2st_accuracy: float | None = None
    class_kl: float | None = None
    classes_covered: int | None = None
    final_bound: float | None = None


def default_config(steps: int = 5000, seed: int = 0) -> TrainConfig:
    """The paper's settings for MNIST: Algorithm 1, Adam at 2e-4 with β1 = 0.5, minibatches of 256."""
    return profile("table4", steps=steps, seed=seed)


def _score(row: ImageRow, samples: Tensor, data: EvaluationData, classifier: FeatureClassifier) -> ImageRow:
    parzen = parzen_score(samples, data)
    features = feature_scores(samples, data, classifier)
    return replace(
        row,
        parzen_mean=parzen.mean,
        parzen_stderr=parzen.stderr,
        sigma=parzen.sigma,
        fid=features.fid,
        c2st_accuracy=features.c2st_accuracy,
        class_kl=features.class_kl,
        classes_covered=features.classes_covered,
    )


def reference_row(data: EvaluationData, classifier: FeatureClassifier) -> ImageRow:
    """The same protocol with real training images (outside the validation set) in place of generated ones."""
    row = ImageRow(REFERENCE, 0, 0.0, f"{len(data.reference)} images")
    return _score(row, data.reference, data, classifier)


def train_and_score(
    dataset: str,
    divergence: str,
    config: TrainConfig,
    out: Path,
    data: EvaluationData,
    classifier: FeatureClassifier,
    minutes: float | None = None,
    data_dir: str | None = None,
    n_samples: int = 10_000,
    force: bool = False,
) -> ImageRow:
    """Train the paper's MNIST pair under ``divergence`` into ``out``, score ``n_samples`` of its samples and keep
    the row in ``out/score.json``."""
    run = RunConfig(
        data=dataset,
        divergence=divergence,
        model=ModelConfig(model="mnist-mlp"),
        train=config,
        data_dir=data_dir,
        sample_every=max(1, config.steps // 10),
    )
    start = time.perf_counter()
    try:
        trainer = train_run(run, out, force=force, time_limit=None if minutes is None else 60.0 * minutes)
    except NonFiniteError as err:
        row = ImageRow(divergence, 0, time.perf_counter() - start, f"diverged: {err}")
        write_json(out / SCORE_FILE, asdict(row))
        return row
    seconds = time.perf_counter() - start
    generator = trainer.evaluation_generator.eval()
    samples = generate(generator, n_samples, seed=config.seed).cpu()
    bound = trainer.history.bound[-1] if trainer.history.bound else None
    row = _score(ImageRow(divergence, trainer.step, seconds, "trained", final_bound=bound), samples, data, classifier)
    write_json(out / SCORE_FILE, asdict(row))
    return row


def run_table4(
    dataset: str,
    divergences: list[str],
    config: TrainConfig,
    out: Path,
    data: EvaluationData,
    minutes: float | None = None,
    data_dir: str | None = None,
    n_samples: int = 10_000,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    resume: bool = False,
) -> tuple[list[ImageRow], float]:
    """Every divergence's row, then the reference row; and the feature classifier's test accuracy.

    With ``resume``, a divergence whose run folder holds a finished row (``score.json``) is not trained again, and
    one without is trained afresh.
    """
    say = progress or (lambda message: None)
    say(f"feature classifier for {dataset} (trained once, then cached)")
    classifier, accuracy = feature_classifier(data)
    rows = []
    for index, name in enumerate(divergences, start=1):
        budget = f"{minutes:g} min" if minutes is not None else f"{config.steps} steps"
        finished = out / "runs" / name / SCORE_FILE
        if resume and finished.is_file():
            say(f"[{index}/{len(divergences)}] {name}: finished before, kept")
            rows.append(ImageRow(**json.loads(finished.read_text())))
            continue
        say(f"[{index}/{len(divergences)}] {name}: {budget}")
        rows.append(
            train_and_score(
                dataset,
                name,
                config,
                out / "runs" / name,
                data,
                classifier,
                minutes,
                data_dir,
                n_samples,
                force or resume,
            )
        )
    say("reference: real training images")
    rows.append(reference_row(data, classifier))
    return rows, accuracy


def _cell(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_table(rows: list[ImageRow]) -> str:
    """Table 4 as Markdown: Parzen log-likelihood (nats, ± standard error) and the feature metrics."""
    lines = [
        "| divergence | steps | minutes | Parzen LL (nats) | σ | feature FID | C2ST accuracy | classes | class KL |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        parzen = "—" if row.parzen_mean is None else f"{row.parzen_mean:.1f} ± {row.parzen_stderr:.1f}"
        steps = str(row.steps) if row.divergence != REFERENCE else row.status
        lines.append(
            f"| {row.divergence} | {steps} | {row.seconds / 60:.1f} | {parzen} | {_cell(row.sigma, 3)} | "
            f"{_cell(row.fid, 2)} | {_cell(row.c2st_accuracy, 3)} | "
            f"{'—' if row.classes_covered is None else row.classes_covered} | {_cell(row.class_kl, 3)} |"
        )
    diverged = [f"{row.divergence}: {row.status}" for row in rows if row.status.startswith("diverged")]
    return "\n".join([*lines, "", *diverged]).rstrip()


def plot_grids(rows: list[ImageRow], out: Path, path: Path) -> None:
    """One panel per trained divergence: 64 samples from the same fixed latent codes."""
    trained = [row for row in rows if row.status == "trained"]
    if not trained:
        return
    columns = min(len(trained), 3)
    lines = (len(trained) + columns - 1) // columns
    figure, axes = subplots(lines, columns, figsize=(3.4 * columns, 3.6 * lines), squeeze=False)
    for axis, row in zip(axes.flat, trained, strict=False):
        _, generator = load_run(out / "runs" / row.divergence, "cpu")
        with torch.no_grad():
            images = generator(fixed_latent(generator, 64, "cpu"))
        grid = make_grid(images, nrow=8)
        axis.imshow(grid.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray", vmin=0.0, vmax=1.0)
        axis.set_title(row.divergence)
    for axis in axes.flat:
        axis.axis("off")
    save_figure(figure, path)


def write_outputs(rows: list[ImageRow], accuracy: float, meta: dict[str, Any], out: Path) -> None:
    """table.md, table.json and grids.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(format_table(rows) + f"\n\nfeature classifier test accuracy: {accuracy:.4f}\n")
    write_json(out / "table.json", {**meta, "classifier_accuracy": accuracy, "rows": [asdict(row) for row in rows]})
    plot_grids(rows, out, out / "grids.png")


@dataclass
class Table4Options:
    """The options of ``fgan reproduce mnist``; ``train`` is the training of every divergence (with ``minutes``,
    its step count must stay the default: the budget is the time)."""

    dataset: str = option("mnist", help="data set", choices=DATASETS)
    divergences: tuple[str, ...] = option(TABLE4_DIVERGENCES, help="divergences to train and score", flag="divergence")
    minutes: float | None = option(
        None, help="wall-time budget per divergence (instead of --steps)", low=0.0, low_open=True
    )
    n_samples: int = option(10_000, help="generated samples to score", low=1)
    data_dir: str | None = option(
        None, help="folder with the IDX files of mnist or fashion-mnist (else $FGAN_DATA_DIR, then the usual places)"
    )
    download: bool = option(False, help="fetch the data set when not found")
    force: bool = option(False, help="overwrite an output folder that holds results")
    resume: bool = option(
        False, help="continue the experiment in --out with its settings: divergences already scored are kept"
    )
    train: TrainConfig = field(default_factory=default_config)


class Table4Images(Experiment[Table4Options, ImageRow]):
    """Section 4.2, Table 4: the paper's MNIST pair under each divergence, scored."""

    name = "mnist"
    summary = "Section 4.2, Table 4: the paper's MNIST models, Parzen scores"
    Options = Table4Options

    def run(
        self, options: Table4Options, out: Path | None = None, progress: Progress | None = None
    ) -> ExperimentResult[ImageRow]:
        """Train and score every divergence into ``out/runs/NAME`` (with ``resume``, those already scored there
        are kept), then the reference row; table.md, table.json and grids.png."""
        check_options(options)
        say = progress or quiet
        divergences = [get_divergence(name).name for name in options.divergences]
        config = options.train
        if options.minutes is not None:
            if config.steps != Table4Options().train.steps:
                raise UsageError("give the budget as --steps or --minutes, not both")
            config = replace(config, steps=10**9, checkpoint_every=0)
        config.validate()
        data = evaluation_data(options.dataset, data_dir=options.data_dir, download=options.download)
        if data.note:
            say(data.note)
        settings = {
            "dataset": options.dataset,
            "divergences": divergences,
            "minutes": options.minutes,
            "n_samples": options.n_samples,
            "train": asdict(config),
            "data_note": data.note,
        }
        prefix = f"table4-{options.dataset}"
        out = open_experiment_folder(self.name, out, settings, options.force, options.resume, prefix)
        rows, accuracy = run_table4(
            options.dataset,
            divergences,
            config,
            out,
            data,
            minutes=options.minutes,
            data_dir=options.data_dir,
            n_samples=options.n_samples,
            force=options.force,
            progress=say,
            resume=options.resume,
        )
        write_outputs(rows, accuracy, {"experiment": self.name, **settings}, out)
        return ExperimentResult(rows, out)

    def format(self, result: ExperimentResult[ImageRow]) -> str:
        table = (result.folder / "table.md").read_text().rstrip()
        return f"{table}\n\n{written(result.folder, 'table.md', 'table.json', 'grids.png')}"
