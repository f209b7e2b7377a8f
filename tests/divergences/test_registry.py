"""The divergence registry: names, parametric entries, registration, listing and the docs table."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fgan.divergences import (
    BUILTIN_ENTRIES,
    EXAMPLE_DIVERGENCES,
    Divergence,
    NamedEntry,
    describe_divergences,
    get_divergence,
    list_divergences,
    markdown_table,
    number_parameter,
    register_divergence,
    register_parametric_divergence,
)
from fgan.divergences.closed_forms import KullbackLeibler
from fgan.errors import UsageError

DIVERGENCES_DOC = Path(__file__).resolve().parents[2] / "docs" / "divergences.md"


def test_parametric_names_are_canonical() -> None:
    assert get_divergence("alpha:2.0").name == "alpha:2"
    assert get_divergence(" JS-Weighted:0.25 ").name == "js-weighted:0.25"
    assert get_divergence("alpha:2.0").alpha == 2.0


@pytest.mark.parametrize(
    ("name", "parameter"),
    [("alpha:0.1234567", 0.1234567), ("alpha:1.0000001", 1.0000001), ("js-weighted:0.99999999", 0.99999999)],
)
def test_parametric_names_keep_the_exact_parameter(name: str, parameter: float) -> None:
    """The name was the parameter rounded by :g: alpha:0.1234567 trained alpha:0.123457 and js-weighted:0.99999999
    became js-weighted:1, refused with "got 1.0" (issue 19, item 4)."""
    divergence = get_divergence(name)
    assert divergence.name == name
    assert getattr(divergence, name.split(":")[0].replace("js-weighted", "pi")) == parameter
    assert get_divergence(divergence.name).name == name  # the name read back is the same divergence


def test_a_refused_parameter_is_quoted_as_given() -> None:
    with pytest.raises(UsageError, match=r"got 1;"):
        get_divergence("alpha:1")
    with pytest.raises(UsageError, match=r"got 1\.5;"):
        get_divergence("js-weighted:1.5")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "kl2",
        "alpha",
        "alpha:",
        "alpha:0",
        "alpha:1",
        "alpha:x",
        "alpha:nan",
        "js-weighted:0",
        "js-weighted:1",
        "js-weighted:1.5",
        "js-weighted:-0.2",
        "tv:3",
        "gan:0.5",
    ],
)
def test_bad_names_raise_value_error_listing_valid_forms(bad: str) -> None:
    with pytest.raises(UsageError, match="valid forms: tv, kl, reverse-kl"):
        get_divergence(bad)


@given(st.text(max_size=30))
def test_any_name_gives_a_divergence_or_a_value_error(name: str) -> None:
    try:
        divergence = get_divergence(name)
    except UsageError:
        return
    assert isinstance(divergence, Divergence)


def test_list_divergences_names_every_form() -> None:
    names = list_divergences()
    assert names == [entry.form for entry in BUILTIN_ENTRIES]
    assert {"tv", "kl", "reverse-kl", "js", "gan", "js-weighted:PI", "alpha:A", "f:EXPR"} <= set(names)
    named = [entry.form for entry in BUILTIN_ENTRIES if isinstance(entry, NamedEntry)]
    assert names[: len(named)] == named  # the fixed names first, then the parametric forms
    assert all(":" in name for name in names[len(named) :])


def test_every_builtin_entry_builds_its_class() -> None:
    for entry in BUILTIN_ENTRIES:
        for name in entry.example_names():
            divergence = get_divergence(name)
            assert type(divergence) is entry.formulas
            assert divergence.name == name
    assert EXAMPLE_DIVERGENCES == tuple(name for entry in BUILTIN_ENTRIES for name in entry.example_names())
    assert all(entry.example_names() for entry in BUILTIN_ENTRIES if entry.formulas is not None)


def test_register_custom_divergence() -> None:
    class HalfKL(type(get_divergence("kl"))):
        name = "half-kl-test"

    register_divergence("half-kl-test", HalfKL)
    assert isinstance(get_divergence("half-kl-test"), HalfKL)
    assert "half-kl-test" in list_divergences()
    with pytest.raises(UsageError):
        register_divergence("kl", HalfKL)
    assert list_divergences()[-1] == "half-kl-test"  # registered names come after the built-in ones
    assert describe_divergences()[-1]["name"] == "half-kl-test"  # a registered class is described too
    register_divergence("half-kl-test", lambda: HalfKL())  # a registered name may be replaced
    assert isinstance(get_divergence("half-kl-test"), HalfKL)
    for taken in ("kl", "alpha", "f", "a:b", ""):
        with pytest.raises(UsageError, match="cannot register"):
            register_divergence(taken, HalfKL)


class ScaledKL(KullbackLeibler):
    """c KL(P||Q), for the parametric registration test."""

    def __init__(self, scale: float) -> None:
        if not scale > 0.0:
            raise UsageError(f"scaled-kl needs C > 0, got {scale}")
        self.scale = scale
        self.name = f"scaled-kl:{scale:g}"


def test_register_parametric_divergence() -> None:
    register_parametric_divergence("scaled-kl", "C", number_parameter(ScaledKL))
    assert get_divergence("Scaled-KL:2.50").name == "scaled-kl:2.5"
    assert get_divergence("scaled-kl:3").scale == 3.0
    assert list_divergences()[-1] == "scaled-kl:C"
    with pytest.raises(UsageError, match=r"divergence 'scaled-kl:-1': scaled-kl needs C > 0.*valid forms: tv, kl"):
        get_divergence("scaled-kl:-1")
    with pytest.raises(UsageError, match=r"'x' is not a number; valid forms: .*scaled-kl:C"):
        get_divergence("scaled-kl:x")
    with pytest.raises(UsageError, match="unknown divergence 'scaled-kl'"):
        get_divergence("scaled-kl")  # a prefix without its parameter
    with pytest.raises(UsageError, match="cannot register 'alpha'"):
        register_parametric_divergence("alpha", "B", number_parameter(ScaledKL))


def test_names_registered_by_a_test_are_gone_in_the_next_one() -> None:
    """The autouse fixture of tests/conftest.py restores the registry (the two tests above registered names)."""
    assert list_divergences() == [entry.form for entry in BUILTIN_ENTRIES]
    with pytest.raises(UsageError):
        get_divergence("scaled-kl:2")


def test_describe_divergences_gives_the_formula_strings_of_each_class() -> None:
    rows = describe_divergences()
    described = [entry for entry in BUILTIN_ENTRIES if entry.formulas is not None]
    assert [row["name"] for row in rows] == [entry.form for entry in described]
    for row, entry in zip(rows, described, strict=True):
        cls = entry.formulas
        assert (row["f"], row["activation"], row["conjugate"], row["fused"]) == (
            cls.formula_f,
            cls.formula_activation,
            cls.formula_conjugate,
            cls.formula_fused,
        )
        assert row["domain"] == cls.domain_formula() and row["domain"] in cls.__doc__


def _doc_table() -> str:
    text = DIVERGENCES_DOC.read_text()
    start = text.index("\n| name |") + 1
    end = text.index("\n\n", start)
    return text[start : end + 1]


def test_docs_table_is_the_generated_one() -> None:
    """docs/divergences.md holds exactly :func:`markdown_table`; after changing a divergence, paste the output of
    ``python -c 'import fgan.divergences as d; print(d.markdown_table(), end="")'`` there."""
    assert _doc_table() == markdown_table()
    assert markdown_table().count("\n") == 2 + len(describe_divergences())
