"""Settings shared by several test modules: the arguments of a quick ``fgan`` run, quick critic and classifier
training. Test modules import them (``from tests.helpers import quick_run``); fixtures live in tests/conftest.py."""

from __future__ import annotations

from fgan.estimation import EstimateConfig


def quick_run(steps: int | None = None, batch_size: int | None = None) -> list[str]:
    """The command-line arguments of a quick run: quiet, on the CPU, with ``--steps`` and ``--batch-size`` only where
    given (a test that sets its own, or keeps the command's defaults, leaves them out)."""
    words = [] if steps is None else ["--steps", str(steps)]
    words += [] if batch_size is None else ["--batch-size", str(batch_size)]
    return [*words, "--quiet", "--device", "cpu"]


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
