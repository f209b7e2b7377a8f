"""Options declared once: every option field of the configs is reachable by flag and by TOML file, with the same
value; out-of-range values are one line; the help shows each default once; options that do not apply are refused."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

import fgan
import fgan.cli
from fgan.cli import build, build_parser, main
from fgan.cli.arguments import Option
from fgan.cli.common import config_from
from fgan.estimation import EstimateConfig
from fgan.options import option_fields
from fgan.runner import ModelConfig, RunConfig
from fgan.training import TrainConfig
from tests.helpers import quick_run

COMMANDS = build()[1]
#: Which command reaches which config's options.
REACHES = [
    ("train", TrainConfig),
    ("train", ModelConfig),
    ("train", RunConfig),
    ("estimate", EstimateConfig),
    ("reproduce estimation", EstimateConfig),
    ("reproduce gaussian-mixture", TrainConfig),
    ("reproduce mnist", TrainConfig),
    ("reproduce modes", TrainConfig),
]
CASES = [(command, config, f.name) for command, config in REACHES for f, _ in option_fields(config)]


def other_value(option: Option) -> Any:
    """A valid value of ``option`` other than its default."""
    if option.element is bool:
        return not option.default
    if option.choices is not None and isinstance(option.count, str):  # a list of choices
        return (next(choice for choice in option.choices if choice not in option.default),)
    if option.choices is not None:
        return next(choice for choice in option.choices if choice != option.default)
    if option.count == 2:
        return (0.25, 0.75) if option.element is float else (10, 20)
    if option.element is int:
        return (option.default or int(option.spec.low or 0)) + 1
    if option.element is float:
        return 0.375 if option.spec.high is not None else 2.5
    return option.element("somewhere")


def flag_words(option: Option, value: Any) -> list[str]:
    if option.element is bool:
        return [option.flag] if value else [f"--no-{option.flag[2:]}"]
    return [option.flag, *map(str, value if isinstance(value, tuple) else (value,))]


def toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(map(toml_text, value)) + "]"
    return json.dumps(str(value)) if isinstance(value, str | Path) else repr(value)


def parsed_config(command: str, words: list[str], config_class: type) -> Any:
    args = build_parser().parse_args([*command.split(), *words])
    args.fgan_command.complete(args)
    return config_from(args, config_class())


@pytest.mark.parametrize(("command", "config_class", "name"), CASES)
def test_every_config_option_is_set_by_flag_and_by_file(tmp_path, command, config_class, name) -> None:
    option = COMMANDS[command].options[name]
    value = other_value(option)
    assert getattr(parsed_config(command, flag_words(option, value), config_class), name) == value
    path = tmp_path / "options.toml"
    path.write_text(f"{name} = {toml_text(value)}\n")
    assert getattr(parsed_config(command, ["--config", str(path)], config_class), name) == value


def test_the_generated_type_follows_the_annotation() -> None:
    train = COMMANDS["train"].options
    assert train["betas"].count == 2 and train["betas"].element is float
    assert train["latent_dim"].element is int and train["compile"].element is bool
    assert train["update"].choices == ("single-step", "alternating")
    assert COMMANDS["bench"].options["sweep"].count == "*"
    assert COMMANDS["reproduce modes"].options["seeds"].count == "+"


def test_betas_and_the_other_new_options_reach_the_saved_run(tmp_path) -> None:
    run = tmp_path / "run"
    words = ["--betas", "0.8", "0.99", "--log-every", "5", "--keep-checkpoints", "1", "--checkpoint-every", "5"]
    assert main(["train", "--steps", "10", "--batch-size", "32", "--quiet", "--out", str(run), *words]) == 0
    saved = json.loads((run / "config.json").read_text())["train"]
    assert saved["betas"] == [0.8, 0.99] and saved["log_every"] == 5 and saved["keep_checkpoints"] == 1
    assert len(list((run / "checkpoints").glob("step-*.pt"))) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--betas", "0.5", "1.0"], "argument --betas: must be in [0, 1), got 1.0"),
        (["--betas", "0.5"], "expected 2 arguments"),
        (["--keep-checkpoints", "0"], "argument --keep-checkpoints: must be >= 1, got 0"),
        (["--lr-critic", "nan"], "argument --lr-critic: must be > 0, got nan"),
    ],
)
def test_a_value_out_of_the_declared_range_is_one_line(tmp_path, capsys, argv, message) -> None:
    assert main(["train", *argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


def test_resume_may_change_exactly_the_resumable_options() -> None:
    assert COMMANDS["train"].resumable == {"resume", "steps", "quiet", "device", "logger", "warm_restart"}


def test_help_shows_each_default_once(capsys) -> None:
    for command in COMMANDS:
        with pytest.raises(SystemExit):
            main([*command.split(), "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "(default: None)" not in text and not re.search(r"\(default: [^)]*\) \(default:", text), command
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--steps STEPS training steps (default: 5000)" in text
    assert "'synthetic' profile" in text and "'image' profile: steps 5000, batch size 256" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--data", "digits", "--generator-hidden", "512", "--critic-depth", "5"],
            "--critic-depth, --generator-hidden apply to synthetic data only, and digits is image data",
        ),
        (["--data", "ring", "--download"], "--download applies to image data only, and ring is synthetic data"),
        (["--data", "digits", "--snapshots", "3"], "--snapshots applies to synthetic data only"),
    ],
)
def test_options_that_do_not_apply_to_the_data_are_refused(tmp_path, capsys, argv, message) -> None:
    assert main(["train", *argv, "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


def test_config_json_records_only_the_options_that_ran(tmp_path) -> None:
    quick = quick_run(steps=2, batch_size=16)
    assert main(["train", "--data", "digits", "--out", str(tmp_path / "images"), *quick]) == 0
    image = json.loads((tmp_path / "images" / "config.json").read_text())
    assert set(image["model"]) == {"model", "latent_dim"} and image["sample_every"] == 500
    assert "snapshots" not in image
    assert main(["train", "--data", "ring", "--out", str(tmp_path / "ring"), *quick]) == 0
    ring = json.loads((tmp_path / "ring" / "config.json").read_text())
    assert ring["model"]["generator_hidden"] == 128
    assert not {"image_size", "channels", "data_dir", "sample_every"} & set(ring)
    assert main(["sample", str(tmp_path / "images"), "--n", "4", "--out", str(tmp_path / "s.npy")]) == 0


def test_the_command_line_is_small_modules_of_short_functions() -> None:
    folder = Path(fgan.cli.__file__).parent
    for path in folder.glob("*.py"):
        text = path.read_text()
        assert text.count("\n") <= 300, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 60, f"{path.name}: {node.name}"
