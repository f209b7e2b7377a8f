"""Data-parallel training under torchrun: 2 CPU processes (gloo) against one process with the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fgan import distributed
from tests.integration.distributed_worker import train_cases

TESTS = Path(__file__).resolve().parent
TRAIN = [
    "--data",
    "ring",
    "--batch-size",
    "64",
    "--lr-schedule",
    "constant",
    "--device",
    "cpu",
    "--quiet",
    "--checkpoint-every",
    "10",
]


def launch(arguments: list[str], processes: int, cwd: Path) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node N`` (or plain python for one process), failing the test on error."""
    launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"] if processes > 1 else []
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, *launcher, *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-6000:]
    return result


def final_state(run: Path) -> dict[str, torch.Tensor]:
    checkpoint = sorted((run / "checkpoints").glob("step-*.pt"))[-1]
    state = torch.load(checkpoint, weights_only=True)
    return {f"{net}.{name}": value for net in ("generator", "critic") for name, value in state[net].items()}


def assert_same_parameters(first: Path, second: Path) -> None:
    one, other = final_state(first), final_state(second)
    assert one.keys() == other.keys()
    for name in one:
        torch.testing.assert_close(one[name], other[name], rtol=1e-5, atol=1e-5, msg=name)


@pytest.fixture(scope="module")
def single_process_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("single")
    launch(["-m", "fgan", "train", *TRAIN, "--steps", "30", "--out", "run"], 1, folder)
    return folder / "run"


def test_two_processes_reach_the_single_process_parameters(single_process_run, tmp_path) -> None:
    result = launch(["-m", "fgan", "train", *TRAIN, "--steps", "30", "--out", "run"], 2, tmp_path)
    assert result.stdout.count("trained 30 steps") == 1  # rank 0 reports, rank 1 keeps quiet
    run = tmp_path / "run"
    assert sorted(path.name for path in (run / "checkpoints").iterdir()) == [
        "step-00000010.pt",
        "step-00000020.pt",
        "step-00000030.pt",
    ]
    assert_same_parameters(run, single_process_run)
    bounds = [line for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(bounds) == 30  # one writer: each step recorded once


def test_a_checkpoint_resumes_under_another_number_of_processes(single_process_run, tmp_path) -> None:
    launch(["-m", "fgan", "train", *TRAIN, "--steps", "20", "--out", "run"], 2, tmp_path)
    launch(["-m", "fgan", "train", "--resume", "run", "--steps", "30", "--quiet"], 1, tmp_path)
    assert_same_parameters(tmp_path / "run", single_process_run)
    launch(["-m", "fgan", "train", *TRAIN, "--steps", "20", "--out", "run1"], 1, tmp_path)
    launch(["-m", "fgan", "train", "--resume", "run1", "--steps", "30", "--quiet"], 2, tmp_path)
    assert_same_parameters(tmp_path / "run1", single_process_run)


def test_every_update_path_keeps_the_ranks_identical_and_matches_one_process(tmp_path) -> None:
    """One forward/backward pass, the per-sample rescaling with a penalty, alternating updates, two backward
    passes through a batch-norm critic, and the stabilisers (R1, spectral norm, instance noise and the EMA on the
    one-pass route; Roth's regulariser by double backward; R2 under alternating updates): after 8 steps both ranks
    hold exactly the same parameters, which match a single process with the same global batch (batch norm aside,
    whose statistics are per process)."""
    launch([str(TESTS / "distributed_worker.py"), str(tmp_path)], 2, tmp_path)
    rank0, rank1 = (torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in (0, 1))
    single = train_cases()
    for name in single:
        assert torch.equal(rank0[name], rank1[name]), name
        if name != "batch-norm-two-pass":
            torch.testing.assert_close(rank0[name], single[name], rtol=1e-5, atol=1e-5, msg=name)


def test_a_gloo_thread_may_take_the_gil_while_a_rank_exits(tmp_path) -> None:
    """The process group is freed before interpreter shutdown, though the trainer's DistributedDataParallel wrappers
    (a cycle) and torch.distributed.nn's default arguments outlive destroy_process_group: a gloo thread that runs
    Python while rank 1 exits then finishes. Freed during the shutdown, the group aborted the rank (SIGABRT)."""
    launch([str(TESTS / "distributed_teardown_worker.py")], 2, tmp_path)


def test_the_global_batch_must_split_evenly(tmp_path) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "fgan"]
    result = subprocess.run(
        [*command, "train", "--data", "ring", "--batch-size", "63", "--steps", "2", "--device", "cpu", "--quiet"],
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode != 0
    assert "batch size 63 does not split evenly across 2 processes" in result.stderr


def test_a_single_process_is_its_own_shard() -> None:
    batch = torch.arange(6)
    assert distributed.world_size() == 1 and distributed.is_main_process()
    assert torch.equal(distributed.shard(batch), batch)
    assert torch.equal(distributed.all_reduce_mean(batch.clone().float()), batch.float())


def test_two_processes_reach_the_same_gaussian_mixture_fit(tmp_path) -> None:
    """The paper's 1-D mixture, Q_θ = N(μ, σ²), kl: the fitted μ̂ and σ̂ agree between 2 processes and 1."""
    arguments = ["-m", "fgan", "train", "--data", "mixture", "--generator", "location-scale", "--divergence", "kl"]
    arguments += ["--steps", "300", "--batch-size", "512", "--device", "cpu", "--quiet"]
    launch([*arguments, "--out", "two"], 2, tmp_path)
    launch([*arguments, "--out", "one"], 1, tmp_path)
    fits = [final_state(tmp_path / run) for run in ("two", "one")]
    for fit in fits:
        assert fit["generator.mu"].abs() > 0.05  # it moved from its start at 0
    torch.testing.assert_close(fits[0]["generator.mu"], fits[1]["generator.mu"], rtol=0, atol=1e-5)
    torch.testing.assert_close(fits[0]["generator.log_sigma"], fits[1]["generator.log_sigma"], rtol=0, atol=1e-5)
