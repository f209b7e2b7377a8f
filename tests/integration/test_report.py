"""fgan report: one self-contained HTML file of a run, or a comparison of runs, checked as text and rendered in
headless Chromium; bad input as one line and exit code 2 with nothing written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fgan.cli import main
from fgan.report import downsample_indices, final_estimate, read_run, write_report
from tests.helpers import quick_run

QUICK = quick_run(batch_size=32)
#: Headless Chromium with no network: these flags keep it from trying (and hanging on) its background services.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=5000",
]
#: matplotlib's first line colour, that of the bound F.
CURVE_BLUE = np.array([0x1F, 0x77, 0xB4])


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    """An image run on scikit-learn's 8x8 digits: 20 steps, a grid of samples every 5."""
    run = tmp_path_factory.mktemp("runs") / "digits-js"
    assert main(["train", "--data", "digits", "--steps", "20", "--sample-every", "5", "--out", str(run), *QUICK]) == 0
    return run


@pytest.fixture(scope="module")
def mixture_run(tmp_path_factory) -> Path:
    """A run of kl on a 1-D mixture, 30 steps, with the training dynamics (dynamics.png and .gif)."""
    run = tmp_path_factory.mktemp("runs") / "mixture-kl"
    data = ["--data", "mixture:0.5:-1:0.5,0.5:1:0.5", "--divergence", "kl", "--snapshots", "3"]
    assert main(["train", *data, "--steps", "30", "--out", str(run), *QUICK]) == 0
    return run


def _fake_run(folder: Path, rows: list[dict], config: dict | None = None) -> Path:
    """A run folder of a config and metrics only."""
    folder.mkdir(parents=True)
    config = config or {"data": "ring", "divergence": "kl", "train": {"steps": len(rows), "lr_generator": 0.001}}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


