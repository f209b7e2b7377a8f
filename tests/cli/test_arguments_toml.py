"""--config FILE.toml: every option of a command, flags override it, bad keys and values named."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fgan.cli import build, main
from fgan.errors import UsageError

COMMANDS = build()[1]
TRAIN = COMMANDS["train"]
REPRODUCE = COMMANDS["reproduce gaussian-mixture"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "options.toml"
    path.write_text(text)
    return path


#: A valid TOML value for every option of `fgan train` (the test below fails when an option is added without one).
TRAIN_VALUES = {
    "data": '"grid"',
    "divergence": '"kl"',
    "out": '"elsewhere"',
    "force": "true",
    "resume": '"old-run"',
    "generator": '"location-scale"',
    "model": '"mnist-mlp"',
    "data_dir": '"data"',
    "download": "true",
    "warm_restart": "true",
    "image_size": "32",
    "channels": "1",
    "sample_every": "9",
    "snapshots": "4",
    "logger": '"tensorboard"',
    "latent_dim": "3",
    "generator_hidden": "17",
    "critic_hidden": "19",
    "generator_depth": "3",
    "critic_depth": "1",
    "critic_activation": '"relu"',
    "checkpoint_every": "7",
    "steps": "11",
    "batch_size": "13",
    "seed": "5",
    "update": '"alternating"',
    "critic_steps": "2",
    "generator_objective": '"alternative"',
    "optimizer": '"sgd"',
    "lr": "0.5",
    "lr_generator": "0.25",
    "lr_critic": "1",
    "stabilizer": '["roth", "ema"]',
    "roth_gamma": "0.5",
    "r1_gamma": "0.25",
    "r2_gamma": "0.125",
    "instance_noise": "0.2",
    "ema_decay": "0.99",
    "betas": "[0.25, 0.75]",
    "lr_schedule": '"constant"',
    "lr_schedule_span": "[10, 20]",
    "critic_penalty": "0.125",
    "clip_grad_norm": "2.5",
    "on_nonfinite": '"skip"',
    "device": '"cpu"',
    "precision": '"bf16"',
    "compile": "true",
    "threads": "3",
    "log_every": "4",
    "keep_checkpoints": "2",
    "quiet": "true",
}


def test_every_train_option_can_come_from_the_file(tmp_path) -> None:
    assert set(TRAIN.options) == set(TRAIN_VALUES)
    text = "\n".join(
        f"{key.replace('_', '-') if i % 2 else key} = {value}" for i, (key, value) in enumerate(TRAIN_VALUES.items())
    )
    values = TRAIN.read_config_file(write(tmp_path, text))
    assert values["steps"] == 11 and values["lr_critic"] == 1.0 and isinstance(values["lr_critic"], float)
    assert values["betas"] == (0.25, 0.75) and values["keep_checkpoints"] == 2
    assert values["out"] == Path("elsewhere") and values["force"] is True and values["on_nonfinite"] == "skip"
    assert values["stabilizer"] == ("roth", "ema") and values["ema_decay"] == 0.99
    assert set(values) == set(TRAIN_VALUES)


def test_flags_override_the_file_and_the_resolved_config_is_saved(tmp_path) -> None:
    path = write(tmp_path, 'divergence = "hellinger"\nsteps = 40\nbatch-size = 32\nseed = 3\ndata = "grid"\n')
    run = tmp_path / "run"
    assert main(["train", "--config", str(path), "--steps", "25", "--out", str(run), "--quiet"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["divergence"] == "hellinger" and saved["data"] == "grid"
    assert saved["train"]["steps"] == 25 and saved["train"]["batch_size"] == 32 and saved["train"]["seed"] == 3
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 25


def test_a_flag_equal_to_its_default_still_overrides_the_file(tmp_path) -> None:
    path = write(tmp_path, "batch-size = 32\nsteps = 40\n")
    run = tmp_path / "run"
    assert (
        main(["train", "--config", str(path), "--batch-size", "512", "--steps", "5", "--out", str(run), "--quiet"]) == 0
    )
    saved = json.loads((run / "config.json").read_text())["train"]
    assert saved["batch_size"] == 512 and saved["steps"] == 5


def test_reproduce_takes_a_list_of_divergences(tmp_path) -> None:
    values = REPRODUCE.read_config_file(write(tmp_path, 'divergence = ["kl", "js"]\nsteps = 10\njson = true\n'))
    assert values == {"divergences": ("kl", "js"), "steps": 10, "json": True}  # the flag's name or the field's


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stepz = 3", "unknown key 'stepz'"),
        ('steps = "many"', "key 'steps' must be an integer"),
        ("steps = 2.5", "key 'steps' must be an integer"),
        ("steps = true", "key 'steps' must be an integer"),
        ("steps = -1", "key 'steps': must be >= 0"),
        ("lr = 0", "key 'lr': must be > 0"),
        ("lr = nan", "key 'lr': must be > 0"),
        ('lr = "fast"', "key 'lr' must be a number"),
        ("quiet = 1", "key 'quiet' must be true or false"),
        ('optimizer = "lbfgs"', "key 'optimizer' must be one of adam, sgd"),
        ("data = 3", "key 'data' must be a string"),
        ("steps = [", "cannot read config"),
        ("[train]\nsteps = 3", "unknown key 'train'"),
        ("config = 'other.toml'", "unknown key 'config'"),
        ("batch-size = 3\nbatch_size = 4", "key 'batch_size' given twice"),
        ("betas = [0.5]", "key 'betas' must be a list of 2 values"),
        ("betas = [0.5, 1.0]", "key 'betas': must be in [0, 1)"),
        ("betas = 0.5", "key 'betas' must be a list of 2 values"),
    ],
)
def test_bad_keys_and_values_are_named_in_one_line(tmp_path, capsys, text: str, message: str) -> None:
    path = write(tmp_path, text + "\n")
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


def test_a_missing_or_binary_config_file_is_a_one_line_error(tmp_path, capsys) -> None:
    assert main(["train", "--config", str(tmp_path / "absent.toml")]) == 2
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    assert main(["train", "--config", str(tmp_path / "binary.toml")]) == 2
    assert capsys.readouterr().err.count("cannot read config") == 2


TOML_SCALARS = st.one_of(
    st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.text(max_size=12)
)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return repr(value)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*TRAIN_VALUES, "unknown", "batch-size"]),
        st.one_of(TOML_SCALARS, st.lists(TOML_SCALARS, max_size=3)),
        max_size=6,
    )
)
def test_the_config_loader_accepts_or_names_the_problem(table: dict) -> None:
    text = "\n".join(f'"{key}" = {toml_value(value)}' for key, value in table.items())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_text(text)
        for parser in (TRAIN, REPRODUCE):
            try:
                values = parser.read_config_file(path)
            except UsageError as err:
                assert "\n" not in str(err)
            else:
                assert set(values) <= set(parser.options)


@pytest.mark.parametrize(
    ("command", "text", "dest", "expected"),
    [
        ("reproduce modes", "seeds = [0, 1]", "seeds", (0, 1)),
        ("reproduce modes", "seeds = 0", "seeds", (0,)),
        ("reproduce estimation", "dims = 1", "dims", (1,)),
        ("reproduce estimation", "dims = [1, 3]", "dims", (1, 3)),
        ("bench", 'precision = "fp32"', "precision", ["fp32"]),
        ("bench", 'precision = ["fp32", "bf16"]', "precision", ["fp32", "bf16"]),
    ],
)
def test_list_options_take_a_list_or_one_value(tmp_path, command: str, text: str, dest: str, expected) -> None:
    """`seeds = 0` and `dims = 1` were tracebacks, `precision = "fp32"` read as 'f' (issue 19, item 9)."""
    assert COMMANDS[command].read_config_file(write(tmp_path, text + "\n")) == {dest: expected}


@pytest.mark.parametrize(
    ("command", "text", "message"),
    [
        ("reproduce modes", "seeds = []", "key 'seeds' must be a non-empty list"),
        ("reproduce modes", 'seeds = "0"', "key 'seeds' must be an integer"),
        ("reproduce estimation", "dims = 0", "key 'dims': must be >= 1"),
        ("bench", 'precision = "f"', "key 'precision' must be one of"),
    ],
)
def test_bad_list_values_are_one_line(tmp_path, command: str, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        COMMANDS[command].read_config_file(write(tmp_path, text + "\n"))
    assert "\n" not in str(caught.value)
