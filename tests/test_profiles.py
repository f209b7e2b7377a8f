"""fgan.profiles: the one table of training defaults, its documented rows, and the places that read it."""

from __future__ import annotations

import ast
from dataclasses import replace

import pytest

from fgan import bench, profiles
from fgan.experiments import mode_coverage, table3_mixture, table4_images
from fgan.profiles import PROFILES, profile
from fgan.runner import RunConfig
from fgan.training import TrainConfig


def documented_rows() -> dict[str, list[str]]:
    """The rows of the table in fgan.profiles' docstring: name -> [applies to, steps, batch, step size, β, schedule,
    stabilizer]."""
    rows = {}
    for line in (profiles.__doc__ or "").splitlines():
        cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
        if cells and cells[0] in PROFILES:
            rows[cells[0]] = cells[1:]
    return rows


def test_every_profile_is_documented_as_it_is() -> None:
    rows = documented_rows()
    assert set(rows) == set(PROFILES)
    for name, (_, steps, batch, step_size, betas, schedule, stabilizer) in rows.items():
        config = profile(name)
        assert config.lr_generator == config.lr_critic == float(step_size), name
        assert (config.steps, config.batch_size, config.betas) == (int(steps), int(batch), ast.literal_eval(betas))
        assert config.lr_schedule == schedule, name
        assert config.stabilizer == (stabilizer,), name


def test_the_api_profile_is_train_configs_own_defaults() -> None:
    assert profile("api") == TrainConfig()


@pytest.mark.parametrize(
    ("name", "made"),
    [
        ("synthetic", lambda: RunConfig().train),
        ("table3", lambda: table3_mixture.default_config()),
        # and in bf16 where the machine computes it natively (tests/experiments/test_table4_images.py)
        ("table4", lambda: replace(table4_images.default_config(), precision="fp32")),
        ("modes", lambda: mode_coverage.default_config()),
        ("bench", lambda: bench.SETUPS["mnist-mlp"].train),
    ],
)
def test_the_defaults_of_each_use_are_its_profile(name: str, made) -> None:
    assert made() == profile(name)


def test_a_profile_is_a_fresh_copy() -> None:
    first = profile("synthetic", steps=3)
    assert first.steps == 3 and profile("synthetic").steps == 5000 and first is not profile("synthetic")
