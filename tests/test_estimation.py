"""Divergence estimation from samples: accuracy, intervals, density ratios, files, bad input."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

from fgan.cli import main
from fgan.errors import UsageError
from fgan.estimation import EstimateConfig, as_samples, estimate_divergence, load_samples
from fgan.gaussians import Gaussian, gaussian_divergence
from tests.helpers import QUICK_ESTIMATE

SHIFT = np.array([0.7, 0.0])


def shifted_pair(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) + SHIFT


@pytest.fixture(scope="module")
def kl_estimate():
    p, q = shifted_pair(6000)
    return estimate_divergence(p, q, "kl", QUICK_ESTIMATE)


def test_kl_estimate_is_close_and_its_interval_covers_the_truth(kl_estimate) -> None:
    truth = gaussian_divergence("kl", np.zeros(2), np.eye(2), SHIFT, np.eye(2))  # |μ|²/2 = 0.245
    assert truth == pytest.approx(0.245)
    assert kl_estimate.estimate == pytest.approx(truth, rel=0.15)
    assert kl_estimate.ci_low < truth < kl_estimate.ci_high
    assert kl_estimate.ci_high - kl_estimate.ci_low < 0.15
    assert kl_estimate.n_p == kl_estimate.n_q == 6000 and kl_estimate.folds == 3 and len(kl_estimate.critics) == 3
    assert {"fold", "step", "train_bound", "validation_bound"} <= set(kl_estimate.curve[0])


def test_density_ratio_follows_the_true_ratio(kl_estimate) -> None:
    points = np.random.default_rng(5).standard_normal((2000, 2)) + SHIFT / 2
    true_log_ratio = Gaussian(np.zeros(2), np.eye(2)).log_prob(points) - Gaussian(SHIFT, np.eye(2)).log_prob(points)
    log_ratio = np.log(kl_estimate.ratio(points))
    assert np.corrcoef(log_ratio, true_log_ratio)[0, 1] > 0.97
    assert np.median(np.abs(log_ratio - true_log_ratio)) < 0.15
    with pytest.raises(UsageError, match="dimension"):
        kl_estimate.ratio(np.zeros((3, 5)))


def test_equal_distributions_give_an_estimate_near_zero() -> None:
    rng = np.random.default_rng(3)
    result = estimate_divergence(rng.standard_normal((4000, 3)), rng.standard_normal((4000, 3)), "js", QUICK_ESTIMATE)
    assert abs(result.estimate) < 0.01
    assert result.ci_low < 0.0 < result.ci_high or abs(result.ci_low) < 0.005


def test_bootstrap_interval_agrees_with_the_normal_one() -> None:
    p, q = shifted_pair(3000, seed=1)
    normal = estimate_divergence(p, q, "hellinger", QUICK_ESTIMATE)
    bootstrap = estimate_divergence(p, q, "hellinger", EstimateConfig(**{**QUICK_ESTIMATE.__dict__, "ci": "bootstrap"}))
    assert bootstrap.estimate == normal.estimate  # same critics: the seed fixes the training
    assert bootstrap.ci_method == "bootstrap"
    assert bootstrap.ci_low == pytest.approx(normal.ci_low, abs=0.01)
    assert bootstrap.ci_high == pytest.approx(normal.ci_high, abs=0.01)


def test_tv_has_no_density_ratio() -> None:
    p, q = shifted_pair(600)
    result = estimate_divergence(p, q, "tv", EstimateConfig(max_steps=50, eval_every=25))
    with pytest.raises(UsageError, match="not invertible"):
        result.ratio(p[:5])


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        (np.zeros((100, 2)), np.zeros((100, 3)), "differ in dimension"),
        (np.full((100, 2), np.nan), np.zeros((100, 2)), "NaN or infinite"),
        (np.zeros((0, 2)), np.zeros((100, 2)), "no samples"),
        (np.zeros((40, 2)), np.zeros((400, 2)), "P has 40 samples"),
        (np.zeros((2, 2, 2)), np.zeros((100, 2)), "shape"),
        (np.array([["a", "b"]] * 100), np.zeros((100, 2)), "real numbers"),
    ],
)
def test_bad_samples_are_usage_errors(p, q, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        estimate_divergence(p, q, "kl", QUICK_ESTIMATE)


def test_a_nan_row_is_named() -> None:
    samples = np.zeros((50, 2))
    samples[17, 1] = np.inf
    with pytest.raises(UsageError, match="the first is row 17"):
        as_samples(samples, "P")


def test_a_value_beyond_float32_is_refused_naming_the_file(tmp_path, capsys) -> None:
    """1e39 overflowed to inf in float32 with warning lines, then was refused naming "P" (issue 19, item 17)."""
    samples = np.zeros((50, 1))
    samples[3, 0] = 1e39
    path = tmp_path / "big.npy"
    np.save(path, samples)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from the cast
        with pytest.raises(UsageError, match=rf"^{re.escape(str(path))}: 1 rows .* beyond float32.*row 3\)$"):
            load_samples(path)


def test_load_samples_reads_npy_npz_and_csv(tmp_path) -> None:
    values = np.arange(12, dtype=np.float64).reshape(6, 2)
    np.save(tmp_path / "a.npy", values)
    np.savez(tmp_path / "b.npz", samples=values, other=values[:2])
    np.savez(tmp_path / "c.npz", values)
    (tmp_path / "d.csv").write_text("x,y\n" + "\n".join(f"{a},{b}" for a, b in values))
    (tmp_path / "e.csv").write_text("\n".join(f"{a},{b}" for a, b in values) + "\n\n")
    for name in ("a.npy", "b.npz", "c.npz", "d.csv", "e.csv"):
        np.testing.assert_array_equal(load_samples(tmp_path / name), values.astype(np.float32))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.txt", b"1,2", "must be a .npy, .npz or .csv"),
        ("x.csv", b"", "empty file"),
        ("x.csv", b"1,2\n3\n", "same number of values"),
        ("x.csv", b"1,2\n3,oops\n", "not comma-separated numbers"),
        ("x.npy", b"garbage", "cannot read samples"),
        ("x.npz", b"PK\x03\x04garbage", "cannot read samples"),
    ],
)
def test_bad_sample_files_are_one_line_errors(tmp_path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UsageError, match=message) as error:
        load_samples(tmp_path / name)
    assert "\n" not in str(error.value)


def test_npz_with_several_unnamed_arrays_is_refused(tmp_path) -> None:
    np.savez(tmp_path / "two.npz", first=np.zeros((5, 2)), second=np.zeros((5, 2)))
    with pytest.raises(UsageError, match="name one 'samples'"):
        load_samples(tmp_path / "two.npz")


def test_cli_estimate_json_and_ratio_file(tmp_path, capsys) -> None:
    p, q = shifted_pair(1500, seed=2)
    np.save(tmp_path / "p.npy", p)
    np.savetxt(tmp_path / "q.csv", q, delimiter=",")
    np.save(tmp_path / "at.npy", p[:7])
    argv = [
        "estimate",
        "--p",
        str(tmp_path / "p.npy"),
        "--q",
        str(tmp_path / "q.csv"),
        "--divergence",
        "js",
        "--max-steps",
        "200",
        "--json",
        "--ratio-out",
        str(tmp_path / "r.csv"),
        "--ratio-at",
        str(tmp_path / "at.npy"),
    ]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("divergence", "estimate", "ci_low", "ci_high", "n_p", "n_q", "ci_method", "curve"):
        assert key in result
    assert result["divergence"] == "js" and result["n_p"] == 1500 and result["ci_method"] == "normal"
    assert result["ci_low"] <= result["estimate"] <= result["ci_high"]
    ratios = np.loadtxt(tmp_path / "r.csv", delimiter=",")
    assert ratios.shape == (7,) and (ratios > 0).all()


def test_cli_estimate_text_says_the_interval_method(tmp_path, capsys) -> None:
    p, q = shifted_pair(600, seed=4)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "q.npy", q)
    assert (
        main(
            [
                "estimate",
                "--p",
                str(tmp_path / "p.npy"),
                "--q",
                str(tmp_path / "q.npy"),
                "--max-steps",
                "100",
                "--ci",
                "bootstrap",
                "--critic",
                "mlp",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("kl(P||Q) = ") and "(bootstrap)" in out and "n_P = 600" in out
    assert "validation bound of fold 1 by step: 100: " in out


@pytest.mark.parametrize(
    ("p_values", "q_values", "extra", "message"),
    [
        (np.zeros((100, 2)), np.zeros((100, 3)), [], "differ in dimension"),
        (np.full((100, 2), np.nan), np.zeros((100, 2)), [], "NaN or infinite"),
        (np.zeros((20, 2)), np.zeros((20, 2)), [], "samples"),
        (np.zeros((100, 2)), np.zeros((100, 2)), ["--divergence", "nope"], "unknown divergence"),
        (np.zeros((100, 2)), np.zeros((100, 2)), ["--folds", "1"], "--folds"),
        (np.zeros((100, 2)), np.zeros((100, 2)), ["--level", "1.5"], "--level: must be in (0, 1)"),
        (np.zeros((100, 2)), np.zeros((100, 2)), ["--ratio-out", "r.txt"], ".npy or .csv"),
        (np.zeros((100, 2)), np.zeros((100, 2)), ["--ratio-at", "x.npy"], "--ratio-at needs --ratio-out"),
    ],
)
def test_cli_estimate_bad_input_exit_2(tmp_path, capsys, p_values, q_values, extra, message) -> None:
    np.save(tmp_path / "p.npy", p_values)
    np.save(tmp_path / "q.npy", q_values)
    assert main(["estimate", "--p", str(tmp_path / "p.npy"), "--q", str(tmp_path / "q.npy"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_cli_estimate_needs_both_files(capsys, tmp_path) -> None:
    assert main(["estimate", "--p", "p.npy"]) == 2
    assert "needs --p FILE and --q FILE" in capsys.readouterr().err
    assert main(["estimate", "--p", str(tmp_path / "absent.npy"), "--q", str(tmp_path / "absent.npy")]) == 2
    assert "cannot read samples" in capsys.readouterr().err
