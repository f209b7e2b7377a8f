"""What bounds the speedup of fgan's step on the Gaussian-mixture models (batch 1024, fp32), interleaved in one
process, medians of 7 rounds:

* ``fgan``: :meth:`fgan.training.Trainer.train` (one pass, with its finiteness check, gradient norms and records);
* ``bare one-pass``: the same forward, gradient reversal, backward and fused Adam steps with nothing else, the
  fastest a one-pass step can be in eager PyTorch;
* ``reference``: the conventional alternating update of ``fgan bench``;
* the critic's forward and backward alone, on 2 x 1024 rows (fgan) and 3 x 1024 rows (the reference);
* ``torch.tanh`` against ``torch.sigmoid`` on the critic's 2048 x 64 hidden activations.

    python benchmarks/mixture_ceiling.py
"""

from __future__ import annotations

from dataclasses import replace

import torch

from fgan.bench import SETUPS, build_trainer_and_reference, interleaved_ms, repeated
from fgan.models import sample_latent
from fgan.objectives import variational_bound

BATCH = 1024


def main() -> None:
    setup = SETUPS["gaussian-mixture"]
    trainer, reference = build_trainer_and_reference(setup, replace(setup.train, batch_size=BATCH))
    trainer.config.steps = 10**9
    generator, critic, data, divergence = trainer.generator, trainer.critic, trainer.data, trainer.divergence
    params = trainer.engine.critic_params + trainer.engine.generator_params

    def bare_one_pass_step() -> None:
        real = data.sample(BATCH, trainer.device)
        fake = generator(sample_latent(generator, BATCH, trainer.device))
        outputs = critic(torch.cat([real, fake]))
        bound = variational_bound(divergence, outputs[:BATCH], outputs[BATCH:])
        hook = fake.register_hook(torch.neg)
        torch.autograd.backward(-bound, inputs=params)
        hook.remove()
        trainer.critic_optimizer.step()
        trainer.generator_optimizer.step()
        for param in params:
            param.grad = None

    steps = interleaved_ms(
        {
            "fgan": lambda n: trainer.train(steps=n),
            "bare one-pass": repeated(bare_one_pass_step),
            "reference": reference.train,
        },
        200,
    )
    rows = {size: torch.randn(size, 1) for size in (2 * BATCH, BATCH)}
    hidden = torch.randn(2 * BATCH, 64)
    compute = interleaved_ms(
        {
            "critic forward + backward, 2 x 1024 rows": repeated(lambda: critic(rows[2 * BATCH]).sum().backward()),
            "critic forward + backward, 3 x 1024 rows": repeated(
                lambda: [critic(rows[BATCH]).sum().backward() for _ in range(3)]
            ),
            "torch.tanh, 2048 x 64": repeated(lambda: torch.tanh(hidden)),
            "torch.sigmoid, 2048 x 64": repeated(lambda: torch.sigmoid(hidden)),
        },
        200,
    )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, batch {BATCH}\n")
    print("| step | ms | reference / this |\n|---|---:|---:|")
    for name, ms in steps.items():
        print(f"| {name} | {ms:.3f} | {steps['reference'] / ms:.2f}x |")
    print("\n| computation | ms |\n|---|---:|")
    for name, ms in compute.items():
        print(f"| {name} | {ms:.3f} |")


if __name__ == "__main__":
    main()
