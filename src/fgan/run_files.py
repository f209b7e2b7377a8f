"""Checks of what a run folder's files hold, for files edited by hand or by something other than fgan.

Each check raises a one-line :class:`~fgan.errors.UsageError` that names the file and the key:

* :func:`read_json_object`: a JSON object (not a list, not nested past the parser's depth);
* :func:`check_config_values`: config.json's values against the config dataclasses, their field types
  (``betas: tuple[float, float]`` takes two numbers) and their option metadata (ranges and choices,
  :class:`fgan.options.OptionSpec`), nested configs included;
* :func:`check_metrics_row`: a metrics.jsonl row, whose ``step`` is an integer >= 1;
* :func:`check_run_state`: a checkpoint holds fgan's run state (a dict whose ``step`` and ``skipped_steps`` are
  integers >= 0 and whose networks, optimisers, schedules and random states are there).
"""

from __future__ import annotations

import json
import types
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from fgan.errors import UsageError
from fgan.file_access import file_access
from fgan.options import option_fields

#: The entries of a checkpoint and the type each must have (see :meth:`fgan.training.Trainer.state_dict`).
RUN_STATE_TYPES: dict[str, type] = {
    "step": int,
    "skipped_steps": int,
    "generator": dict,
    "critic": dict,
    "generator_optimizer": dict,
    "critic_optimizer": dict,
    "schedulers": list,
    "divergence": str,
    "rng": dict,
}


def _shown(value: Any) -> str:
    """``value`` as its JSON text, shortened to 60 characters."""
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _a(value_type: type) -> str:
    """``a list``, ``an int``: the type's name with its article."""
    name = value_type.__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in the file ``path``.

    Raises:
        UsageError: for a file that cannot be read, is not JSON, nests too deep or holds something else than an
            object (one line naming the file).
    """
    with file_access(path, "read"):
        text = path.read_text()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"cannot read {path}: {err}") from None
    except RecursionError:
        raise UsageError(f"cannot read {path}: JSON nested too deep") from None
    if not isinstance(value, dict):
        raise UsageError(
            f"cannot read {path}: it holds a JSON {'array' if isinstance(value, list) else 'value'}, not an object"
        )
    return value


def _type_name(hint: Any) -> str:
    """What a value of the type ``hint`` is, in words (``a list of 2 numbers``, ``an integer or null``)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in args if arg is not type(None)) + (
            " or null" if type(None) in args else ""
        )
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin in (tuple, list):
        element = _type_name(args[0]).removeprefix("a ").removeprefix("an ") if args else "value"
        count = f"{len(args)} " if origin is tuple and Ellipsis not in args else ""
        return f"a list of {count}{element}s"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _fits(value: Any, hint: Any) -> bool:
    """Whether the JSON value ``value`` can stand for a value of the type ``hint``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin is Literal:
        return value in args
    if origin in (tuple, list):
        if not isinstance(value, list):
            return False
        if origin is tuple and Ellipsis not in args:
            return len(value) == len(args) and all(_fits(v, arg) for v, arg in zip(value, args, strict=True))
        return all(_fits(v, args[0]) for v in value) if args else True
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def check_config_values(config_class: type, values: dict[str, Any], where: Path, prefix: str = "") -> None:
    """Check ``values`` (a config.json object, or one of its nested objects) against the dataclass
    ``config_class``: no unknown key, each value of its field's type, each option in its range and choices.

    Raises:
        UsageError: ``WHERE: key KEY must be TYPE, got VALUE`` (or the option's own range message) for the first
            value that is not.
    """
    known = {f.name: f for f in fields(config_class)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise UsageError(f"{where}: unknown key {prefix}{unknown[0]}")
    hints = get_type_hints(config_class)
    specs = {f.name: spec for f, spec in option_fields(config_class)}
    for name, value in values.items():
        key, hint = prefix + name, hints[name]
        if is_dataclass(hint):
            if not isinstance(value, dict):
                raise UsageError(f"{where}: key {key} must be an object, got {_shown(value)}")
            check_config_values(hint, value, where, f"{key}.")  # type: ignore[arg-type]
            continue
        if not _fits(value, hint):
            raise UsageError(f"{where}: key {key} must be {_type_name(hint)}, got {_shown(value)}")
        spec = specs.get(name)
        problem = spec.problem(key, value) if spec is not None else None
        if problem is not None:
            raise UsageError(f"{where}: {problem}")


def check_metrics_row(row: Any, where: Path, line: int) -> dict[str, Any]:
    """``row``, a parsed line of metrics.jsonl, when it is an object whose ``step`` is an integer >= 1.

    Raises:
        UsageError: ``WHERE line N: ...`` naming the key.
    """
    if not isinstance(row, dict):
        raise UsageError(f"{where} line {line}: not a JSON object")
    step = row.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step < 1:
        raise UsageError(f"{where} line {line}: key step must be an integer >= 1, got {_shown(step)}")
    return row


def check_run_state(state: Any, where: Path) -> dict[str, Any]:
    """``state``, a loaded checkpoint, when it holds fgan's run state (see :data:`RUN_STATE_TYPES`) with ``step``
    and ``skipped_steps`` >= 0.

    Raises:
        UsageError: ``refused checkpoint WHERE: ...`` naming the missing or wrong entry.
    """
    refused = f"refused checkpoint {where}: not the run state of fgan"
    if not isinstance(state, dict):
        raise UsageError(f"{refused} (it holds {_a(type(state))}, not a dict)")
    for key, expected in RUN_STATE_TYPES.items():
        value = state.get(key)
        if key not in state:
            raise UsageError(f"{refused} (no entry {key!r})")
        if not isinstance(value, expected) or isinstance(value, bool):
            raise UsageError(f"{refused} (entry {key!r} is {_a(type(value))}, not {_a(expected)})")
    for key in ("step", "skipped_steps"):
        if state[key] < 0:
            raise UsageError(f"{refused} (entry {key!r} is {state[key]}, below 0)")
    return state
