"""The one registry of divergence names: fixed names and parametric prefixes, the built-in ones and your own.

A **named entry** answers to one name (``kl``) and builds its divergence with ``factory()``; a **parametric entry**
answers to ``PREFIX:TEXT`` (``alpha:0.5``, ``f:u*log(u)``) and builds it with ``factory(TEXT)``. The built-in
divergences are the lines of :data:`BUILTIN_ENTRIES`; :func:`register_divergence` and
:func:`register_parametric_divergence` add your own, :func:`get_divergence` resolves a name,
:func:`list_divergences` and :func:`describe_divergences` list them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fgan.divergences.base import Divergence
from fgan.divergences.closed_forms import (
    GAN,
    Alpha,
    Jeffrey,
    JeffreyRatio,
    JensenShannon,
    JensenShannonWeighted,
    KullbackLeibler,
    Neyman,
    Pearson,
    ReverseKL,
    SquaredHellinger,
    TotalVariation,
)
from fgan.divergences.custom import CustomDivergence
from fgan.divergences.expression import parse_f_expression
from fgan.errors import UsageError


@dataclass(frozen=True)
class NamedEntry:
    """``name`` resolves to ``factory()``; ``formulas`` is the class whose formula strings describe it (if any)."""

    name: str
    factory: Callable[[], Divergence]
    formulas: type[Divergence] | None = None

    @property
    def key(self) -> str:
        """What :func:`get_divergence` looks up: the name."""
        return self.name

    @property
    def form(self) -> str:
        """The name as :func:`list_divergences` shows it."""
        return self.name

    def example_names(self) -> tuple[str, ...]:
        """The names at which the divergence is exercised: the name itself."""
        return (self.name,)

    @classmethod
    def of(cls, divergence_class: type[Divergence]) -> NamedEntry:
        """The entry of a class with a fixed ``name``: the name, the class as factory and as formulas."""
        return cls(divergence_class.name, divergence_class, divergence_class)


@dataclass(frozen=True)
class ParametricEntry:
    """``prefix:TEXT`` resolves to ``factory(TEXT)``; ``parameter`` names TEXT in listings (``alpha:A``).

    ``examples`` are parameter texts at which the divergence is exercised (:data:`EXAMPLE_DIVERGENCES`).
    """

    prefix: str
    parameter: str
    factory: Callable[[str], Divergence]
    formulas: type[Divergence] | None = None
    examples: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What :func:`get_divergence` looks up: the prefix."""
        return self.prefix

    @property
    def form(self) -> str:
        """The name form as :func:`list_divergences` shows it."""
        return f"{self.prefix}:{self.parameter}"

    def example_names(self) -> tuple[str, ...]:
        """The names at which the divergence is exercised: ``prefix:EXAMPLE`` for each example."""
        return tuple(f"{self.prefix}:{text}" for text in self.examples)


RegistryEntry = NamedEntry | ParametricEntry


def number_parameter(build: Callable[[float], Divergence]) -> Callable[[str], Divergence]:
    """A parametric factory that reads its text as a number and calls ``build(number)``."""

    def factory(text: str) -> Divergence:
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{text!r} is not a number") from None
        return build(value)

    return factory


def expression_divergence(text: str) -> CustomDivergence:
    """The :class:`CustomDivergence` of the f that ``text`` (``u*log(u)``) spells, named ``f:TEXT``."""
    expression = text.strip()
    return CustomDivergence(parse_f_expression(expression), name=f"f:{expression}", formula=expression)


