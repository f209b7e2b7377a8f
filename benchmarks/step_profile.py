"""ms per training step and the top of torch.profiler for the trainer of a source tree, fp32, GAN divergence:
the paper's MNIST pair (batch 256) and the Gaussian-mixture models (batch 1024).

    python benchmarks/step_profile.py                      # this checkout
    git worktree add /tmp/before 7c667d5                   # an older commit, to compare
    python benchmarks/step_profile.py --src /tmp/before/src

Uses only the Trainer API that every version has (no precision or compile options).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src", help="fgan source tree")
parser.add_argument("--rows", type=int, default=8, help="profiler rows")
arguments = parser.parse_args()
sys.path.insert(0, str(arguments.src))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from fgan.data import PAPER_MIXTURE, parse_mixture  # noqa: E402
from fgan.image_models import build_image_models  # noqa: E402
from fgan.images import ImageSampler  # noqa: E402
from fgan.models import LocationScaleGenerator, MLPCritic  # noqa: E402
from fgan.training import TrainConfig, Trainer, seed_everything  # noqa: E402


def mnist() -> tuple:
    generator, critic = build_image_models("mnist-mlp", (1, 28, 28))
    images = torch.randint(0, 256, (4096, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return generator, critic, ImageSampler(images), TrainConfig(batch_size=256), 20


def gaussian_mixture() -> tuple:
    config = TrainConfig(batch_size=1024, lr_generator=0.01, lr_critic=0.01, betas=(0.9, 0.999))
    return LocationScaleGenerator(1), MLPCritic(1, 64, 2, "tanh"), parse_mixture(PAPER_MIXTURE), config, 200


print(f"fgan from {sys.modules['fgan'].__file__}")
for name, build in (("mnist-mlp", mnist), ("gaussian-mixture", gaussian_mixture)):
    seed_everything(0)
    generator, critic, data, config, steps = build()
    config.quiet, config.log_every, config.device, config.steps = True, 100, "cpu", 10**9
    trainer = Trainer(generator, critic, data, "gan", config)
    trainer.train(steps=10)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        trainer.train(steps=steps)
        times.append((time.perf_counter() - start) * 1000 / steps)
    print(f"\n{name}: {statistics.median(times):.3f} ms per step (median of 5 x {steps} steps)")
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        trainer.train(steps=steps)
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=arguments.rows))
