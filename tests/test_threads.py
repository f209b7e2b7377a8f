"""The intra-op thread policy: a governor that follows the measured step time, fixed counts, the trainer's use."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from fgan.data import ring
from fgan.errors import UsageError
from fgan.models import MLPCritic, MLPGenerator
from fgan.threads import THREADS_ENV, FixedThreads, ThreadGovernor, thread_policy, torch_threads
from fgan.training import TrainConfig, Trainer


def simulate(governor: ThreadGovernor, step_seconds: Callable[[int, int], float], steps: int) -> list[int]:
    """The count in force at each of ``steps`` steps whose time is ``step_seconds(step, count)``."""
    counts = []
    with governor.applied():
        for step in range(steps):
            counts.append(governor.count)
            governor.observe(step_seconds(step, governor.count))
    return counts


def quiet(step: int, count: int) -> float:
    """Two threads 1.7x faster than one: a quiet machine and a network large enough to split."""
    return 0.010 if count == 2 else 0.017


def loaded(step: int, count: int) -> float:
    """Two threads 5x slower than one: a busy machine whose barrier waits for descheduled threads."""
    return 0.050 if count == 2 else 0.010


def test_candidates_are_powers_of_two_up_to_the_largest() -> None:
    assert ThreadGovernor(6).candidates == [1, 2, 4, 6]
    assert ThreadGovernor(8).candidates == [1, 2, 4, 8]
    assert ThreadGovernor(2).candidates == [1, 2]


def test_a_quiet_machine_keeps_the_most_threads_and_tries_ever_less_often() -> None:
    steps = 60_000  # 600 s of steps at 10 ms
    counts = simulate(ThreadGovernor(2), quiet, steps)
    assert counts[0] == 2 and counts[-1] == 2
    slow = counts.count(1)
    assert 0 < slow < 0.01 * steps, "a trial now and then, under 1 % of the steps"
    late = counts[steps // 2 :].count(1)
    assert late <= 3 * ThreadGovernor.min_steps + 3 * 6, "in the second half, about one trial a minute"


def test_a_loaded_machine_moves_to_fewer_threads_within_the_first_second() -> None:
    messages: list[str] = []
    counts = simulate(ThreadGovernor(2, on_change=messages.append), loaded, 2_000)
    first_single = counts.index(1)
    assert first_single * 0.050 < 1.0
    assert counts[-1] == 1 and counts[len(counts) // 2 :].count(2) < 0.05 * len(counts) / 2
    assert messages and messages[0].startswith("intra-op threads 2 -> 1: mean step 10.00 ms against 50.00 ms")


def test_the_count_follows_the_load_when_it_goes_away() -> None:
    def load_then_quiet(step: int, count: int) -> float:
        return loaded(step, count) if step < 3_000 else quiet(step, count)

    counts = simulate(ThreadGovernor(2), load_then_quiet, 6_000)
    assert counts[2_999] == 1
    back = counts.index(2, 3_000)
    assert (back - 3_000) * 0.017 < 2.5, "the slower single-thread steps trigger a trial within a couple of seconds"
    assert counts[-1] == 2


def test_noise_within_the_change_band_does_not_bring_trials_forward() -> None:
    def noisy_quiet(step: int, count: int) -> float:
        return quiet(step, count) * (1.3 if step % 7 == 0 else 1.0)

    steady = simulate(ThreadGovernor(2), quiet, 30_000).count(1)
    noisy = simulate(ThreadGovernor(2), noisy_quiet, 30_000).count(1)
    assert noisy <= steady + 2 * ThreadGovernor.min_steps


def test_the_callers_count_is_restored() -> None:
    before = torch.get_num_threads()
    governor = ThreadGovernor(2)
    simulate(governor, loaded, 500)
    assert governor.count == 1 and torch.get_num_threads() == before
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_policy_fixed_by_option_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert thread_policy(3, cpu) == FixedThreads(3)
    monkeypatch.setenv(THREADS_ENV, "1")
    assert thread_policy(None, cpu) == FixedThreads(1)
    assert thread_policy(2, cpu) == FixedThreads(2), "the option wins over the environment"
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(UsageError, match=THREADS_ENV):
            thread_policy(None, cpu)


def test_policy_governs_the_cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    with torch_threads(2):
        assert isinstance(thread_policy(None, torch.device("cpu")), ThreadGovernor)
        assert thread_policy(None, torch.device("cuda")) == FixedThreads(2)
    with torch_threads(1):
        assert thread_policy(None, torch.device("cpu")) == FixedThreads(1)


def test_trainer_trains_at_its_fixed_count_and_restores_the_callers() -> None:
    seen: list[int] = []
    with torch_threads(2):
        config = TrainConfig(steps=4, batch_size=16, threads=1, device="cpu", quiet=True)
        trainer = Trainer(MLPGenerator(2, latent_dim=3, hidden=8), MLPCritic(2, hidden=8), ring(), "kl", config)
        trainer.add_callback(1, lambda _: seen.append(torch.get_num_threads()))
        trainer.train()
        assert seen == [1, 1, 1, 1] and torch.get_num_threads() == 2


def test_trainer_governs_by_default_and_restores_the_callers_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    with torch_threads(2):
        config = TrainConfig(steps=30, batch_size=16, device="cpu", quiet=True)
        trainer = Trainer(MLPGenerator(2, latent_dim=3, hidden=8), MLPCritic(2, hidden=8), ring(), "kl", config)
        assert isinstance(trainer.threads, ThreadGovernor) and trainer.threads.most == 2
        trainer.train()
        assert trainer.step == 30 and torch.get_num_threads() == 2
