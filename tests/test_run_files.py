"""Checks of hand-edited run files: config.json against the config dataclasses, metrics.jsonl rows, JSON objects."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from fgan.errors import UsageError
from fgan.run_files import check_config_values, check_metrics_row, read_json_object
from fgan.runner import RunConfig


def saved_config() -> dict:
    return json.loads(json.dumps(asdict(RunConfig())))  # as config.json holds it: tuples are lists


def test_a_saved_config_passes() -> None:
    check_config_values(RunConfig, saved_config(), "config.json")


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("train", "betas", [0.5], "key train.betas must be a list of 2 numbers, got [0.5]"),
        ("train", "betas", "0.5 0.9", 'key train.betas must be a list of 2 numbers, got "0.5 0.9"'),
        ("train", "betas", [0.5, 2.0], "train.betas must be in [0, 1), got [0.5, 2.0]"),
        ("train", "steps", "100", 'key train.steps must be an integer, got "100"'),
        ("train", "steps", 1.5, "key train.steps must be an integer, got 1.5"),
        ("train", "steps", True, "key train.steps must be an integer, got true"),
        ("train", "lr_generator", None, "key train.lr_generator must be a number, got null"),
        ("train", "quiet", "yes", 'key train.quiet must be true or false, got "yes"'),
        ("train", "precision", "fp64", "key train.precision must be one of fp32, bf16, fp16"),
        ("train", "lr_schedule_span", [1, 2, 3], "key train.lr_schedule_span must be a list of 2 integers or null"),
        ("train", "clip_grad_norm", 0, "train.clip_grad_norm must be > 0, got 0"),
        ("train", "keep_checkpoints", 0, "train.keep_checkpoints must be >= 1, got 0"),
        ("train", "device", "tpu", "unknown train.device 'tpu'"),
        ("train", "colour", 1, "unknown key train.colour"),
        ("model", "latent_dim", -3, "model.latent_dim must be >= 1, got -3"),
        ("model", "critic_hidden", [64], "key model.critic_hidden must be an integer, got [64]"),
        (None, "data_shape", [2, "x"], 'key data_shape must be a list of integers or null, got [2, "x"]'),
        (None, "train", [1], "key train must be an object, got [1]"),
        (None, "logger", 3, "key logger must be a string, got 3"),
    ],
)
def test_a_hand_edited_config_is_refused_naming_the_file_and_the_key(section, key, value, message) -> None:
    values = saved_config()
    (values if section is None else values[section])[key] = value
    with pytest.raises(UsageError) as error:
        check_config_values(RunConfig, values, "RUN/config.json")
    assert str(error.value).startswith("RUN/config.json: ") and message in str(error.value)


def test_json_nested_too_deep_a_list_and_garbage_are_refused_naming_the_file(tmp_path) -> None:
    path = tmp_path / "evaluation.json"
    for text, message in [("[" * 100_000 + "]" * 100_000, "nested too deep"), ("[1, 2]", "JSON array"), ("{", "")]:
        path.write_text(text)
        with pytest.raises(UsageError) as error:
            read_json_object(path)
        assert str(error.value).startswith(f"cannot read {path}: ") and message in str(error.value)
    path.write_text('{"kde": 1}')
    assert read_json_object(path) == {"kde": 1}


@pytest.mark.parametrize("row", [{"step": float("inf")}, {"step": 1.0}, {"step": 0}, {"step": "3"}, {"bound": 1}, [1]])
def test_a_metrics_row_needs_a_positive_integer_step(row) -> None:
    with pytest.raises(UsageError, match=r"^RUN/metrics.jsonl line 7: ") as error:
        check_metrics_row(row, "RUN/metrics.jsonl", 7)
    assert "\n" not in str(error.value)
    assert check_metrics_row({"step": 3, "bound": None}, "m", 1) == {"step": 3, "bound": None}
