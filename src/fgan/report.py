"""One self-contained HTML report of a training run, or a comparison of several runs (``fgan report``).

The report is a single file that opens with no network: the training curves are inline SVG drawn by matplotlib,
the pictures of the run folder are inline ``data:`` URIs, and the styling and a small script are inline too.

For one run it shows the run's facts (divergence, data, steps trained, the final divergence estimate), the
training curves (every numeric column of ``metrics.jsonl``), the sample pictures over time, the metrics of
``evaluation.json`` (written by ``fgan evaluate``) and of ``score.json`` (the row an experiment of ``fgan reproduce``
kept in the run folder: Table 4's Parzen, FID and C2ST numbers, Table 3's fit) and the resolved config. An
experiment's output folder stands for its run folders (``OUT/runs/NAME``). For several runs a comparison comes
first: the bound F of every run in one chart, one metrics row per run, the config with one column per run (keys
whose values differ highlighted) and the final samples side by side; then each run's own section.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from fgan.datasets import is_image_data
from fgan.errors import UsageError, one_line
from fgan.folder_names import folder_name
from fgan.plotting import plain_text, subplots
from fgan.run_files import read_json_object
from fgan.runs import CONFIG_FILE, METRICS_FILE, PLOT_DIR, SAMPLES_DIR, atomic_write, read_config, read_metrics

#: The result of ``fgan evaluate RUN``, kept in the run folder for the report.
EVALUATION_FILE = "evaluation.json"
#: The report of one run, in its run folder (several runs: in the current folder).
REPORT_FILE = "report.html"
#: The most points drawn of one curve; longer runs are thinned to evenly spaced steps.
MAX_CURVE_POINTS = 2000
#: The most sample grids over time shown for an image run (evenly spaced, the first and last included).
MAX_GRIDS = 8
#: The final divergence estimate is the mean of the bound over this last fraction of the logged steps.
FINAL_FRACTION = 0.1
#: What the report and ``fgan train`` call that estimate.
FINAL_ESTIMATE_NAME = f"final F (mean of the last {FINAL_FRACTION:.0%} of steps)"
#: Names of the evaluation values (flattened keys of evaluation.json); other scalar values show their key.
EVALUATION_LABELS = {
    "n_generated": "generated samples",
    "kde.mean": "Parzen log-likelihood (nats)",
    "kde.stderr": "Parzen standard error",
    "kde.sigma": "Parzen bandwidth σ",
    "features.fid": "FID (fgan classifier features)",
    "features.c2st_accuracy": "two-sample test accuracy",
    "features.classes_covered": "classes covered",
    "features.class_kl": "class KL",
    "features.classifier_accuracy": "classifier test accuracy",
}
#: Keys of evaluation.json that the report leaves out (the run's own folder and data set).
EVALUATION_HIDDEN = ("run", "data")
#: The row an experiment of ``fgan reproduce`` kept in each of its run folders.
SCORE_FILE = "score.json"
#: Names of the score.json values: Table 4's under the labels of the same numbers in evaluation.json, Table 3's fit.
SCORE_LABELS = {
    "parzen_mean": EVALUATION_LABELS["kde.mean"],
    "parzen_stderr": EVALUATION_LABELS["kde.stderr"],
    "sigma": EVALUATION_LABELS["kde.sigma"],
    "fid": EVALUATION_LABELS["features.fid"],
    "c2st_accuracy": EVALUATION_LABELS["features.c2st_accuracy"],
    "classes_covered": EVALUATION_LABELS["features.classes_covered"],
    "class_kl": EVALUATION_LABELS["features.class_kl"],
    "final_bound": "last bound F",
    "objective_hat": "F(ω̂, θ̂) on fresh samples",
    "divergence_star": "D_f(P‖Q_θ*), best fit",
    "divergence_at_hat": "D_f(P‖Q_θ̂), learned fit",
    "mu_hat": "μ̂",
    "mu_star": "μ*",
    "sigma_hat": "σ̂",
    "sigma_star": "σ*",
    "seconds": "training seconds",
}
#: Keys of score.json that the report leaves out (shown elsewhere: the divergence, the steps, the seed).
SCORE_HIDDEN = ("divergence", "steps", "seed")
_GRID_NAME = re.compile(r"step-(\d+)\.png")
_MIME_TYPES = {".png": "image/png", ".gif": "image/gif"}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1c2333; margin: 0 auto;
       max-width: 1120px; padding: 1rem 1.5rem 3rem; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { border-bottom: 2px solid #cfd8e6; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { margin: 1.5rem 0 .5rem; }
nav a { margin-right: 1rem; }
div.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #cfd8e6; padding: .2rem .6rem; text-align: left; vertical-align: top; }
thead th { background: #e8eef8; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.differs > * { background: #fff1b8; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; margin: .5rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
figure { margin: 0; }
figcaption { font-size: .85rem; text-align: center; color: #4a5568; }
svg.chart { display: block; max-width: 100%; height: auto; }
.gallery { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-end; }
.gallery img { display: block; max-width: 100%; }
.gallery img.grid { width: 256px; }
img.grid { image-rendering: pixelated; }
.side-by-side { display: grid; gap: 1rem; align-items: end; }
.side-by-side img { display: block; width: 100%; }
.note { color: #7a5200; }
code { background: #eef1f6; padding: 0 .25rem; border-radius: 3px; }
"""

