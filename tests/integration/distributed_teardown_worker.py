"""Started by tests/integration/test_torchrun.py under torchrun: trains two steps, then rank 1 leaves with an
all_reduce in flight whose completion runs Python on a gloo thread; rank 0 joins that all_reduce 3 s later, while
rank 1 exits. The thread can take the GIL only if the process group is freed before interpreter shutdown (else
SIGABRT: ``terminate called without an active exception``)."""

from __future__ import annotations

import time

import torch
import torch.distributed as dist

from fgan import distributed
from fgan.data import ring
from fgan.models import MLPCritic, MLPGenerator
from fgan.training import TrainConfig, Trainer


def main() -> None:
    """Train, then leave as described above; as in ``fgan train``, the trainer is unreachable once this returns."""
    distributed.init_from_environment("cpu")
    config = TrainConfig(steps=2, batch_size=32, device="cpu", quiet=True)
    trainer = Trainer(MLPGenerator(2, latent_dim=3, hidden=16), MLPCritic(2, hidden=16), ring(), "js", config)
    trainer.train()
    if distributed.is_main_process():
        time.sleep(3)
        dist.all_reduce(torch.ones(1))
    else:
        dist.all_reduce(torch.ones(1), async_op=True).get_future().then(lambda future: future.value())
    distributed.shutdown(wait=False)


if __name__ == "__main__":
    main()
