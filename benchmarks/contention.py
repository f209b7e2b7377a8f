"""How fgan's training step and the conventional reference update slow down when the CPU is shared.

For each configuration (the paper's 1-D Gaussian-mixture pair, the 8-Gaussian ring's MLPs of ``fgan train --data
ring``, the paper's MNIST pair) it times fgan's step and the reference of ``fgan bench`` interleaved, in rounds that
alternate a quiet machine with a loaded one: ``--busy`` processes of plain Python busy loops, started and stopped by
this script (each also ends by itself after ``--max-load-seconds``), or ``--load torch`` processes each running
small matrix products on torch's default threads (peers that are PyTorch jobs themselves). The slowdown of a step
is its median loaded time over its median quiet time; fgan degrades in proportion when its slowdown is close to the
reference's. fgan trains with its default thread policy (:class:`fgan.threads.ThreadGovernor`), given ``--settle``
seconds of training in each condition before it is timed; the reference, like a plain PyTorch loop, runs at torch's
thread count.

``--demo`` times ``fgan reproduce gaussian-mixture`` (``make demo``) quiet and loaded instead, beside the reference
step of the same models in the same conditions.

    python benchmarks/contention.py                 # 6 busy processes, every configuration
    python benchmarks/contention.py --busy 4 --config ring --json
    python benchmarks/contention.py --demo --rounds 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

from fgan.bench import SETUPS, BenchSetup, build_trainer_and_reference, interleaved_ms
from fgan.data import ring
from fgan.models import MLPCritic, build_generator

#: The ring's networks and options as ``fgan train --data ring`` builds them (MLP generator and critic).
RING = BenchSetup(
    "ring",
    512,
    lambda: (build_generator("mlp", 2, latent_dim=8), MLPCritic(2), ring()),
    replace(SETUPS["gaussian-mixture"].train, lr_generator=1e-3, lr_critic=1e-3, betas=(0.5, 0.999)),
)
CONFIGS = {"gaussian-mixture": SETUPS["gaussian-mixture"], "ring": RING, "mnist-mlp": SETUPS["mnist-mlp"]}
_UNTIL = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\n"
#: The busy processes of each ``--load``: a pure-Python loop, or small matrix products on torch's default threads.
LOADS = {
    "python": _UNTIL + "while time.monotonic() < end:\n    pass\n",
    "torch": _UNTIL + "import torch\na = torch.randn(256, 256)\nwhile time.monotonic() < end:\n    (a @ a).tanh_()\n",
}


@dataclass
class ContentionRow:
    """Median ms per step of each update on the quiet and on the loaded machine, and their ratios."""

    config: str
    busy_processes: int
    fgan_quiet_ms: float
    fgan_loaded_ms: float
    reference_quiet_ms: float
    reference_loaded_ms: float
    fgan_slowdown: float
    reference_slowdown: float
    relative_slowdown: float
    fgan_loaded_threads: int


@contextmanager
def cpu_load(processes: int, max_seconds: float, load: str = "python") -> Iterator[None]:
    """``processes`` busy processes of kind ``load`` for the duration of the block (each ends by itself after
    ``max_seconds``)."""
    busy = [subprocess.Popen([sys.executable, "-c", LOADS[load], str(max_seconds)]) for _ in range(processes)]
    time.sleep(0.5 if load == "python" else 3.0)  # torch's import takes seconds: the load is on when it computes
    try:
        yield
    finally:
        for process in busy:
            process.kill()
            process.wait()


def measure(
    setup: BenchSetup, busy: int, rounds: int, steps: int, max_seconds: float, load: str = "python", settle: float = 2.0
) -> ContentionRow:
    """``rounds`` rounds of (quiet, loaded) timings of fgan's step and the reference, ``steps`` steps each, fgan
    trained for ``settle`` seconds in each condition before it is timed."""
    trainer, reference = build_trainer_and_reference(setup, replace(setup.train, batch_size=setup.batch_size))
    trainer.config.steps = 10**9
    runs = {"fgan": lambda n: trainer.train(steps=n), "reference": reference.train}
    interleaved_ms(runs, steps, rounds=1)  # warm up both (and any lazy initialisation) before the first round
    quiet: dict[str, list[float]] = {name: [] for name in runs}
    loaded: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        trainer.train(time_limit=settle)
        for name, ms in interleaved_ms(runs, steps, rounds=1).items():
            quiet[name].append(ms)
        with cpu_load(busy, max_seconds, load):
            trainer.train(time_limit=settle)
            for name, ms in interleaved_ms(runs, steps, rounds=1).items():
                loaded[name].append(ms)
            loaded_threads = trainer.threads.count
    medians = {name: (statistics.median(quiet[name]), statistics.median(loaded[name])) for name in runs}
    fgan_slowdown = medians["fgan"][1] / medians["fgan"][0]
    reference_slowdown = medians["reference"][1] / medians["reference"][0]
    return ContentionRow(
        setup.name,
        busy,
        *medians["fgan"],
        *medians["reference"],
        fgan_slowdown,
        reference_slowdown,
        fgan_slowdown / reference_slowdown,
        loaded_threads,
    )


def demo_seconds(busy: int, max_seconds: float, load: str, loaded: bool) -> float:
    """Wall seconds of ``fgan reproduce gaussian-mixture`` (``make demo``), on a quiet or a loaded machine."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "fgan", "reproduce", "gaussian-mixture", "--out", out, "--force"]
        with cpu_load(busy if loaded else 0, max_seconds, load):
            started = time.monotonic()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.monotonic() - started