#: Marks the page once it has loaded, for a quick check of a report (and for the tests, in a headless browser):
#: ``<body data-images="LOADED/TOTAL" data-charts="N">``, counting the pictures that decoded and the charts laid out
#: with a non-empty box.
LOAD_CHECK_SCRIPT = """
addEventListener("load", () => {
  const images = Array.from(document.images);
  const loaded = images.filter((image) => image.complete && image.naturalWidth > 0).length;
  const charts = Array.from(document.querySelectorAll("svg.chart")).filter((chart) => {
    const box = chart.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  }).length;
  document.body.dataset.images = `${loaded}/${images.length}`;
  document.body.dataset.charts = String(charts);
});
"""


@dataclass
class RunData:
    """What the report shows of one run folder.

    Attributes:
        path: the run folder, as given.
        name: how the report names the run (the folder's name).
        config: the resolved config (``config.json``).
        steps: the logged steps of ``metrics.jsonl``.
        metrics: every numeric column of ``metrics.jsonl`` but the step, one value per logged step; NaN where the
            value is null (non-finite) or missing.
        evaluation: the content of ``evaluation.json``, or None when the run has not been evaluated.
        score: the content of ``score.json``, or None when no experiment kept a row in the folder.
    """

    path: Path
    name: str
    config: dict[str, Any]
    steps: np.ndarray
    metrics: dict[str, np.ndarray]
    evaluation: dict[str, Any] | None
    score: dict[str, Any] | None = None

    @property
    def divergence(self) -> str:
        return str(self.config.get("divergence", "?"))

    @property
    def data(self) -> str:
        return str(self.config.get("data", "?"))

    @property
    def label(self) -> str:
        """The run's name and its divergence (unless the name is the divergence), for legends."""
        return self.name if self.name == self.divergence else f"{self.name} ({self.divergence})"

    @property
    def is_image(self) -> bool:
        return is_image_data(self.data)

    @property
    def steps_trained(self) -> int:
        return int(self.steps[-1]) if self.steps.size else 0

    @property
    def nonfinite_steps(self) -> int:
        """Logged steps whose bound is null (non-finite, or skipped by ``--on-nonfinite skip``)."""
        bound = self.metrics.get("bound")
        return int(np.isnan(bound).sum()) if bound is not None else 0

    @property
    def final_estimate(self) -> float | None:
        """The final divergence estimate: see :func:`final_estimate`."""
        bound = self.metrics.get("bound")
        return final_estimate(bound) if bound is not None else None

    def metric_values(self) -> dict[str, Any]:
        """The scalar metrics of the run by label: those of score.json, then those of evaluation.json (which wins
        for a number both hold: it is the later measurement)."""
        score = {
            SCORE_LABELS.get(key, key): value
            for key, value in (self.score or {}).items()
            if key not in SCORE_HIDDEN and not isinstance(value, list | dict)
        }
        return {**score, **evaluation_values(self.evaluation or {})}


