"""The bf16 step of the paper's MNIST pair at batch 4,096 with the generated batch handed to the critic in bf16 (as
fgan does) against the same step with it cast to float32 first (the route before, which the critic's autocast casts
back to the same values): ms per step of two trainers from the same weights, interleaved in one process with the
2048 x 2048 bf16 matrix product whose rate is the peak, medians of 7 rounds of 10 steps.

    python benchmarks/autocast_handoff.py
"""

from __future__ import annotations

from dataclasses import replace

import torch

from fgan.bench import SETUPS, build_trainer_and_reference, interleaved_ms, matmul_peak, step_gflop


def main() -> None:
    setup = SETUPS["mnist-mlp-4096"]
    config = replace(setup.train, batch_size=4096, precision="bf16", device="cpu", threads=torch.get_num_threads())
    runs = {}
    for route in ("bf16", "float32"):
        trainer, _ = build_trainer_and_reference(setup, config)
        trainer.config.steps = 10**9  # steps are taken 10 at a time
        if route == "float32":
            narrow = trainer.engine.generate
            trainer.engine.generate = lambda sync=True, narrow=narrow: narrow(sync).float()  # type: ignore[method-assign]
        runs[route] = lambda n, trainer=trainer: trainer.train(steps=n)
    gflop = step_gflop(trainer)
    runs["peak"], product_gflop = matmul_peak("bf16", torch.device("cpu"))
    times = interleaved_ms(runs, 10, 7, own_repeats={"peak": 5})
    peak = product_gflop / (times["peak"] / 1000)
    for route in ("bf16", "float32"):
        share = gflop / (times[route] / 1000) / peak
        print(f"handed over in {route}: {times[route]:.1f} ms per step, {share:.0%} of {peak:.0f} GFLOP/s")
    print(f"bf16 / float32 route: {times['bf16'] / times['float32']:.3f}")


if __name__ == "__main__":
    main()
