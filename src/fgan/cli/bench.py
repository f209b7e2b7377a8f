"""``fgan bench``: ms per training step against the conventional two-pass update."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from fgan import bench as benchmark
from fgan.cli.arguments import Commands
from fgan.cli.common import note, print_json
from fgan.errors import UsageError
from fgan.options import option
from fgan.runs import atomic_write, write_json
from fgan.stabilizers import STABILIZERS
from fgan.training import DEVICES, PRECISIONS


@dataclass
class BenchOptions:
    """The options of ``fgan bench``."""

    precision: list[str] = option(default_factory=lambda: ["fp32", "bf16"], help="precisions", choices=PRECISIONS)
    steps: int = option(20, help="steps per timed round", low=1)
    rounds: int = option(5, help="interleaved rounds (the median is reported)", low=1)
    device: str = option("cpu", help="auto picks cuda, then mps, then cpu", choices=DEVICES)
    compile: bool = option(False, help="also time fgan's step under torch.compile")
    sweep: list[int] = option(
        default_factory=lambda: list(benchmark.SWEEP_BATCHES),
        help="batch sizes of the mnist-mlp sweep (none: no sweep)",
        low=1,
        metavar="BATCH",
        allow_empty=True,
    )
    stabilizers: list[str] = option(
        default_factory=lambda: list(STABILIZERS),
        help="stabilisers whose ms per step is timed against the plain step (the first setup, fp32; none: no timing)",
        choices=STABILIZERS,
        metavar="NAME",
        allow_empty=True,
    )
    out: Path = option(Path("runs/bench"), help="folder for bench.json, .md, sweep plot")
    json: bool = option(False, help="print the rows as JSON")


def register(commands: Commands) -> None:
    command = commands.add(
        "bench",
        cmd_bench,
        [("", BenchOptions())],
        help="ms per training step against the conventional two-pass update, measured in one process",
        description="Time fgan's training step (Algorithm 1 in one forward and one backward pass, in each precision) "
        "against the alternating float32 update of the public f-GAN scripts, interleaved in one process; count "
        "the FLOPs of a step and compare with the measured peak of a large matrix product.",
    )
    command.parser.add_argument(
        "setups", nargs="*", metavar="SETUP", help=f"of {', '.join(benchmark.SETUPS)} (default: all)"
    )


def cmd_bench(args: argparse.Namespace) -> None:
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out must be a folder, and {args.out} is a file")
    benchmark.check_sweep("mnist-mlp", args.sweep)  # before anything is measured
    say = (lambda message: None) if args.json else note
    setups = args.setups or list(benchmark.SETUPS)
    rows = benchmark.run_bench(setups, args.precision, args.device, args.steps, args.rounds, notify=say)
    if args.compile:
        rows += benchmark.run_bench(setups, args.precision, args.device, args.steps, args.rounds, True, say)
    sweep = (
        benchmark.batch_sweep("mnist-mlp", args.precision, args.sweep, args.device, notify=say) if args.sweep else []
    )
    costs = (
        benchmark.stabilizer_costs(setups[0], args.stabilizers, args.device, args.steps, args.rounds)
        if args.stabilizers
        else []
    )
    machine = benchmark.machine_description()
    as_dicts = benchmark.rows_to_dicts
    saved = {"machine": machine, "rows": as_dicts(rows), "sweep": as_dicts(sweep), "stabilizers": as_dicts(costs)}
    write_json(args.out / "bench.json", saved)
    tables = f"Machine: {machine}\n\n{benchmark.format_rows(rows)}\n"
    if costs:
        tables += f"\nms per step with each stabiliser ({setups[0]}, fp32):\n\n{benchmark.format_costs(costs)}\n"
    if sweep:
        tables += f"\nms per step against the batch size (mnist-mlp):\n\n{benchmark.format_rows(sweep)}\n"
        benchmark.plot_sweep(sweep, args.out / "batch-sweep.png")
    atomic_write(args.out / "bench.md", lambda file: file.write(tables.encode()))
    if args.json:
        print_json(as_dicts(rows + sweep))
        return
    print(tables)
    print(f"written: {args.out}/bench.json, bench.md" + (", batch-sweep.png" if sweep else ""))
