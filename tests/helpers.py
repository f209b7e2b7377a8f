"""Settings shared by several test modules: the arguments of a quick ``fgan`` run, quick critic and classifier
training. Test modules import them (``from tests.helpers import quick_run``); fixtures live in tests/conftest.py."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np

from fgan.estimation import EstimateConfig
from fgan.idx import write_idx


def quick_run(steps: int | None = None, batch_size: int | None = None) -> list[str]:
    """The command-line arguments of a quick run: quiet, on the CPU, with ``--steps`` and ``--batch-size`` only where
    given (a test that sets its own, or keeps the command's defaults, leaves them out)."""
    words = [] if steps is None else ["--steps", str(steps)]
    words += [] if batch_size is None else ["--batch-size", str(batch_size)]
    return [*words, "--quiet", "--device", "cpu"]


def sigint_as_in_a_terminal() -> None:
    """``preexec_fn`` of a test's ``fgan`` child that is sent SIGINT: the child starts with SIGINT at its default,
    as a command typed in a terminal does, so that Python turns it into KeyboardInterrupt. A shell without job control
    starts its background commands (``make test &``, ``nohup pytest &``) with SIGINT ignored, and their children
    inherit that; Python then leaves it ignored, and Ctrl-C before the training's own handler would never arrive."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


#: A critic trained quickly for ``estimate_divergence``, close enough on the few thousand Gaussian samples of a test.
QUICK_ESTIMATE = EstimateConfig(max_steps=1500, batch_size=512, eval_every=50, patience=6)

#: The keywords of a quick ``train_classifier``: two epochs on small data.
QUICK_CLASSIFIER = {"epochs": 2, "batch_size": 32, "lr": 3e-3}


def run_state(step: int, **entries: object) -> dict[str, object]:
    """The smallest checkpoint that holds fgan's run state (see fgan.run_files.RUN_STATE_TYPES) at ``step``, with
    ``entries`` replaced."""
    state: dict[str, object] = {"step": step, "skipped_steps": 0, "generator": {}, "critic": {}}
    state.update({"generator_optimizer": {}, "critic_optimizer": {}, "schedulers": [], "divergence": "js", "rng": {}})
    return {**state, **entries}


def fake_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28x28 images of ten classes: class k is a bright 6x6 square at a position of its own, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for index, label in enumerate(labels):
        row, column = 2 + 8 * (label // 4), 2 + 8 * (label % 4)
        images[index, row : row + 6, column : column + 6] = 255
    return images, labels


def write_fake_mnist(folder: Path, n_train: int, n_test: int) -> Path:
    """``folder`` with MNIST-format files of :func:`fake_digits`: a training split and a test split."""
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = fake_digits(n, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder
