"""How many intra-op threads the training step uses on the CPU.

PyTorch runs an operation on a large enough tensor on all of its intra-op threads (one per core by default), and
every such operation ends at a barrier that waits for the slowest thread. On a quiet machine that is the fastest
setting. On a shared one (a browser, a CI runner, another job on the node) a thread that the operating system has
descheduled holds the barrier for a whole time slice, many times per step, and a step of small networks slows down
20-30x rather than in proportion to the load (``python benchmarks/contention.py``). With fewer threads the step
degrades in proportion.

:class:`ThreadGovernor` (``threads=None``, the default on the CPU) therefore measures: it trains at torch's thread
count, and from time to time times a short window at a neighbouring count (half or double, between 1 and torch's
count) and keeps whichever gives the shorter step, so a run follows the machine's load as it changes. A fixed count
(``threads=N``, ``--threads N`` or ``FGAN_NUM_THREADS=N``) does no measuring.

Floating-point sums split across threads round differently, so runs are bit-for-bit reproducible at a fixed thread
count: set one where a run must repeat exactly (the test suite does).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from fgan.errors import UsageError

#: The environment variable that sets the thread count where the option does not.
THREADS_ENV = "FGAN_NUM_THREADS"


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``count`` for the block, the caller's restored after it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass
class FixedThreads:
    """A thread count that does not change (``threads=N``, or a device other than the CPU)."""

    count: int

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The count in force for the block."""
        with torch_threads(self.count):
            yield

    def observe(self, step_seconds: float) -> None:
        """Nothing to learn from a step's time."""


@dataclass
class ThreadGovernor:
    """The intra-op thread count with the shortest measured step, re-checked as the machine's load changes.

    The governor's clock is the steps' own time (the sum of what :meth:`observe` is given), so what it decides
    depends on the step times alone. It times the steps in windows of at least ``window`` seconds and ``min_steps``
    steps. A *trial* times one window at a neighbouring candidate (below and above in turn) and moves there when its
    mean step is shorter than the last window's at the current count by the fraction ``margin``. The first trial
    follows the first window; later ones come when the mean step has changed by more than the fraction ``change``
    since the last trial (the load changed), but not within ``first_wait`` seconds of it, or else after the wait,
    which starts at ``first_wait`` and doubles after each trial that keeps the count, up to ``longest_wait``. On a
    quiet machine a trial costs one window at a slower count per ``longest_wait`` (under 1 % of the run).

    Args:
        most: the largest count tried (torch's count when training starts); candidates are 1, 2, 4, ... and ``most``.
        on_change: called with a one-line description of each move (the trainer writes it to run.log).
    """

    most: int
    on_change: Callable[[str], None] = lambda message: None
    window: float = 0.1
    min_steps: int = 5
    first_wait: float = 1.0
    longest_wait: float = 60.0
    margin: float = 0.1
    change: float = 0.5
    warmup_steps: int = 3
    candidates: list[int] = field(init=False)
    count: int = field(init=False)
    _trying: bool = field(init=False, default=False)
    _steps: int = field(init=False, default=0)
    _seconds: float = field(init=False, default=0.0)
    _waited: float = field(init=False, default=0.0)
    _wait: float = field(init=False)
    _reference_mean: float | None = field(init=False, default=None)
    _current_mean: float = field(init=False, default=0.0)
    _kept: int = field(init=False)
    _next_upward: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        powers = [2**k for k in range(self.most.bit_length()) if 2**k < self.most]
        self.candidates = [*powers, self.most]
        self.count = self._kept = self.most
        self._wait = self.first_wait
        self._steps = -self.warmup_steps  # the first steps (lazy initialisation) are not timed

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The governed count in force for the block (a training loop), the caller's restored after it."""
        with torch_threads(self.count):
            yield

    def observe(self, step_seconds: float) -> None:
        """Account one step's time; at the end of a window, decide what the next one times."""
        self._steps += 1
        if self._steps <= 0:
            return
        self._seconds += step_seconds
        if self._steps < self.min_steps or self._seconds < self.window:
            return
        mean = self._seconds / self._steps
        if self._trying:
            self._decide(mean)
        elif self._trial_due(mean):
            self._try_neighbour(mean)
        self._steps, self._seconds = 0, 0.0

    def _trial_due(self, mean: float) -> bool:
        """After the first window; then after ``first_wait`` once the step time has changed, or after the wait."""
        self._waited += self._seconds
        if self._reference_mean is None:
            return True
        changed = not 1 / (1 + self.change) <= mean / self._reference_mean <= 1 + self.change
        return self._waited >= self._wait or (changed and self._waited >= self.first_wait)

    def _try_neighbour(self, current_mean: float) -> None:
        """Time the next window at a neighbouring candidate (with a single candidate, just wait)."""
        index = self.candidates.index(self.count)
        below = self.candidates[index - 1] if index > 0 else None
        above = self.candidates[index + 1] if index + 1 < len(self.candidates) else None
        self._next_upward = not self._next_upward
        neighbour = (above or below) if self._next_upward else (below or above)
        self._current_mean, self._kept = current_mean, self.count
        if neighbour is None:
            self._reference_mean, self._waited = current_mean, 0.0
            return
        self._set(neighbour)
        self._trying = True

    def _decide(self, neighbour_mean: float) -> None:
        """Keep the neighbour if it was faster by ``margin``; otherwise go back and wait twice as long."""
        if neighbour_mean < (1 - self.margin) * self._current_mean:
            self.on_change(
                f"intra-op threads {self._kept} -> {self.count}: mean step {neighbour_mean * 1e3:.2f} ms against "
                f"{self._current_mean * 1e3:.2f} ms"
            )
            self._reference_mean, self._wait = neighbour_mean, self.first_wait
        else:
            self._set(self._kept)
            self._reference_mean, self._wait = self._current_mean, min(2 * self._wait, self.longest_wait)
        self._trying, self._waited = False, 0.0

    def _set(self, count: int) -> None:
        self.count = count
        torch.set_num_threads(count)


ThreadPolicy = FixedThreads | ThreadGovernor


def thread_policy(
    requested: int | None, device: torch.device, on_change: Callable[[str], None] = lambda message: None
) -> ThreadPolicy:
    """The thread policy of a run: ``requested`` (or ``$FGAN_NUM_THREADS``) fixed; otherwise, on the CPU, a
    :class:`ThreadGovernor` up to torch's current count; elsewhere torch's count, fixed."""
    if requested is None and os.environ.get(THREADS_ENV):
        text = os.environ[THREADS_ENV]
        if not text.isdigit() or int(text) < 1:
            raise UsageError(f"{THREADS_ENV} must be a whole number of threads >= 1, got {text!r}")
        requested = int(text)
    if requested is not None:
        return FixedThreads(requested)
    if device.type != "cpu" or torch.get_num_threads() == 1:
        return FixedThreads(torch.get_num_threads())
    return ThreadGovernor(torch.get_num_threads(), on_change)
