"""The benchmark measures what it says: the reference is the two-pass update, FLOPs are counted, rows are complete.
No timing is asserted (speed is measured by ``fgan bench``, not by tests)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from fgan import bench
from fgan.bench import (
    SETUPS,
    ReferenceUpdate,
    batch_sweep,
    build_trainer_and_reference,
    format_rows,
    interleaved_ms,
    measure,
    repeated,
    step_gflop,
)
from fgan.cli import main
from fgan.stabilizers import STABILIZERS

ROW_KEYS = {
    "config",
    "precision",
    "batch_size",
    "ms_per_step",
    "reference_ms_per_step",
    "speedup",
    "gflops",
    "peak_gflops",
}


def count_calls(module: torch.nn.Module) -> list[int]:
    calls = [0]
    module.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_the_reference_runs_the_generator_twice_per_step_and_fgan_once() -> None:
    setup = SETUPS["gaussian-mixture"]
    trainer, reference = build_trainer_and_reference(setup, replace(setup.train, batch_size=64, device="cpu"))
    ours, theirs = count_calls(trainer.generator), count_calls(reference.generator)
    ours_critic, theirs_critic = count_calls(trainer.critic), count_calls(reference.critic)
    before = [p.detach().clone() for p in reference.critic.parameters()]
    trainer.config.steps = 3
    trainer.train()
    reference.train(3)
    assert ours == [3] and theirs == [6]
    assert ours_critic == [3] and theirs_critic == [9]  # fgan: real and generated in one pass; reference: 3 passes
    assert any(not torch.equal(b, p) for b, p in zip(before, reference.critic.parameters(), strict=True))


def test_reference_starts_from_the_same_weights() -> None:
    setup = SETUPS["mnist-mlp"]
    trainer, reference = build_trainer_and_reference(setup, replace(setup.train, batch_size=8, device="cpu"))
    assert isinstance(reference, ReferenceUpdate)
    for ours, theirs in zip(trainer.generator.parameters(), reference.generator.parameters(), strict=True):
        assert torch.equal(ours, theirs)


def test_flops_of_an_mnist_step_match_the_layer_count() -> None:
    """Forward: 2 B (fan_in x fan_out) per linear layer, generator on B samples and critic on 2B. Backward: the weight
    gradients (as many again) and the input gradients of every layer but the generator's first (its input is
    the latent code, which needs none)."""
    setup = SETUPS["mnist-mlp"]
    batch = 32
    trainer, _ = build_trainer_and_reference(setup, replace(setup.train, batch_size=batch, device="cpu"))
    generator_layers = [(100, 1200), (1200, 1200), (1200, 784)]
    critic_layers = [(784, 240), (240, 240), (240, 1)]
    macs = lambda layers: sum(fan_in * fan_out for fan_in, fan_out in layers)  # noqa: E731
    generator = 2 * batch * (2 * macs(generator_layers) + macs(generator_layers[1:]))
    critic = 2 * (2 * batch) * 3 * macs(critic_layers)
    trainer.config.steps = 10
    assert step_gflop(trainer) * 1e9 == pytest.approx(generator + critic, rel=1e-6)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_measurement_has_every_field(precision: str) -> None:
    row = measure(SETUPS["gaussian-mixture"], precision, batch_size=64, steps=2, rounds=1, peak=100.0)
    assert row.config == "gaussian-mixture" and row.precision == precision and row.batch_size == 64
    assert row.ms_per_step > 0 and row.reference_ms_per_step > 0
    assert row.speedup == pytest.approx(row.reference_ms_per_step / row.ms_per_step)
    assert row.gflops == pytest.approx(row.gflop_per_step / (row.ms_per_step / 1000))
    assert row.peak_fraction == pytest.approx(row.gflops / 100.0)


def test_the_peak_is_timed_in_the_same_rounds_as_the_steps(monkeypatch) -> None:
    """Without a given peak, the matrix product is a third run of the interleaved rounds (a drifting machine moves
    it with the steps), PEAK_REPEATS products a round, and the row's peak is 2·2048³ FLOP over its median."""
    calls: list[tuple[list[str], dict]] = []
    real = bench.interleaved_ms

    def recorded(runs, repeats, rounds, device, own_repeats):
        calls.append((list(runs), own_repeats))
        return {**real(runs, repeats, rounds, device, own_repeats), "peak": 1000.0}  # 1 s a product

    monkeypatch.setattr(bench, "interleaved_ms", recorded)
    row = measure(SETUPS["gaussian-mixture"], "fp32", batch_size=16, steps=1, rounds=1)
    assert calls == [(["reference", "fgan", "peak"], {"peak": bench.PEAK_REPEATS})]
    assert row.peak_gflops == pytest.approx(2 * 2048**3 / 1e9)
    assert row.peak_fraction == pytest.approx(row.gflops / row.peak_gflops)