#: The built-in divergences, one line each, in the order of :func:`list_divergences`.
BUILTIN_ENTRIES: tuple[RegistryEntry, ...] = (
    NamedEntry.of(TotalVariation),
    NamedEntry.of(KullbackLeibler),
    NamedEntry.of(ReverseKL),
    NamedEntry.of(Pearson),
    NamedEntry.of(Neyman),
    NamedEntry.of(SquaredHellinger),
    NamedEntry.of(Jeffrey),
    NamedEntry.of(JeffreyRatio),
    NamedEntry.of(JensenShannon),
    NamedEntry.of(GAN),
    ParametricEntry("js-weighted", "PI", number_parameter(JensenShannonWeighted), JensenShannonWeighted, ("0.3",)),
    ParametricEntry("alpha", "A", number_parameter(Alpha), Alpha, ("-1", "0.5", "2")),
    ParametricEntry("f", "EXPR", expression_divergence),
)
_BUILTIN_KEYS = frozenset(entry.key for entry in BUILTIN_ENTRIES)
_ENTRIES: dict[str, RegistryEntry] = {entry.key: entry for entry in BUILTIN_ENTRIES}

#: The divergences of the paper's Gaussian-mixture experiment (Table 3).
PAPER_DIVERGENCES = ("kl", "reverse-kl", "js", "jeffrey", "pearson")
#: One instance of every built-in form, parametric ones at their example parameters.
EXAMPLE_DIVERGENCES: tuple[str, ...] = tuple(name for entry in BUILTIN_ENTRIES for name in entry.example_names())


def _add(entry: RegistryEntry) -> None:
    key = entry.key
    if key in _BUILTIN_KEYS or ":" in key or not key:
        raise UsageError(f"cannot register {key!r}: the name is built in, empty or contains ':'")
    _ENTRIES[key] = entry


def register_divergence(name: str, factory: Callable[[], Divergence]) -> None:
    """Make ``get_divergence(name)`` (and ``--divergence name``) return ``factory()``; a class is its own factory
    (its formula strings then appear in :func:`describe_divergences`)."""
    formulas = factory if isinstance(factory, type) and issubclass(factory, Divergence) else None
    _add(NamedEntry(name, factory, formulas))


def register_parametric_divergence(prefix: str, parameter: str, factory: Callable[[str], Divergence]) -> None:
    """Make ``get_divergence("PREFIX:TEXT")`` return ``factory(TEXT)``; ``parameter`` names TEXT in listings.

    The factory raises ValueError (UsageError) for a TEXT it does not accept; see :func:`number_parameter`.
    """
    _add(ParametricEntry(prefix, parameter, factory))


def list_divergences() -> list[str]:
    """Every accepted name form: the fixed names, ``js-weighted:PI``, ``alpha:A``, ``f:EXPR`` and registered ones."""
    return [entry.form for entry in _ENTRIES.values()]


def describe_divergences() -> list[dict[str, str]]:
    """One row per name form with formulas: ``name, f, activation, conjugate, domain, fused, f_prime_one``."""
    return [
        {
            "name": entry.form,
            "f": cls.formula_f,
            "activation": cls.formula_activation,
            "conjugate": cls.formula_conjugate,
            "domain": cls.domain_formula(),
            "fused": cls.formula_fused,
            "f_prime_one": f"{cls.f_prime_one:.4g}",
        }
        for entry in _ENTRIES.values()
        if (cls := entry.formulas) is not None
    ]


def get_divergence(name: str | Divergence) -> Divergence:
    """Return the divergence called ``name`` (see :func:`list_divergences`); a Divergence is returned as is.

    Names are case-insensitive and stripped of surrounding space.

    Raises:
        UsageError: for an unknown or malformed name; the message lists the valid forms.
    """
    if isinstance(name, Divergence):
        return name
    valid = ", ".join(list_divergences())
    key = str(name).strip().lower()
    prefix, sep, text = key.partition(":")
    entry = _ENTRIES.get(prefix)
    if isinstance(entry, NamedEntry) and not sep:
        return entry.factory()
    if isinstance(entry, ParametricEntry) and sep:
        try:
            return entry.factory(text)
        except UsageError as err:  # a factory refuses its parameter text with a UsageError
            raise UsageError(f"divergence {name!r}: {err}; valid forms: {valid}") from None
    raise UsageError(f"unknown divergence {name!r}; valid forms: {valid}")
