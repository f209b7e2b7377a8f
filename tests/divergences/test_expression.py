"""The safe f:EXPR compiler (fgan.divergences.expression): what it accepts, computes and refuses; it never evaluates
code."""

from __future__ import annotations

import ast
import builtins
import math
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

from fgan.divergences import get_divergence, parse_f_expression
from fgan.errors import UsageError


def f64(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float64)


@pytest.mark.parametrize(
    ("text", "name"), [("u*log(u)", "kl"), ("(sqrt(u)-1)**2", "hellinger"), ("-log(u)", "reverse-kl")]
)
def test_parsed_expression_equals_builtin_f(text: str, name: str) -> None:
    u = torch.logspace(-3, 3, 31, dtype=torch.float64)
    assert_close(parse_f_expression(text)(u), get_divergence(name).f(u))


def test_parsed_expression_functions_and_constants() -> None:
    u = f64([0.5, 2.0])
    f = parse_f_expression("exp(u) + sqrt(u) + abs(-u) + log1p(u) + expm1(u) + tanh(u) + softplus(u) + sigmoid(u)")
    expected = (
        torch.exp(u)
        + torch.sqrt(u)
        + u
        + torch.log1p(u)
        + torch.expm1(u)
        + torch.tanh(u)
        + torch.nn.functional.softplus(u)
        + torch.sigmoid(u)
    )
    assert_close(f(u), expected)
    assert_close(parse_f_expression("pi*e + +u - 2/u")(u), math.pi * math.e + u - 2.0 / u)
    constant = parse_f_expression("1/0")(u)  # no ZeroDivisionError: torch semantics, broadcast to u
    assert constant.shape == u.shape and torch.isposinf(constant).all()


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        "u.real",
        "open('f')",
        "[u for u in x]",
        "lambda: 1",
        "u if u else 1",
        "x*2",
        "log(u, 2)",
        "log(u=2)",
        "log(*u)",
        "'a'",
        "u[0]",
        "u < 1",
        "u and 1",
        "u % 2",
        "u // 2",
        "~u",
        "True",
        "1j*u",
        "(u, u)",
        "log",
        "(u := 2)",
        "u*log(u",
        "",
        "u\x00",
        "u" + "+u" * 250,
        "-" * 150 + "u",
    ],
)
def test_parser_refuses_everything_else(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_f_expression(text)
    assert "\n" not in str(info.value)


def test_parser_never_evaluates_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The payload is refused before anything runs; eval and exec are never used, compile only to build an AST."""
    real_compile = builtins.compile

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        assert flags & ast.PyCF_ONLY_AST, "compile called for code, not for a syntax tree"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec called")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    for payload in ("open('pwned','w')", "open('pwned','w').write('x')", "u + open('pwned','w').close()"):
        with pytest.raises(UsageError):
            parse_f_expression(payload)
        with pytest.raises(UsageError):
            get_divergence(f"f:{payload}")
    assert parse_f_expression("u*log(u)")(f64(1.0)).item() == 0.0
    assert not (tmp_path / "pwned").exists()


def test_refusal_names_what_is_not_allowed() -> None:
    with pytest.raises(UsageError, match="attribute access"):
        parse_f_expression("u.real")
    with pytest.raises(UsageError, match="'open'"):
        parse_f_expression("open('f')")
    with pytest.raises(UsageError, match="'x'"):
        parse_f_expression("x*2")
    with pytest.raises(UsageError, match="at most 200"):
        parse_f_expression("u" * 500)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    try:
        f = parse_f_expression(text)
    except UsageError:
        return
    value = f(torch.logspace(-2, 2, 5, dtype=torch.float64))
    assert value.shape == (5,)