def read_run(path: str | Path, name: str | None = None) -> RunData:
    """Read a run folder for the report; ``name`` defaults to the folder's name.

    Raises:
        UsageError: for a folder without config.json or metrics.jsonl, and an unreadable evaluation.json or
            score.json.
    """
    path = Path(path)
    for name_in_run in (CONFIG_FILE, METRICS_FILE, EVALUATION_FILE, SCORE_FILE):
        inside_run(path, path / name_in_run)
    config = read_config(path)
    if not (path / METRICS_FILE).is_file():
        raise UsageError(f"{path} has no {METRICS_FILE}: not a training run, or its training never started")
    steps, metrics = metric_columns(read_metrics(path))
    evaluation, score = _read_optional_json(path / EVALUATION_FILE), _read_optional_json(path / SCORE_FILE)
    return RunData(path, name or path.resolve().name, config, steps, metrics, evaluation, score)


def inside_run(run: Path, path: Path) -> Path:
    """``path``, a file of the run folder ``run``; refused when it resolves (links followed) outside the folder, so
    that a report embeds nothing but the run's own files.

    Raises:
        UsageError: for a path that leads outside ``run`` or a link loop, naming both.
    """
    try:
        target, folder = path.resolve(), run.resolve()
    except (OSError, RuntimeError) as err:  # a link loop
        raise UsageError(f"cannot follow {path}: {one_line(err)}") from None
    if not target.is_relative_to(folder):
        raise UsageError(
            f"{path} leads outside the run folder {run} (to {target}); a report reads only files inside it"
        )
    return path


def _read_optional_json(path: Path) -> dict[str, Any] | None:
    """The object of a JSON file, or None when there is no such file; an unreadable one is a UsageError (see
    :func:`fgan.run_files.read_json_object`)."""
    return read_json_object(path) if path.is_file() else None


def experiment_runs(path: str | Path) -> list[Path]:
    """The run folders an output folder stands for: those of an experiment of ``fgan reproduce`` (``OUT/runs/NAME``,
    in the order of its divergences), or the folder itself for a training run.

    Raises:
        UsageError: for an experiment that keeps no run folders (``reproduce modes``, ``estimation``).
    """
    path = Path(path)
    config = read_config(path)
    if "experiment" not in config:
        return [path]
    runs = [inside_run(path, path / "runs" / folder_name(name)) for name in config.get("divergences", [])]
    kept = [run for run in runs if (run / CONFIG_FILE).is_file()]
    if not kept:
        raise UsageError(f"{path} holds the {config['experiment']} experiment, which keeps no run folders to report")
    return kept


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def metric_columns(rows: Iterable[dict[str, Any]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The steps and the numeric columns of metrics.jsonl rows (those with an integer step).

    A column is numeric when every row that has it holds a number or null; null and a missing value (a column
    added to the metrics later in a run) become NaN. The columns keep the order in which they first appear.
    """
    rows = [row for row in rows if isinstance(row, dict) and _is_number(row.get("step"))]
    names = list(dict.fromkeys(key for row in rows for key in row if key != "step"))
    numeric = [name for name in names if all(row.get(name) is None or _is_number(row[name]) for row in rows)]
    steps = np.array([int(row["step"]) for row in rows], dtype=np.int64)
    columns = {
        name: np.array([math.nan if row.get(name) is None else float(row[name]) for row in rows], dtype=np.float64)
        for name in numeric
    }
    return steps, columns


def final_estimate(bound: np.ndarray, fraction: float = FINAL_FRACTION) -> float | None:
    """The mean of the bound F over the last ``fraction`` of the logged steps (at least one), leaving out NaN
    (non-finite or skipped steps); None when there is no finite value there."""
    if bound.size == 0:
        return None
    tail = bound[-max(1, math.ceil(fraction * bound.size)) :]
    finite = tail[np.isfinite(tail)]
    return float(finite.mean()) if finite.size else None


def downsample_indices(n: int, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` evenly spaced points of ``n``, the first and the last included."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def flatten(values: dict[str, Any], prefix: str = "", separator: str = ".") -> dict[str, Any]:
    """Nested dictionaries as one level with joined keys: ``{"train": {"lr": 1}}`` is ``{"train.lr": 1}`` (with
    ``separator="/"``, ``{"train/lr": 1}``)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}{separator}", separator))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def figure_to_svg(figure: Figure, id_prefix: str, description: str) -> str:
    """A matplotlib figure as an inline ``<svg class="chart">`` element described by ``description`` (its
    ``aria-label``).

    Text is drawn as paths, so no font is needed. Every id, and every reference to one, gets ``id_prefix``, so that
    several figures in one document never share ids (matplotlib names its glyphs and clip paths per figure). The
    XML prologue and namespace declarations are dropped: an HTML document needs neither.
    """
    buffer = io.StringIO()
    plain_text(figure)  # run names are text, not mathtext
    figure.tight_layout()
    with matplotlib.rc_context({"svg.hashsalt": "fgan-report"}):  # the same ids, and file, every time
        figure.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)
    svg = re.sub(r'(\bid="|href="#|url\(#)', rf"\g<1>{id_prefix}-", svg)
    return svg.replace("<svg", f'<svg class="chart" role="img" aria-label="{html.escape(description)}"', 1)