def test_the_table4_setup_is_the_mnist_pair_at_batch_4096_and_runs_in_both_precisions() -> None:
    setup = SETUPS["mnist-mlp-4096"]
    assert setup.batch_size == 4096 and setup.train == SETUPS["mnist-mlp"].train
    shapes = [[tuple(p.shape) for p in candidate.build()[0].parameters()] for candidate in (setup, SETUPS["mnist-mlp"])]
    assert shapes[0] == shapes[1]
    for precision in ("fp32", "bf16"):  # at a tiny batch: the test checks that it runs, the lead measures it
        row = measure(setup, precision, batch_size=8, steps=1, rounds=1, peak=50.0)
        assert row.config == "mnist-mlp-4096" and row.precision == precision and row.batch_size == 8
        assert row.reference_ms_per_step > 0 and row.peak_fraction == pytest.approx(row.gflops / 50.0)


def test_the_sweep_covers_every_batch_and_precision() -> None:
    rows = batch_sweep("gaussian-mixture", ["fp32"], [16, 32], steps=1, rounds=1)
    assert [(row.batch_size, row.precision) for row in rows] == [(16, "fp32"), (32, "fp32")]


def test_cli_bench_writes_json_markdown_and_the_sweep_plot(tmp_path, capsys) -> None:
    out = tmp_path / "bench"
    arguments = ["bench", "gaussian-mixture", "--precision", "fp32", "--steps", "1", "--rounds", "1"]
    assert main([*arguments, "--sweep", "16", "32", "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed) == 3 and all(ROW_KEYS <= set(row) for row in printed)
    saved = json.loads((out / "bench.json").read_text())
    assert saved["machine"] and len(saved["rows"]) == 1 and len(saved["sweep"]) == 2
    assert (out / "batch-sweep.png").stat().st_size > 0
    assert "| gaussian-mixture | fp32 |" in (out / "bench.md").read_text()
    costs = saved["stabilizers"]
    assert [cost["stabilizer"] for cost in costs] == ["none", *STABILIZERS]
    assert costs[0]["ratio_to_plain"] == 1.0 and all(cost["ms_per_step"] > 0 for cost in costs)
    assert "| gaussian-mixture | roth |" in (out / "bench.md").read_text()


def test_cli_bench_rejects_an_unknown_setup_in_one_line(tmp_path, capsys) -> None:
    assert main(["bench", "imagenet", "--sweep", "--out", str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert not (tmp_path / "b").exists()


def test_cli_bench_refuses_an_output_file_before_measuring(tmp_path, capsys) -> None:
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    assert main(["bench", "gaussian-mixture", "--sweep", "--out", str(taken)]) == 2
    assert "--out must be a folder" in capsys.readouterr().err
    assert taken.read_text() == "mine"


def test_interleaved_timing_takes_the_runs_in_turn_and_repeats_each() -> None:
    calls: list[tuple[str, int]] = []
    counted = {"work": 0}

    def work() -> None:
        counted["work"] += 1

    runs = {name: (lambda n, name=name: calls.append((name, n))) for name in ("a", "b")}
    runs["c"] = repeated(work)
    times = interleaved_ms(runs, repeats=3, rounds=2)
    # a warm-up round, then two timed ones, each run in turn, the order reversed every other round
    assert calls == [("b", 3), ("a", 3), ("a", 3), ("b", 3), ("b", 3), ("a", 3)]
    assert counted["work"] == 3 * 3
    assert set(times) == {"a", "b", "c"} and all(ms >= 0 for ms in times.values())


def test_cli_bench_refuses_fp16_on_the_cpu_in_one_line_before_measuring(tmp_path, capsys) -> None:
    """fp16 on the CPU took 10.5 minutes for one step and printed "0 GFLOP/s ... 125 %" (issue 19, item 17)."""
    out = tmp_path / "b"
    assert main(["bench", "gaussian-mixture", "--precision", "fp16", "--sweep", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fp16 on the CPU" in err
    assert not (out / "bench.json").exists()


def test_small_rates_are_shown_with_their_digits_not_as_zero() -> None:
    row = measure(SETUPS["gaussian-mixture"], "fp32", batch_size=16, steps=1, rounds=1, peak=0.4)
    slow = replace(row, gflops=0.5, peak_gflops=0.4, peak_fraction=1.25)
    line = format_rows([slow]).splitlines()[-1]
    assert "| 0.5 | 0.4 | 125% |" in line
