"""Table 3's right half (fgan.experiments.table3_cross): a fresh critic's bound against the exact divergence, the
diagonal count and the table, and ``fgan reproduce gaussian-mixture --cross`` end to end."""

from __future__ import annotations

import json
import math

import torch

from fgan.cli import main
from fgan.data import parse_mixture
from fgan.experiments import table3_cross
from fgan.experiments.table3_cross import CrossCell, cross_table, diagonal_minima, format_cross, train_critic


def test_a_trained_critic_bounds_the_exact_divergence_closely_from_below() -> None:
    mixture = parse_mixture("1:0:1")  # P = N(0, 1), Q = N(0.5, 1): KL = 0.125
    estimate = train_critic(mixture, lambda n: 0.5 + torch.randn(n, 1), "kl", seed=0)
    exact = 0.5**2 / 2  # KL(N(0, 1) ‖ N(0.5, 1)) = (μ_P - μ_Q)² / 2
    assert exact - 0.02 < estimate < exact + 0.01  # a lower bound, up to the evaluation's sampling error


def test_the_cells_hold_every_pair_and_the_exact_divergence_of_each(monkeypatch) -> None:
    monkeypatch.setattr(table3_cross, "CRITIC_STEPS", 20)
    monkeypatch.setattr(table3_cross, "EVALUATION_SAMPLES", 1000)
    mixture = parse_mixture("0.5:-1:0.5,0.5:1:0.5")
    fits = [("kl", 0.0, 1.2), ("reverse-kl", -1.0, 0.5)]
    asked = []

    def exact(divergence, mu, sigma):
        asked.append((divergence.name, mu, sigma))
        return len(asked) / 10

    cells = cross_table(mixture, fits, exact)
    assert [(cell.trained, cell.scored) for cell in cells] == [
        ("kl", "kl"),
        ("kl", "reverse-kl"),
        ("reverse-kl", "kl"),
        ("reverse-kl", "reverse-kl"),
    ]
    assert asked == [("kl", 0.0, 1.2), ("reverse-kl", 0.0, 1.2), ("kl", -1.0, 0.5), ("reverse-kl", -1.0, 0.5)]
    assert [cell.divergence_exact for cell in cells] == [0.1, 0.2, 0.3, 0.4]
    assert all(math.isfinite(cell.objective_hat) for cell in cells)


def test_the_diagonal_count_and_the_table() -> None:
    values = {("a", "a"): 0.1, ("a", "b"): 0.9, ("b", "a"): 0.5, ("b", "b"): 1.2}  # b's column minimum is off it
    cells = [CrossCell(trained, scored, value - 0.01, value) for (trained, scored), value in values.items()]
    assert diagonal_minima(cells, lambda cell: cell.divergence_exact) == ["a"]
    table = format_cross(cells)
    assert "| a | 0.0900 / **0.1000** | 0.8900 / **0.9000** |" in table
    assert "| b | 0.4900 / 0.5000 | 1.1900 / 1.2000 |" in table
    assert table.endswith("column minimum on the diagonal: exact D_B 1 of 2, estimated F̂_B 1 of 2")


def test_reproduce_gaussian_mixture_cross_writes_the_right_half(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(table3_cross, "CRITIC_STEPS", 20)
    monkeypatch.setattr(table3_cross, "EVALUATION_SAMPLES", 1000)
    out = tmp_path / "cross"
    arguments = ["--divergence", "kl", "--divergence", "js", "--steps", "20", "--snapshots", "1", "--out", str(out)]
    assert main(["reproduce", "gaussian-mixture", *arguments, "--cross"]) == 0
    printed = capsys.readouterr().out
    assert "| Q trained under \\ scored by: F̂_B / D_B(P‖Q) | kl | js |" in printed
    assert "column minimum on the diagonal: exact D_B" in printed and "cross.md" in printed
    cells = json.loads((out / "cross.json").read_text())
    assert [(cell["trained"], cell["scored"]) for cell in cells] == [
        ("kl", "kl"),
        ("kl", "js"),
        ("js", "kl"),
        ("js", "js"),
    ]
    assert (out / "cross.md").read_text().startswith("| Q trained under")
    assert main(["reproduce", "gaussian-mixture", *arguments, "--force"]) == 0
    assert "scored by" not in capsys.readouterr().out  # without --cross, the left half alone