def image_data_uri(path: Path) -> str:
    """A PNG or GIF file as a ``data:`` URI."""
    mime = _MIME_TYPES[path.suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def curve_panels(names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """The panels of the training curves as (title, metric names): the bound F, the losses, the gradient norms,
    then every other metric on its own."""
    names = list(names)
    losses = [name for name in names if name.endswith("_loss")]
    norms = [name for name in names if name.endswith("_grad_norm")]
    panels = [("variational bound F (divergence estimate)", ["bound"])] if "bound" in names else []
    panels += [(title, group) for title, group in (("losses", losses), ("gradient norms", norms)) if group]
    grouped = {"bound", *losses, *norms}
    return panels + [(name.replace("_", " "), [name]) for name in names if name not in grouped]


def training_curves_svg(run: RunData, id_prefix: str) -> str:
    """The run's training curves, one panel per group of :func:`curve_panels`, three panels a row."""
    panels = curve_panels(run.metrics)
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = subplots(rows, columns, figsize=(11, 3.2 * rows), squeeze=False)
    shown = downsample_indices(run.steps.size)
    for axis, (title, names) in zip(axes.flat, panels, strict=False):
        for name in names:
            axis.plot(run.steps[shown], run.metrics[name][shown], linewidth=0.9, label=name.replace("_", " "))
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("step")
        if len(names) > 1:
            axis.legend(fontsize=8)
    for axis in axes.flat[len(panels) :]:
        axis.set_visible(False)
    return figure_to_svg(figure, id_prefix, f"training curves of {run.name}: {', '.join(t for t, _ in panels)}")


def bound_comparison_svg(runs: Sequence[RunData], id_prefix: str) -> str:
    """The bound F of every run in one chart, labelled by run name and divergence."""
    figure, axis = subplots(figsize=(11, 4))
    for run in runs:
        shown = downsample_indices(run.steps.size)
        axis.plot(
            run.steps[shown],
            run.metrics.get("bound", np.full(run.steps.size, np.nan))[shown],
            linewidth=0.9,
            label=run.label,
        )
    axis.set_title("variational bound F (divergence estimate)", fontsize=10)
    axis.set_xlabel("step")
    axis.legend(fontsize=8)
    return figure_to_svg(figure, id_prefix, f"variational bound F of {', '.join(run.label for run in runs)}")


def sample_pictures(run: RunData) -> list[tuple[str, Path]]:
    """(caption, file) of the run's sample pictures: up to :data:`MAX_GRIDS` evenly spaced grids over time
    (image runs), the final samples, and the training dynamics (synthetic runs with ``--snapshots``)."""
    grids = sorted(
        (int(match.group(1)), path)
        for path in (run.path / SAMPLES_DIR).glob("step-*.png")
        if (match := _GRID_NAME.fullmatch(path.name)) and inside_run(run.path, path)
    )
    chosen = [grids[index] for index in downsample_indices(len(grids), MAX_GRIDS)]
    pictures = [(f"step {step}", path) for step, path in chosen]
    plots = run.path / PLOT_DIR
    for caption, path in (
        (f"final samples (step {run.steps_trained})", plots / "samples.png"),
        ("training dynamics (animated)", plots / "dynamics.gif"),
        ("training dynamics", plots / "dynamics.png"),
    ):
        if path.is_file():
            pictures.append((caption, inside_run(run.path, path)))
    return pictures


def _format(value: Any) -> str:
    """A number to four significant digits (NaN as n/a), None as a dash, another value as in JSON (strings bare)."""
    if value is None:
        return "—"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value)


def _cell(value: Any) -> str:
    return f"<td{' class=number' if _is_number(value) else ''}>{html.escape(_format(value))}</td>"


def _table(header: Sequence[str], rows: Iterable[tuple[Sequence[Any], bool]]) -> str:
    """An HTML table; each row is (cells, highlighted), its first cell a row header."""
    head = "".join(f"<th>{html.escape(title)}</th>" for title in header)
    body = "".join(
        f"<tr{' class=differs' if highlighted else ''}><th>{html.escape(str(cells[0]))}</th>"
        + "".join(_cell(value) for value in cells[1:])
        + "</tr>"
        for cells, highlighted in rows
    )
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def evaluation_values(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The scalar values of an evaluation.json, by label (:data:`EVALUATION_LABELS`, else the dotted key)."""
    return {
        EVALUATION_LABELS.get(key, key): value
        for key, value in flatten(evaluation).items()
        if key not in EVALUATION_HIDDEN and not isinstance(value, list)
    }


def _facts(run: RunData) -> str:
    estimate = run.final_estimate
    target = run.config.get("train", {}).get("steps")
    facts = {
        "folder": str(run.path),
        "divergence": run.divergence,
        "data": run.data,
        "model": str(run.config.get("model", {}).get("model", "?")),
        "steps trained": f"{run.steps_trained}" + (f" of {target}" if target is not None else ""),
        FINAL_ESTIMATE_NAME: _format(estimate),
    }
    if run.nonfinite_steps:
        facts["non-finite steps"] = str(run.nonfinite_steps)
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{html.escape(key)}</dt><dd>{html.escape(value)}</dd>" for key, value in facts.items())
        + "</dl>"
    )


def _figure(caption: str, path: Path, grid: bool) -> str:
    """A picture with its caption; a ``grid`` of image samples is scaled without smoothing."""
    return (
        f'<figure><img{" class=grid" if grid else ""} src="{image_data_uri(path)}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _run_section(run: RunData, index: int) -> str:
    pictures = sample_pictures(run)
    gallery = (
        '<div class="gallery">' + "".join(_figure(caption, path, run.is_image) for caption, path in pictures) + "</div>"
        if pictures
        else '<p class="note">no sample pictures in this run folder</p>'
    )
    values = run.metric_values()
    if values:
        metrics = _table(["metric", "value"], (([label, value], False) for label, value in values.items()))
    elif run.is_image:
        metrics = f'<p class="note">no evaluation yet: run <code>fgan evaluate {html.escape(str(run.path))}</code></p>'
    else:
        metrics = '<p class="note">no evaluation: <code>fgan evaluate</code> scores image runs</p>'
    curves = training_curves_svg(run, f"run{index}") if run.metrics else '<p class="note">no steps logged yet</p>'
    config = _table(["key", "value"], (([key, value], False) for key, value in flatten(run.config).items()))
    return (
        f'<section id="run-{index}"><h2>{html.escape(run.name)}</h2>{_facts(run)}'
        f"<h3>Training curves</h3>{curves}<h3>Samples</h3>{gallery}<h3>Metrics</h3>{metrics}"
        f"<h3>Config</h3>{config}</section>"
    )


def _comparison_section(runs: Sequence[RunData]) -> str:
    evaluations = [run.metric_values() for run in runs]
    labels = list(dict.fromkeys(label for values in evaluations for label in values))
    metrics = _table(
        ["run", "divergence", "data", "steps", "final F", *labels],
        (
            (
                [
                    run.name,
                    run.divergence,
                    run.data,
                    run.steps_trained,
                    run.final_estimate,
                    *(values.get(label) for label in labels),
                ],
                False,
            )
            for run, values in zip(runs, evaluations, strict=True)
        ),
    )
    configs = [flatten(run.config) for run in runs]
    keys = list(dict.fromkeys(key for config in configs for key in config))
    missing = object()
    config_rows = []
    for key in keys:
        values = [config.get(key, missing) for config in configs]
        differs = any(value != values[0] for value in values[1:])
        config_rows.append(([key, *("(not set)" if value is missing else value for value in values)], differs))
    config = _table(["key", *(run.name for run in runs)], config_rows)
    finals = []
    for run in runs:
        final = run.path / PLOT_DIR / "samples.png"
        finals.append(
            _figure(run.label, inside_run(run.path, final), run.is_image)
            if final.is_file()
            else f"<figure><figcaption>{html.escape(run.label)}: no samples</figcaption></figure>"
        )
    side_by_side = (
        f'<div class="side-by-side" style="grid-template-columns: repeat({len(runs)}, minmax(0, 1fr))">'
        + "".join(finals)
        + "</div>"
    )
    return (
        '<section id="comparison"><h2>Comparison</h2>'
        f"<h3>Variational bound F</h3>{bound_comparison_svg(runs, 'comparison')}"
        f"<h3>Metrics</h3>{metrics}<h3>Final samples</h3>{side_by_side}"
        "<h3>Config</h3><p>Highlighted: keys whose values differ between the runs.</p>"
        f"{config}</section>"
    )


def render_report(runs: Sequence[RunData], title: str | None = None) -> str:
    """The HTML of the report of ``runs``: with several, a comparison, then each run's section."""
    if not runs:
        raise UsageError("a report needs at least one run")
    title = title or (f"fgan run {runs[0].name}" if len(runs) == 1 else f"fgan runs: {', '.join(r.name for r in runs)}")
    parts = []
    if len(runs) > 1:
        links = "".join(f'<a href="#run-{index}">{html.escape(run.label)}</a>' for index, run in enumerate(runs, 1))
        parts.append(f'<nav><a href="#comparison">comparison</a>{links}</nav>{_comparison_section(runs)}')
    parts += [_run_section(run, index) for index, run in enumerate(runs, 1)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1>{''.join(parts)}<script>{LOAD_CHECK_SCRIPT}</script></body></html>\n"
    )


def default_report_path(runs: Sequence[str | Path]) -> Path:
    """``RUN/report.html`` for one run, ``report.html`` in the current folder for several."""
    return Path(runs[0]) / REPORT_FILE if len(runs) == 1 else Path(REPORT_FILE)


def write_report(runs: Sequence[str | Path], out: str | Path | None = None, title: str | None = None) -> Path:
    """Write the HTML report of one run, or the comparison of several, to ``out`` (atomically) and return its path.

    ``out`` defaults to :func:`default_report_path`; ``title`` to one made of the run names. An experiment's output
    folder stands for its run folders (:func:`experiment_runs`).

    Raises:
        UsageError: nothing written, for no runs, the same run given twice, a folder that is not a run (no
            config.json or no metrics.jsonl), or an ``out`` that does not end in .html or is a folder.
    """
    if not runs:
        raise UsageError("a report needs at least one run folder")
    out = Path(out) if out is not None else default_report_path(runs)
    if out.suffix.lower() != ".html":
        raise UsageError(f"the report is an HTML file: --out must end in .html, got {out}")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder")
    runs = [run for given in runs for run in experiment_runs(given)]
    seen: dict[Path, str] = {}
    for run in runs:
        resolved = Path(run).resolve()
        if resolved in seen:
            also = f" (also as {seen[resolved]})" if seen[resolved] != str(run) else ""
            raise UsageError(f"run folder {run} given twice{also}")
        seen[resolved] = str(run)
    names = [Path(run).resolve().name for run in runs]
    if len(set(names)) < len(names):  # folders of the same name in different places: name them by their path
        names = [str(run) for run in runs]
    text = render_report([read_run(run, name) for run, name in zip(runs, names, strict=True)], title)
    atomic_write(out, lambda file: file.write(text.encode()))
    return out