def measure_demo(busy: int, rounds: int, steps: int, max_seconds: float, load: str) -> dict[str, float]:
    """The demo's slowdown under load beside the reference step's on the same models, ``rounds`` rounds each."""
    quiet = statistics.median(demo_seconds(busy, max_seconds, load, loaded=False) for _ in range(rounds))
    loaded = statistics.median(demo_seconds(busy, max_seconds, load, loaded=True) for _ in range(rounds))
    step = measure(CONFIGS["gaussian-mixture"], busy, rounds, steps, max_seconds, load)
    return {
        "demo_quiet_s": quiet,
        "demo_loaded_s": loaded,
        "demo_slowdown": loaded / quiet,
        "reference_step_slowdown": step.reference_slowdown,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", choices=list(CONFIGS), help="default: all")
    parser.add_argument("--busy", type=int, default=6, help="busy processes while loaded")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="steps per timing")
    parser.add_argument("--max-load-seconds", type=float, default=900.0, help="each busy process's own time limit")
    parser.add_argument("--load", choices=list(LOADS), default="python", help="what the busy processes run")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds fgan trains in a condition before timing")
    parser.add_argument("--demo", action="store_true", help="time make demo instead of the steps")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.demo:
        print(json.dumps(measure_demo(args.busy, args.rounds, args.steps, args.max_load_seconds, args.load), indent=2))
        return
    rows = [
        measure(CONFIGS[name], args.busy, args.rounds, args.steps, args.max_load_seconds, args.load, args.settle)
        for name in args.config or CONFIGS
    ]
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
        return
    print(
        "| config | fgan quiet ms | fgan loaded ms | reference quiet ms | reference loaded ms | fgan slowdown | "
        "reference slowdown | fgan / reference | fgan threads loaded |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.config} | {row.fgan_quiet_ms:.2f} | {row.fgan_loaded_ms:.2f} | {row.reference_quiet_ms:.2f} | "
            f"{row.reference_loaded_ms:.2f} | {row.fgan_slowdown:.2f}x | {row.reference_slowdown:.2f}x | "
            f"{row.relative_slowdown:.2f} | {row.fgan_loaded_threads} |"
        )


if __name__ == "__main__":
    main()
