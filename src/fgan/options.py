"""Options declared once: a config dataclass field carries its help, its range or choices and whether it may change
when a run is resumed, and the command line, TOML files and validation are all derived from it.

Example::

    @dataclass
    class EstimateConfig:
        folds: int = option(3, help="cross-fitting folds", low=2)
        ci: str = option("normal", help="interval method", choices=("normal", "bootstrap"))

    check_options(EstimateConfig(folds=1))  # UsageError: folds must be >= 2, got 1

A field without :func:`option` is not an option (it is set by the program, not by the user).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from fgan.errors import UsageError

_KEY = "fgan.option"


@dataclass(frozen=True)
class OptionSpec:
    """What the user may set a field to.

    ``low``/``high`` bound a number (or each element of a tuple of numbers), closed unless ``low_open``/``high_open``;
    ``choices`` lists the accepted strings; ``resumable`` lets ``--resume`` change the option; ``flag`` is the
    command-line name (default: the field's name with ``-`` for ``_``); ``metavar`` names the value in ``--help``.
    ``applies_to`` names the data the option means something for (``"synthetic"`` or ``"image"``; None: any data).
    ``allow_empty`` lets a list option be given with no values (``--sweep`` alone: no sweep). ``allow_nonfinite``
    lets a float be ``inf`` or ``nan`` (refused otherwise, whatever the range). ``None`` is accepted
    for a field whose default is None (it means "the program chooses").
    """

    help: str
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    resumable: bool = False
    flag: str | None = None
    metavar: str | None = None
    allow_empty: bool = False
    applies_to: str | None = None
    allow_nonfinite: bool = False

    def problem(self, name: str, value: Any) -> str | None:
        """Why ``value`` is not acceptable for the option ``name`` (spelt with spaces), or None when it is."""
        if value is None:
            return None
        for element in value if isinstance(value, tuple | list) else (value,):
            if self.choices is not None and element not in self.choices:
                return f"unknown {name} {element!r}; valid: {', '.join(map(str, self.choices))}"
            if self._out_of_range(element):
                return f"{name} must be {self._range_text()}, got {value}"
            if self._not_finite(element):
                return f"{name} must be a finite number, got {element}"
        return None

    def range_problem(self, value: Any) -> str | None:
        """``"must be >= 0, got -1"`` for a number out of the range (``"must be a finite number, got inf"`` for a
        non-finite float the option does not allow), else None (the command line's wording)."""
        if self._out_of_range(value):
            return f"must be {self._range_text()}, got {value}"
        if self._not_finite(value):
            return f"must be a finite number, got {value}"
        return None

    def _out_of_range(self, value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and not self._in_range(value)

    def _not_finite(self, value: Any) -> bool:
        return isinstance(value, float) and not math.isfinite(value) and not self.allow_nonfinite

    def _in_range(self, value: float) -> bool:
        if math.isnan(value):
            return self.low is None and self.high is None
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def _range_text(self) -> str:
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{self.low:g}, {self.high:g}{right}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}"


def option(
    default: Any = MISSING,
    *,
    help: str,
    default_factory: Any = MISSING,
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    high_open: bool = False,
    choices: tuple[Any, ...] | None = None,
    resumable: bool = False,
    flag: str | None = None,
    metavar: str | None = None,
    allow_empty: bool = False,
    applies_to: str | None = None,
    allow_nonfinite: bool = False,
) -> Any:
    """A dataclass field that is a user option (see :class:`OptionSpec` for the arguments)."""
    spec = OptionSpec(
        help,
        low,
        low_open,
        high,
        high_open,
        choices,
        resumable,
        flag,
        metavar,
        allow_empty,
        applies_to,
        allow_nonfinite,
    )
    return field(default=default, default_factory=default_factory, metadata={_KEY: spec})


def option_fields(config_class: type) -> list[tuple[Field[Any], OptionSpec]]:
    """The fields of a config dataclass that are options, in declaration order, with their specs."""
    return [(f, f.metadata[_KEY]) for f in fields(config_class) if _KEY in f.metadata]


def check_options(config: Any) -> None:
    """Raise UsageError naming the first option of ``config`` (a dataclass instance) whose value is out of range or
    not one of its choices."""
    for f, spec in option_fields(type(config)):
        message = spec.problem(f.name.replace("_", " "), getattr(config, f.name))
        if message is not None:
            raise UsageError(message)


def applicable_options(config: Any, kind: str) -> dict[str, Any]:
    """The fields of ``config`` (a dataclass instance) that mean something for data of ``kind``: every field but
    the options that apply to another kind of data."""
    inapplicable = {f.name for f, spec in option_fields(type(config)) if spec.applies_to not in (None, kind)}
    return {f.name: getattr(config, f.name) for f in fields(config) if f.name not in inapplicable}
