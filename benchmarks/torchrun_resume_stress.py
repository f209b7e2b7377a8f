"""Stress loop of tests/integration/test_torchrun.py's resume under another number of processes: a 1-process checkpoint
(20 steps) resumed under 2 torchrun processes to step 30, ``--runs`` times, each process under ``nice``. It prints
each failed run's exit status and stderr (with Python's fault handler on, an abort shows every thread's stack) as it
happens, then the number of failed runs, and exits 1 when any run failed.

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/torchrun_resume_stress.py --runs 200
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TRAIN = ["--data", "ring", "--batch-size", "64", "--lr-schedule", "constant", "--device", "cpu", "--quiet"]
TRAIN += ["--checkpoint-every", "10"]
TORCHRUN = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]


def fgan(arguments: list[str], cwd: Path, launcher: list[str], niceness: int) -> subprocess.CompletedProcess:
    """``python [launcher] -m fgan ARGUMENTS`` in ``cwd`` under ``nice -n niceness``, one thread per process."""
    command = ["nice", "-n", str(niceness), sys.executable, *launcher, "-m", "fgan", *arguments]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    try:
        return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as err:
        return subprocess.CompletedProcess(command, -1, err.stdout or "", f"timed out after 600 s\n{err.stderr or ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="resumes under 2 processes (default: 200)")
    parser.add_argument("--nice", type=int, default=10, help="niceness added to every process (default: 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fgan-resume-stress-") as folder:
        work = Path(folder)
        base = fgan(["train", *TRAIN, "--steps", "20", "--out", "base"], work, [], args.nice)
        if base.returncode:
            sys.exit(f"the 1-process run failed (exit {base.returncode}):\n{base.stderr}")
        failures = 0
        for run in range(1, args.runs + 1):
            shutil.copytree(work / "base", work / "run")
            result = fgan(["train", "--resume", "run", "--steps", "30", "--quiet"], work, TORCHRUN, args.nice)
            if result.returncode or "trained 30 steps" not in result.stdout:
                failures += 1
                print(f"--- run {run}: FAILED (exit {result.returncode}); stderr:\n{result.stderr}", flush=True)
            elif run % 10 == 0:
                print(f"run {run}: {failures} failed so far", flush=True)
            shutil.rmtree(work / "run")
    print(f"{failures} of {args.runs} resumes under 2 processes failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
