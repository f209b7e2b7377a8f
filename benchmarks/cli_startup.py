"""Start-up time of the command line: ``fgan --help``, ``fgan train --help`` and a misspelt command's error, each
the median wall time of ``--runs`` fresh processes (``python -m fgan ...``), against ``python -c pass`` in the same
run. ``fgan --help`` and the typo import no command module (no torch, scipy or matplotlib); ``fgan train --help``
imports the train command and so torch.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cli_startup.py --runs 11
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": ["-c", "pass"],
    "fgan --help": ["-m", "fgan", "--help"],
    "fgan trian (typo)": ["-m", "fgan", "trian"],
    "fgan train --help": ["-m", "fgan", "train", "--help"],
}


def median_seconds(arguments: list[str], runs: int) -> float:
    """The median wall time of ``runs`` processes ``python ARGUMENTS`` (the exit code is not checked: the typo
    exits 2)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, *arguments], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="processes per command (the median is reported)")
    runs = parser.parse_args().runs
    medians = {name: median_seconds(arguments, runs) for name, arguments in CASES.items()}
    baseline = medians["python -c pass"]
    print(f"| command | median s of {runs} | x python -c pass |\n|---|---:|---:|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.3f} | {seconds / baseline:.1f} |")


if __name__ == "__main__":
    main()
