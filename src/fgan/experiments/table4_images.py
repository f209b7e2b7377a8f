"""The paper's Section 4.2 (Table 4): the paper's MNIST generator and critic trained under each divergence, scored
by the Parzen-window log-likelihood of the test set and by fgan's classifier-feature metrics, beside two references:
a VAE (:mod:`fgan.vae`) trained on the same data with the same budget, and real training images.

Every divergence gets the same budget (steps, or minutes of wall time, trained in resumable segments: see
:mod:`fgan.budget`) and the same settings: Algorithm 1 with Adam (step size 2e-4, β1 = 0.5), minibatches of 4,096,
z ~ U(-1, 1)^100, bf16 autocast where the machine computes it natively. Every row is scored under one Parzen
protocol (``paper`` or ``goodfellow``, see :mod:`fgan.evaluation`) with as many samples (or, for the reference,
training images) as the protocol builds its density from.
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

from fgan.budget import train_within_budget
from fgan.divergences import get_divergence
from fgan.errors import UsageError
from fgan.evaluation import (
    PROTOCOLS,
    EvaluationData,
    describe_protocol,
    evaluation_data,
    feature_classifier,
    feature_scores,
    parzen_score,
)
from fgan.experiments.protocol import Experiment, ExperimentResult, Progress, open_experiment_folder, quiet, written
from fgan.features import FeatureClassifier
from fgan.folder_names import folder_name
from fgan.grids import make_grid
from fgan.options import check_options, option
from fgan.plotting import save_figure, subplots
from fgan.profiles import profile
from fgan.runner import ModelConfig, RunConfig, fixed_latent, generate, load_run
from fgan.runs import write_json
from fgan.step import NonFiniteError, Precision
from fgan.training import TrainConfig, resolve_device, seed_everything
from fgan.vae import VAE, train_vae

#: The divergences of the paper's Table 4, in its order, and tv.
TABLE4_DIVERGENCES = ("kl", "reverse-kl", "pearson", "neyman", "hellinger", "jeffrey", "js", "gan", "tv")
DATASETS = ("mnist", "fashion-mnist")
REFERENCE = "real training images"
VAE_ROW = "vae"
#: The training variants of every divergence, a row each: ``plain`` is the paper's Algorithm 1, ``recommended``
#: trains with the divergence's recommended stabiliser (:mod:`fgan.divergences.recommendations`).
VARIANTS = ("plain", "recommended")
#: A finished row, in its run folder; ``resume`` reuses it.
SCORE_FILE = "score.json"
#: The VAE's weights, in ``OUT/vae``.
VAE_FILE = "vae.pt"


@dataclass
class ImageRow:
    """One row of Table 4: a divergence (or a reference), its budget and its scores."""

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
    variant: str = "plain"


@dataclass
class Table4Setup:
    """What every row of one Table 4 shares: the data, its classifier, the training, the budget and the protocol."""

    dataset: str
    config: TrainConfig
    data: EvaluationData
    classifier: FeatureClassifier
    protocol: str
    n_samples: int
    minutes: float | None = None
    data_dir: str | None = None

    @property
    def seconds(self) -> float | None:
        """The wall-time budget of each row in seconds (None: the budget is ``config.steps``)."""
        return None if self.minutes is None else 60.0 * self.minutes


def preferred_precision() -> Precision:
    """bf16 where the default device computes it natively (a CUDA GPU that supports it, or a CPU with AVX-512 BF16
    or AMX, as oneDNN reports), else fp32."""
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    native = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return "bf16" if native else "fp32"


def default_config(steps: int = 5000, seed: int = 0) -> TrainConfig:
    """The paper's settings for MNIST: Algorithm 1, Adam at 2e-4 with β1 = 0.5, minibatches of 4,096, in
    :func:`preferred_precision`."""
    return profile("table4", steps=steps, seed=seed, precision=preferred_precision())


def added_stabilizers(config: TrainConfig) -> tuple[str, ...]:
    """The stabilisers ``config`` (``--stabilizer``) adds to every variant: those it names but ``none`` and
    ``recommended``."""
    return tuple(name for name in config.stabilizer if name not in ("none", "recommended"))


def variant_config(config: TrainConfig, variant: str) -> TrainConfig:
    """The training in ``variant`` (:data:`VARIANTS`): ``plain`` is Algorithm 1, ``recommended`` the divergence's
    recommended stabiliser, either with the :func:`added_stabilizers` of ``config`` (``--stabilizer ema``: the
    generator's weight average in both)."""
    assert variant in VARIANTS, f"{variant} is checked against VARIANTS by the options"
    added = added_stabilizers(config)
    return replace(config, stabilizer=(added or ("none",)) if variant == "plain" else ("recommended", *added))


def variant_label(config: TrainConfig, variant: str) -> str:
    """The row's variant as the table shows it: ``plain``, ``recommended``, or with the added stabilisers
    (``recommended+ema``)."""
    return "+".join((variant, *added_stabilizers(config)))


def run_name(divergence: str, variant: str) -> str:
    """The run folder's name of a divergence in a variant label: the divergence, with ``-VARIANT`` unless plain."""
    return folder_name(divergence) if variant == "plain" else f"{folder_name(divergence)}-{variant}"


def _score(row: ImageRow, samples: Tensor, setup: Table4Setup) -> ImageRow:
    parzen = parzen_score(samples, setup.data, setup.protocol)
    features = feature_scores(samples, setup.data, setup.classifier)
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


def reference_row(setup: Table4Setup) -> ImageRow:
    """The same protocol with real training images (outside the validation set) in place of generated ones."""
    row = ImageRow(REFERENCE, 0, 0.0, f"{len(setup.data.reference)} images")
    return _score(row, setup.data.reference, setup)


def train_and_score(setup: Table4Setup, divergence: str, variant: str, out: Path, resume: bool = False) -> ImageRow:
    """Train the paper's MNIST pair under ``divergence`` (in ``variant``) into the run folder ``out`` within the
    budget (continuing the run there with ``resume``), score ``setup.n_samples`` of its samples and keep the row
    in ``out/score.json``."""
    config = variant_config(setup.config, variant)
    label = variant_label(setup.config, variant)
    run = RunConfig(
        data=setup.dataset,
        divergence=divergence,
        model=ModelConfig(model="mnist-mlp"),
        train=config,
        data_dir=setup.data_dir,
        sample_every=max(1, config.steps // 10),
    )
    start = time.perf_counter()
    try:
        trainer, seconds = train_within_budget(run, out, setup.seconds, resume)
    except NonFiniteError as err:
        row = ImageRow(divergence, 0, time.perf_counter() - start, f"diverged: {err}", variant=label)
        write_json(out / SCORE_FILE, asdict(row))
        return row
    samples = generate(trainer.evaluation_generator.eval(), setup.n_samples, seed=config.seed).cpu()
    bound = trainer.history.bound[-1] if trainer.history.bound else None
    row = ImageRow(divergence, trainer.step, seconds, "trained", final_bound=bound, variant=label)
    row = _score(row, samples, setup)
    write_json(out / SCORE_FILE, asdict(row))
    return row


def vae_row(setup: Table4Setup, out: Path) -> ImageRow:
    """Train the :class:`~fgan.vae.VAE` on the training split with the same budget, batch size and seed, keep its
    weights in ``out/vae.pt``, score ``setup.n_samples`` of its samples and keep the row in ``out/score.json``."""
    config = setup.config
    seed_everything(config.seed)
    device = str(resolve_device(config.device))
    train = setup.data.train
    fit = train_vae(
        VAE(train.shape), train.sampler(), config.steps, config.batch_size, time_limit=setup.seconds, device=device
    )
    out.mkdir(parents=True, exist_ok=True)
    torch.save(fit.model.state_dict(), out / VAE_FILE)
    torch.manual_seed(config.seed)
    samples = fit.model.sample(setup.n_samples, device).cpu()
    row = ImageRow(VAE_ROW, fit.steps, fit.seconds, "trained", final_bound=fit.final_elbo)
    row = _score(row, samples, setup)
    write_json(out / SCORE_FILE, asdict(row))
    return row


def _kept(path: Path, resume: bool) -> ImageRow | None:
    """The finished row kept in ``path`` when resuming, else None."""
    return ImageRow(**json.loads(path.read_text())) if resume and path.is_file() else None


def run_table4(
    setup: Table4Setup,
    divergences: list[str],
    out: Path,
    variants: tuple[str, ...] = ("plain",),
    vae: bool = True,
    progress: Callable[[str], None] | None = None,
    resume: bool = False,
) -> list[ImageRow]:
    """Every divergence's row in every variant, the VAE's (with ``vae``), then the reference row.

    With ``resume``, a row whose folder holds ``score.json`` is kept; a divergence's run without one continues
    from its last checkpoint within what is left of its budget (:func:`fgan.budget.train_within_budget`); the
    VAE is trained afresh.
    """
    say = progress or quiet
    budget = f"{setup.minutes:g} min" if setup.minutes is not None else f"{setup.config.steps} steps"
    names = [(name, variant) for name in divergences for variant in variants]
    rows = []
    for index, (name, variant) in enumerate(names, start=1):
        label = run_name(name, variant_label(setup.config, variant))
        folder = out / "runs" / label
        kept = _kept(folder / SCORE_FILE, resume)
        say(f"[{index}/{len(names)}] {label}: " + ("finished before, kept" if kept else budget))
        rows.append(kept or train_and_score(setup, name, variant, folder, resume))
    if vae:
        kept = _kept(out / VAE_ROW / SCORE_FILE, resume)
        say("VAE reference: " + ("finished before, kept" if kept else budget))
        rows.append(kept or vae_row(setup, out / VAE_ROW))
    say("reference: real training images")
    rows.append(reference_row(setup))
    return rows


def _cell(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_table(rows: list[ImageRow], caption: str) -> str:
    """Table 4 as Markdown under ``caption``: Parzen log-likelihood (nats, ± standard error), the feature metrics."""
    lines = [
        caption,
        "",
        "| divergence | variant | steps | minutes | Parzen LL (nats) | σ | feature FID | C2ST accuracy | classes "
        "| class KL |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        parzen = "—" if row.parzen_mean is None else f"{row.parzen_mean:.1f} ± {row.parzen_stderr:.1f}"
        steps = str(row.steps) if row.divergence != REFERENCE else row.status
        variant = row.variant if row.divergence not in (REFERENCE, VAE_ROW) else "—"
        lines.append(
            f"| {row.divergence} | {variant} | {steps} | {row.seconds / 60:.1f} | {parzen} | {_cell(row.sigma, 3)} | "
            f"{_cell(row.fid, 2)} | {_cell(row.c2st_accuracy, 3)} | "
            f"{'—' if row.classes_covered is None else row.classes_covered} | {_cell(row.class_kl, 3)} |"
        )
    diverged = [f"{row.divergence}: {row.status}" for row in rows if row.status.startswith("diverged")]
    return "\n".join([*lines, "", *diverged]).rstrip()


def _grid_images(row: ImageRow, out: Path) -> Tensor:
    """64 samples of a trained row's model: a generator from the fixed latent codes, or the VAE from a fixed seed."""
    with torch.no_grad():
        if row.divergence == VAE_ROW:
            vae = VAE()
            vae.load_state_dict(torch.load(out / VAE_ROW / VAE_FILE, map_location="cpu", weights_only=True))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                return vae.sample(64)
        _, generator = load_run(out / "runs" / run_name(row.divergence, row.variant), "cpu")
        images: Tensor = generator(fixed_latent(generator, 64, "cpu"))
        return images


def plot_grids(rows: list[ImageRow], out: Path, path: Path) -> None:
    """One panel per trained row: 64 samples (from the same fixed latent codes for the generators)."""
    trained = [row for row in rows if row.status == "trained"]
    if not trained:
        return
    columns = min(len(trained), 3)
    lines = (len(trained) + columns - 1) // columns
    figure, axes = subplots(lines, columns, figsize=(3.4 * columns, 3.6 * lines), squeeze=False)
    for axis, row in zip(axes.flat, trained, strict=False):
        grid = make_grid(_grid_images(row, out), nrow=8)
        axis.imshow(grid.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray", vmin=0.0, vmax=1.0)
        axis.set_title(row.divergence if row.variant == "plain" else f"{row.divergence} ({row.variant})")
    for axis in axes.flat:
        axis.axis("off")
    save_figure(figure, path)


def write_outputs(rows: list[ImageRow], accuracy: float, meta: dict[str, Any], out: Path) -> None:
    """table.md (under the protocol's caption), table.json and grids.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    caption = describe_protocol(meta["protocol"], meta["n_samples"])
    table = format_table(rows, caption)
    (out / "table.md").write_text(table + f"\n\nfeature classifier test accuracy: {accuracy:.4f}\n")
    values = {**meta, "protocol_description": caption, "classifier_accuracy": accuracy}
    write_json(out / "table.json", {**values, "rows": [asdict(row) for row in rows]})
    plot_grids(rows, out, out / "grids.png")


@dataclass
class Table4Options:
    """The options of ``fgan reproduce mnist``; ``train`` is the training of every divergence (with ``minutes``,
    its step count must stay the default: the budget is the time)."""

    dataset: str = option("mnist", help="data set", choices=DATASETS)
    divergences: tuple[str, ...] = option(TABLE4_DIVERGENCES, help="divergences to train and score", flag="divergence")
    variants: tuple[str, ...] = option(
        VARIANTS,
        help="training variants of every divergence, a row each: plain is the paper's Algorithm 1, recommended "
        "the divergence's recommended stabiliser; --stabilizer adds its stabilisers to both (--stabilizer ema: "
        "rows plain+ema and recommended+ema)",
        flag="variant",
        choices=VARIANTS,
    )
    protocol: str = option(
        "paper",
        help="Parzen protocol of every row: paper (16,384 samples, σ by 3-fold cross-validation on them) or "
        "goodfellow (10,000 samples, σ of ten in [0.1, 1] chosen on 1,000 training images)",
        choices=tuple(PROTOCOLS),
    )
    minutes: float | None = option(
        None,
        help="wall-time budget of each row, every divergence and the VAE (instead of --steps)",
        low=0.0,
        low_open=True,
    )
    n_samples: int | None = option(
        None, help="generated samples (and reference images) to score; None: the protocol's own", low=1
    )
    vae: bool = option(True, help="train and score a VAE (20 latent dimensions) with the same budget as a reference")
    data_dir: str | None = option(
        None, help="folder with the IDX files of mnist or fashion-mnist (else $FGAN_DATA_DIR, then the usual places)"
    )
    download: bool = option(False, help="fetch the data set when not found")
    force: bool = option(False, help="overwrite an output folder that holds results")
    resume: bool = option(
        False,
        help="continue the experiment in --out with its settings: rows already scored are kept, a divergence "
        "stopped mid-run continues from its last checkpoint",
    )
    train: TrainConfig = field(default_factory=default_config)


def _budgeted(options: Table4Options) -> TrainConfig:
    """The training of every row: with ``minutes``, no step limit and checkpoints only where the budget's segments
    end (see :mod:`fgan.budget`)."""
    config = options.train
    if options.minutes is not None:
        if config.steps != Table4Options().train.steps:
            raise UsageError("give the budget as --steps or --minutes, not both")
        config = replace(config, steps=10**9, checkpoint_every=0)
    config.validate()
    return config


class Table4Images(Experiment[Table4Options, ImageRow]):
    """Section 4.2, Table 4: the paper's MNIST pair under each divergence, scored."""

    name = "mnist"
    summary = "Section 4.2, Table 4: the paper's MNIST models, Parzen scores"
    Options = Table4Options

    def run(
        self, options: Table4Options, out: Path | None = None, progress: Progress | None = None
    ) -> ExperimentResult[ImageRow]:
        """Train and score every divergence into ``out/runs/NAME`` (with ``resume``, those already scored there
        are kept and one stopped mid-run continues), the VAE into ``out/vae``, then the reference row; table.md,
        table.json and grids.png."""
        check_options(options)
        say = progress or quiet
        divergences = [get_divergence(name).name for name in options.divergences]
        config = _budgeted(options)
        n_samples = options.n_samples or PROTOCOLS[options.protocol].n_samples
        data = evaluation_data(
            options.dataset, data_dir=options.data_dir, n_reference=n_samples, download=options.download
        )
        if data.note:
            say(data.note)
        settings = {
            "dataset": options.dataset,
            "divergences": divergences,
            "variants": list(options.variants),
            "protocol": options.protocol,
            "minutes": options.minutes,
            "n_samples": n_samples,
            "vae": options.vae,
            "train": asdict(config),
            "data_note": data.note,
        }
        prefix = f"table4-{options.dataset}"
        out = open_experiment_folder(self.name, out, settings, options.force, options.resume, prefix)
        say(f"feature classifier for {options.dataset} (trained once, then cached)")
        classifier, accuracy = feature_classifier(data)
        setup = Table4Setup(
            options.dataset, config, data, classifier, options.protocol, n_samples, options.minutes, options.data_dir
        )
        rows = run_table4(setup, divergences, out, options.variants, options.vae, say, options.resume)
        write_outputs(rows, accuracy, {"experiment": self.name, **settings}, out)
        return ExperimentResult(rows, out)

    def format(self, result: ExperimentResult[ImageRow]) -> str:
        table = (result.folder / "table.md").read_text().rstrip()
        return f"{table}\n\n{written(result.folder, 'table.md', 'table.json', 'grids.png')}"
