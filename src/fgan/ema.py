"""An exponential moving average of the generator's weights (Yazıcı, Foo, Winkler, Yap, Piliouras and
Chandrasekhar, ICLR 2019, "The Unusual Effectiveness of Averaging in GAN Training").

After every step θ̄ ← β θ̄ + (1 - β) θ for each parameter (buffers, such as batch-norm statistics, are copied).
The average generates the samples and evaluations of a run that uses it; it is checkpointed, so a resumed run
continues it bit for bit.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class GeneratorAverage:
    """The averaged copy of ``generator`` with decay ``decay`` (β in [0, 1))."""

    def __init__(self, generator: nn.Module, decay: float) -> None:
        self.source, self.decay = generator, decay
        self.module = copy.deepcopy(generator).requires_grad_(False)

    @torch.no_grad()
    def update(self) -> None:
        """θ̄ ← β θ̄ + (1 - β) θ, and the buffers copied."""
        averaged = [p.detach() for p in self.module.parameters()]
        torch._foreach_lerp_(averaged, [p.detach() for p in self.source.parameters()], 1.0 - self.decay)
        for mine, theirs in zip(self.module.buffers(), self.source.buffers(), strict=True):
            mine.copy_(theirs)

    def state_dict(self) -> dict[str, Any]:
        """The averaged generator's state."""
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.module.load_state_dict(state)