class _Links(HTMLParser):
    """The src and href attributes of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.targets += [value or "" for name, value in attrs if name in ("src", "href", "xlink:href")]


def _links(text: str) -> list[str]:
    parser = _Links()
    parser.feed(text)
    return parser.targets


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def test_one_run_is_one_self_contained_file(digits_run, capsys) -> None:
    assert main(["report", str(digits_run)]) == 0
    report = digits_run / "report.html"
    assert capsys.readouterr().out.strip() == f"wrote {report}"
    text = report.read_text()
    assert "http://" not in text and "https://" not in text
    links = _links(text)
    assert links and all(link.startswith(("data:image/png;base64,", "#")) for link in links)
    assert text.count("<img ") == 5 and text.count('<svg class="chart"') == 1
    for section in ("<h2>digits-js</h2>", "Training curves", "Samples", "Metrics", "Config"):
        assert section in text
    for caption in ("step 5", "step 10", "step 15", "step 20", "final samples (step 20)"):
        assert f"<figcaption>{caption}</figcaption>" in text
    assert "<dd>20 of 20</dd>" in text and "variational bound F (divergence estimate), losses" in text
    assert "<th>train.lr_generator</th><td class=number>0.0002</td>" in text
    assert "<th>model.model</th><td>mnist-mlp</td>" in text
    assert f"no evaluation yet: run <code>fgan evaluate {digits_run}</code>" in text


def test_metrics_with_nulls_and_late_columns(tmp_path) -> None:
    rows = [{"step": step, "bound": step / 10, "critic_loss": -step / 10, "note": "text"} for step in range(1, 31)]
    rows[28]["bound"] = None  # step 29: non-finite
    for row in rows[10:]:
        row["critic_grad_norm"] = 1.0
    run = _fake_run(tmp_path / "run", rows)
    with (run / "metrics.jsonl").open("a") as file:
        file.write('{"step": 31, "bou')  # cut short by a crash
    data = read_run(run)
    assert data.steps.tolist() == list(range(1, 31))
    assert list(data.metrics) == ["bound", "critic_loss", "critic_grad_norm"]
    assert np.isnan(data.metrics["critic_grad_norm"][:10]).all() and data.metrics["critic_grad_norm"][10] == 1.0
    assert data.nonfinite_steps == 1 and data.final_estimate == pytest.approx(2.9)  # steps 28 and 30
    assert final_estimate(np.array([np.nan, np.nan])) is None and final_estimate(np.array([])) is None
    text = write_report([run]).read_text()
    assert "<dt>non-finite steps</dt><dd>1</dd>" in text and "<dd>2.9</dd>" in text
    assert "losses, gradient norms" in text and "no sample pictures" in text
    assert "no evaluation: <code>fgan evaluate</code> scores image runs" in text


def test_long_curves_are_thinned_to_evenly_spaced_points() -> None:
    assert downsample_indices(10, 2000).tolist() == list(range(10))
    shown = downsample_indices(100_000, 2000)
    assert len(shown) == 2000 and shown[0] == 0 and shown[-1] == 99_999
    assert np.ptp(np.diff(shown)) <= 1


def test_evaluation_json_fills_the_metrics_table(digits_run, tmp_path) -> None:
    run = tmp_path / "run"
    shutil.copytree(digits_run, run)
    evaluation = {
        "run": str(run),
        "data": "digits",
        "n_generated": 300,
        "kde": {"mean": -14.348115, "stderr": 0.365352, "sigma": 0.278256, "sigmas": [0.1, 1.0], "n_test": 297},
        "features": {"fid": 12.3456, "c2st_accuracy": 0.8125, "classes_covered": 9, "class_kl": 0.0123},
    }
    (run / "evaluation.json").write_text(json.dumps(evaluation))
    text = write_report([run], tmp_path / "out" / "one.html").read_text()
    for label, value in (
        ("Parzen log-likelihood (nats)", "-14.35"),
        ("Parzen standard error", "0.3654"),
        ("FID (fgan classifier features)", "12.35"),
        ("two-sample test accuracy", "0.8125"),
        ("classes covered", "9"),
        ("kde.n_test", "297"),
    ):
        assert f"<th>{label}</th><td class=number>{value}</td>" in text
    assert "no evaluation yet" not in text and "kde.sigmas" not in text


def test_evaluate_writes_evaluation_json_for_the_report(digits_run, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FGAN_CACHE_DIR", str(tmp_path / "cache"))
    run = tmp_path / "run"
    shutil.copytree(digits_run, run)
    assert main(["evaluate", str(run), "--n", "300", "--validation", "200", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads((run / "evaluation.json").read_text()) == printed
    text = write_report([run]).read_text()
    assert f"<th>Parzen log-likelihood (nats)</th><td class=number>{printed['kde']['mean']:.4g}</td>" in text


def test_comparison_of_two_runs(digits_run, mixture_run, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(digits_run), str(mixture_run), "--title", "js against kl"]) == 0
    assert capsys.readouterr().out.strip() == "wrote report.html"
    text = (tmp_path / "report.html").read_text()
    assert "<title>js against kl</title>" in text and '<section id="comparison"><h2>Comparison</h2>' in text
    assert 'aria-label="variational bound F of digits-js (js), mixture-kl (kl)"' in text
    assert text.count('<svg class="chart"') == 3
    assert "<thead><tr><th>key</th><th>digits-js</th><th>mixture-kl</th></tr></thead>" in text
    assert "<tr class=differs><th>divergence</th><td>js</td><td>kl</td></tr>" in text
    assert "<tr><th>train.critic_steps</th>" in text
    assert "<tr><th>digits-js</th><td>js</td><td>digits</td><td class=number>20</td>" in text
    for caption in ("digits-js (js)", "mixture-kl (kl)", "training dynamics (animated)", "training dynamics"):
        assert f"<figcaption>{caption}</figcaption>" in text
    assert text.index('<section id="comparison">') < text.index('<section id="run-1">') < text.index('id="run-2"')
    assert all(link.startswith(("data:image/png;base64,", "data:image/gif;base64,", "#")) for link in _links(text))


def test_score_json_of_an_experiment_fills_the_comparison(digits_run, tmp_path) -> None:
    scores = {"gan": (-14.25, 0.37, 12.5, 0.8125), "kl": (-20.5, 0.5, 40.25, 0.9375)}
    runs = []
    for name, (parzen, stderr, fid, c2st) in scores.items():
        run = tmp_path / "table4" / "runs" / name
        shutil.copytree(digits_run, run)
        row = {"divergence": name, "steps": 20, "seconds": 1.5, "status": "trained", "parzen_mean": parzen}
        row |= {"parzen_stderr": stderr, "sigma": 0.2, "fid": fid, "c2st_accuracy": c2st, "classes_covered": 9}
        (run / "score.json").write_text(json.dumps(row))
        runs.append(run)
    text = write_report(runs, tmp_path / "two.html").read_text()
    header = "<th>Parzen log-likelihood (nats)</th><th>Parzen standard error</th>"
    assert header in text and "<th>FID (fgan classifier features)</th>" in text
    assert "<td class=number>-14.25</td><td class=number>0.37</td>" in text
    assert "<td class=number>40.25</td><td class=number>0.9375</td>" in text
    assert "<th>two-sample test accuracy</th><td class=number>0.8125</td>" in text  # the run's own table
    assert "no evaluation yet" not in text


def test_an_experiment_folder_stands_for_its_run_folders(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    table3 = tmp_path / "table3"
    _fake_run(table3 / "runs" / "js", [{"step": 1, "bound": 0.1}], {"data": "mixture", "divergence": "js"})
    _fake_run(table3 / "runs" / "kl", [{"step": 1, "bound": 0.2}], {"data": "mixture", "divergence": "kl"})
    (table3 / "runs" / "kl" / "score.json").write_text(json.dumps({"divergence": "kl", "mu_hat": 1.0125}))
    (table3 / "config.json").write_text(json.dumps({"experiment": "gaussian-mixture", "divergences": ["kl", "js"]}))
    assert main(["report", "table3"]) == 0
    assert capsys.readouterr().out.strip() == "wrote table3/report.html"
    text = (table3 / "report.html").read_text()
    assert "<title>fgan runs: kl, js</title>" in text and "<th>μ̂</th><td class=number>1.012</td>" in text
    (tmp_path / "modes").mkdir()
    (tmp_path / "modes" / "config.json").write_text(json.dumps({"experiment": "modes", "divergences": ["kl"]}))
    assert main(["report", "modes"]) == 2
    assert "holds the modes experiment, which keeps no run folders" in _error_line(capsys)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["empty"], "empty is not a run folder (no config.json)"),
        (["config-only"], "config-only has no metrics.jsonl"),
        (["run", "--out", "report.txt"], "--out must end in .html, got report.txt"),
        (["run", "run/../run"], "run folder run/../run given twice (also as run)"),
        (["run", "--out", "folder.html"], "--out folder.html is a folder"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys, arguments, expected) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "folder.html").mkdir()
    _fake_run(tmp_path / "run", [{"step": 1, "bound": 0.5}])
    _fake_run(tmp_path / "config-only", [])
    (tmp_path / "config-only" / "metrics.jsonl").unlink()
    before = _files(tmp_path)
    assert main(["report", *arguments]) == 2
    error = _error_line(capsys)
    assert error.startswith("fgan: error: ") and expected in error
    assert _files(tmp_path) == before


def _run_chromium(chromium: str, profile: Path, *arguments: str) -> str:
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_report_loads_every_picture_and_chart_in_chromium(chromium, digits_run, mixture_run, tmp_path) -> None:
    report = write_report([digits_run, mixture_run], tmp_path / "compare.html")
    pictures = report.read_text().count("<img ")
    dom = _run_chromium(chromium, tmp_path / "profile", "--dump-dom", report.resolve().as_uri())
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert f'data-images="{pictures}/{pictures}"' in body.group(0) and pictures == 10
    assert 'data-charts="3"' in body.group(0)


def test_screenshot_shows_the_curves_and_the_sample_grids(chromium, digits_run, tmp_path) -> None:
    report = write_report([digits_run], tmp_path / "digits.html")
    screenshot = tmp_path / "screenshot.png"
    _run_chromium(
        chromium,
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        "--window-size=1200,3000",
        report.resolve().as_uri(),
    )
    with Image.open(screenshot) as image:
        pixels = np.asarray(image.convert("RGB")).astype(np.int64)
    assert pixels.shape == (3000, 1200, 3) and (pixels.min(axis=2) < 250).mean() > 0.02  # not blank
    assert (np.abs(pixels - CURVE_BLUE).max(axis=2) <= 40).sum() > 200  # the curves
    # The sample grids: 8x8 tiles of gray pixels (no hue) that are neither white nor flat. Text, tables and charts
    # have none (their text is dark blue or thin).
    gray = (np.ptp(pixels, axis=2) <= 2) & (pixels.max(axis=2) < 235)
    tiles = (3000 // 8, 8, 1200 // 8, 8)
    textured = gray.reshape(tiles).all(axis=(1, 3)) & (pixels[..., 0].reshape(tiles).std(axis=(1, 3)) > 8)
    assert textured.sum() > 200


@pytest.mark.parametrize("link", ["plots/samples.png", "samples/step-0000005.png", "evaluation.json", "metrics.jsonl"])
def test_a_link_out_of_the_run_folder_is_refused_in_one_line(tmp_path, capsys, link: str) -> None:
    """RUN/plots/samples.png -> /etc/passwd embedded /etc/passwd in the report (issue 19, item 2)."""
    run = _fake_run(tmp_path / "run", [{"step": 1, "bound": 0.5}])
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n secret outside the run")
    (run / link).parent.mkdir(parents=True, exist_ok=True)
    if (run / link).exists():
        (run / link).unlink()
    (run / link).symlink_to(secret)
    assert main(["report", str(run)]) == 2
    err = _error_line(capsys)
    assert "leads outside the run folder" in err and link.split("/")[-1] in err
    assert not (run / "report.html").exists()


def test_a_link_loop_is_one_line_and_links_inside_the_run_are_followed(tmp_path, capsys) -> None:
    run = _fake_run(tmp_path / "run", [{"step": 1, "bound": 0.5}])
    (run / "plots").mkdir()
    Image.new("L", (4, 4)).save(run / "kept.png")
    (run / "plots" / "samples.png").symlink_to(run / "kept.png")  # inside the run: embedded
    assert main(["report", str(run)]) == 0
    assert "data:image/png;base64" in (run / "report.html").read_text()
    (run / "score.json").symlink_to(run / "score.json")
    assert main(["report", str(run)]) == 2
    assert "score.json" in _error_line(capsys)


def test_a_run_folder_named_with_mathtext_is_reported(tmp_path, capsys) -> None:
    """A run folder named r$\\foo$ crashed the report with a multi-line mathtext error (issue 19, item 11)."""
    run = _fake_run(tmp_path / "r$\\foo$", [{"step": 1, "bound": 0.5}, {"step": 2, "bound": 0.7}])
    other = _fake_run(tmp_path / "b$x^$", [{"step": 1, "bound": 0.1}])
    assert main(["report", str(run), str(other), "--out", str(tmp_path / "both.html")]) == 0
    text = (tmp_path / "both.html").read_text()
    assert "r$\\foo$" in text and "b$x^$" in text
