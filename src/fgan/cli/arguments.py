"""Command-line options generated from the option fields of config dataclasses (see :mod:`fgan.options`), and
TOML files (``--config FILE.toml``) checked against the same metadata.

A field ``batch_size: int = option(256, help="minibatch size", low=1)`` becomes ``--batch-size N`` (an integer
>= 1) and the TOML key ``batch_size`` or ``batch-size``; the type comes from the annotation: ``int``, ``float``,
``str``, ``Path``, ``X | None``, ``Literal[...]`` (the choices), ``bool`` (a flag), ``tuple[float, float]`` (two
values: ``--betas 0.5 0.999``), ``list[X]`` and ``tuple[X, ...]`` (one or more values, the flag repeatable).
Generated options have no argparse default, so the parsed namespace holds exactly the options the user gave
(``args.given``); the defaults are filled in afterwards from the config instances the command was built with.
"""

from __future__ import annotations

import argparse
import difflib
import re
import tomllib
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fgan.errors import UsageError
from fgan.options import OptionSpec, option_fields

#: A command's handler: it reads the completed namespace (every option present, ``given`` the set of those the
#: user gave by flag or file).
Handler = Callable[[argparse.Namespace], None]
_NOUNS = {int: ((int,), "an integer"), float: ((int, float), "a number")}


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a UsageError (exit code 2 in :func:`fgan.cli.main`)."""

    def error(self, message: str) -> typing.NoReturn:
        raise UsageError(f"{message}{did_you_mean(message)} (see {self.prog} --help)")


def did_you_mean(message: str) -> str:
    """``"; did you mean 'train'?"`` for argparse's "invalid choice: 'trian' (choose from ...)" when a choice is
    close to the one given (difflib's ratio >= 0.6), else ``""``."""
    invalid = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if invalid is None:
        return ""
    choices = re.findall(r"'([^']*)'", invalid.group(2)) or invalid.group(2).split(", ")
    close = difflib.get_close_matches(invalid.group(1), choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class Option:
    """One generated option: its field, spec and default, and the value type of one element."""

    dest: str
    spec: OptionSpec
    default: Any
    element: type
    choices: tuple[Any, ...] | None
    count: int | str | None  # None: one value; N: a tuple of N; "+" or "*": a list (a tuple for tuple[X, ...])
    is_tuple: bool = False

    @property
    def flag(self) -> str:
        return "--" + (self.spec.flag or self.dest.replace("_", "-"))

    def convert(self, text: str) -> Any:
        """One element from the command line; a number out of range is an argparse error."""
        value = self.element(text)
        problem = self.spec.range_problem(value)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


def describe_field(dest: str, hint: Any, spec: OptionSpec, default: Any) -> Option:
    """The option of field ``dest`` annotated ``hint``."""
    hint = _unwrap_optional(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    count: int | str | None = None
    choices = spec.choices
    if origin is Literal:
        element, choices = type(args[0]), choices or args
    elif origin is tuple and args[-1] is Ellipsis:  # tuple[X, ...]: one or more values, kept as a tuple
        element, count = args[0], "*" if spec.allow_empty else "+"
    elif origin is tuple:
        element, count = args[0], len(args)
    elif origin is list:
        element, count = args[0], "*" if spec.allow_empty else "+"
    else:
        element = hint
    return Option(dest, spec, default, element, choices, count, origin is tuple)


def _help(option: Option, resumable_note: bool) -> str:
    text = option.spec.help
    default = option.default
    if default is not None and default is not False and default != []:
        shown = " ".join(map(str, default)) if isinstance(default, tuple | list) else str(default)
        text += f" (default: {shown})"
    if option.spec.applies_to is not None:
        text += f" [{option.spec.applies_to} data only]"
    if resumable_note and option.spec.resumable and option.dest != "resume":
        text += " [may change on --resume]"
    return text.replace("%", "%%")


def _add_argument(group: Any, option: Option, resumable_note: bool) -> None:
    keywords: dict[str, Any] = {"dest": option.dest, "default": argparse.SUPPRESS}
    keywords["help"] = _help(option, resumable_note)
    if option.element is bool:
        keywords["action"] = argparse.BooleanOptionalAction if option.default else "store_true"
    else:
        keywords["type"] = _named(option.convert, option.element.__name__)
        keywords["choices"] = option.choices
        keywords["metavar"] = option.spec.metavar
        if option.count is not None:
            keywords["nargs"] = option.count
        if isinstance(option.count, str):
            keywords["action"] = "extend"
    group.add_argument(option.flag, **keywords)


def _named(function: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """``function`` under ``name`` (argparse names the type in "invalid int value: 'x'")."""

    def convert(text: str) -> Any:
        return function(text)

    convert.__name__ = name
    return convert


class Command:
    """One subcommand: its parser, the options generated from config instances, and its handler."""

    def __init__(self, parser: Parser, handler: Handler, groups: Sequence[tuple[str, Any]]) -> None:
        self.parser, self.handler = parser, handler
        self.options: dict[str, Option] = {}
        for _, defaults in groups:
            hints = typing.get_type_hints(type(defaults))
            for f, spec in option_fields(type(defaults)):
                if f.name in self.options:
                    raise RuntimeError(f"option {f.name} declared twice for {parser.prog}")
                self.options[f.name] = describe_field(f.name, hints[f.name], spec, getattr(defaults, f.name))
        #: TOML keys: each option's field name, and its flag's name where they differ (``divergence``).
        self._toml_keys = {dest: dest for dest in self.options} | {
            option.flag.removeprefix("--").replace("-", "_"): dest for dest, option in self.options.items()
        }
        note = "resume" in self.options and self.options["resume"].spec.resumable
        titled: dict[str, Any] = {}
        for title, defaults in groups:
            if title not in titled:
                titled[title] = parser.add_argument_group(title) if title else parser
            group = titled[title]
            for f, _ in option_fields(type(defaults)):
                _add_argument(group, self.options[f.name], note)
        parser.add_argument(
            "--config",
            type=Path,
            metavar="FILE.toml",
            help="read options from a TOML file (keys as the long options, without dashes); flags override it",
        )
        parser.set_defaults(fgan_command=self)

    @property
    def resumable(self) -> set[str]:
        """The options that ``--resume`` lets change."""
        return {dest for dest, option in self.options.items() if option.spec.resumable}

    def complete(self, args: argparse.Namespace) -> None:
        """Fill ``args`` in place: the TOML file's options where no flag gave them, then every default; set
        ``args.given`` to the options given by flag or file."""
        given = {dest for dest in self.options if hasattr(args, dest)}
        for dest in given:
            if self.options[dest].is_tuple:  # argparse gives a list of the values
                setattr(args, dest, tuple(getattr(args, dest)))
        if args.config is not None:
            from_file = self.read_config_file(args.config)
            for dest, value in from_file.items():
                if dest not in given:
                    setattr(args, dest, value)
            given |= set(from_file)
        for dest, option in self.options.items():
            if dest not in given:
                setattr(args, dest, option.default)
        args.given = given

    def read_config_file(self, path: Path) -> dict[str, Any]:
        """The options of a TOML file, checked against the command's own options.

        Raises:
            UsageError: for an unreadable file, invalid TOML, an unknown key or a value of the wrong type or range,
                naming the key.
        """
        try:
            table = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise UsageError(f"cannot read config {path}: {err}") from None
        values: dict[str, Any] = {}
        for key, raw in table.items():
            dest = self._toml_keys.get(key.replace("-", "_"), "")
            if dest not in self.options:
                raise UsageError(f"{path}: unknown key {key!r}; valid keys: {', '.join(sorted(self.options))}")
            if dest in values:
                raise UsageError(f"{path}: key {key!r} given twice")
            values[dest] = toml_value(f"{path}: key {key!r}", raw, self.options[dest])
        return values


def toml_value(where: str, raw: Any, option: Option) -> Any:
    """A TOML value checked and converted as the same option on the command line; a list option takes a list or
    one value (``seeds = 0`` is ``seeds = [0]``, as ``--seeds 0``)."""
    if option.element is bool:
        if not isinstance(raw, bool):
            raise UsageError(f"{where} must be true or false, got {raw!r}")
        return raw
    if option.count is None:
        return _toml_scalar(where, raw, option)
    if isinstance(option.count, int):
        if not isinstance(raw, list) or len(raw) != option.count:
            raise UsageError(f"{where} must be a list of {option.count} values, got {raw!r}")
        return tuple(_toml_scalar(where, item, option) for item in raw)
    items = raw if isinstance(raw, list) else [raw]  # one value for a list option: a list of one, as a flag
    if not (items or option.spec.allow_empty):
        raise UsageError(f"{where} must be a non-empty list, got {raw!r}")
    values = [_toml_scalar(where, item, option) for item in items]
    return tuple(values) if option.is_tuple else values


def _toml_scalar(where: str, raw: Any, option: Option) -> Any:
    expected, noun = _NOUNS.get(option.element, ((str,), "a string"))
    if isinstance(raw, bool) or not isinstance(raw, expected):
        raise UsageError(f"{where} must be {noun}, got {raw!r}")
    value = option.element(raw)
    problem = option.spec.range_problem(value)
    if problem is not None:
        raise UsageError(f"{where}: {problem}")
    if option.choices is not None and value not in option.choices:
        raise UsageError(f"{where} must be one of {', '.join(map(str, option.choices))}, got {raw!r}")
    return value


class Commands:
    """The subcommands of a parser; each command module's ``register`` adds its own."""

    def __init__(self, parser: Parser, dest: str) -> None:
        self._subparsers = parser.add_subparsers(dest=dest, required=True, parser_class=Parser)
        self.registered: dict[str, Command] = {}
        self._prefix = "" if dest == "command" else parser.prog.removeprefix("fgan ") + " "

    def add(self, name: str, handler: Handler, groups: Sequence[tuple[str, Any]] = (), **kwargs: Any) -> Command:
        """The command ``name`` with the options of ``groups`` (title, config instance whose values are shown
        and filled in as the defaults); ``kwargs`` go to argparse (help, description, epilog)."""
        command = Command(self._subparsers.add_parser(name, **kwargs), handler, groups)
        self.registered[self._prefix + name] = command
        return command

    def nest(self, name: str, dest: str, **kwargs: Any) -> Commands:
        """A command with subcommands of its own (``fgan reproduce NAME``), sharing this registry."""
        nested = Commands(self._subparsers.add_parser(name, **kwargs), dest)
        nested.registered = self.registered
        return nested
