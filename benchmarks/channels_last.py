"""The DCGAN pair (32 px, RGB, batch 64) in the channels-last layout fgan keeps it in, against the same networks
with every weight in the default contiguous layout: ms per forward and backward pass of both networks (generator,
critic on a real and a generated batch) in fp32 and bf16 autocast, interleaved in one process, medians of 5 rounds.

    python benchmarks/channels_last.py
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from fgan.bench import interleaved_ms, repeated
from fgan.image_models import build_image_models

BATCH = 64


def contiguous_copy(module: nn.Module) -> nn.Module:
    """``module`` with every parameter and buffer in the default contiguous (NCHW) layout."""
    ordinary = copy.deepcopy(module)
    for tensor in (*ordinary.parameters(), *ordinary.buffers()):
        tensor.data = tensor.data.contiguous()
    return ordinary


def forward_backward(generator: nn.Module, critic: nn.Module, precision: str) -> Callable[[], None]:
    real = torch.rand(BATCH, 3, 32, 32)

    def run() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            fake = generator(generator.sample_latent(BATCH, "cpu"))
            loss = critic(real).float().mean() - critic(fake).float().mean()
        loss.backward()

    return run


def main() -> None:
    torch.manual_seed(0)
    generator, critic = build_image_models("dcgan", (3, 32, 32))
    layouts = {
        "channels-last": (generator, critic),
        "contiguous": (contiguous_copy(generator), contiguous_copy(critic)),
    }
    runs = {
        f"{layout}, {precision}": forward_backward(*networks, precision)
        for precision in ("fp32", "bf16")
        for layout, networks in layouts.items()
    }
    times = interleaved_ms({name: repeated(run) for name, run in runs.items()}, repeats=5, rounds=5)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, dcgan-32, batch {BATCH}\n")
    print("ms per forward and backward pass of both networks\n\n| layout | fp32 | bf16 |\n|---|---:|---:|")
    for layout in layouts:
        print(f"| {layout} | {times[f'{layout}, fp32']:.1f} | {times[f'{layout}, bf16']:.1f} |")


if __name__ == "__main__":
    main()
