"""fgan.cli.common: JSON output that is JSON (issue 19, item 6: --json printed NaN and Infinity)."""

from __future__ import annotations

import json
import math

import pytest

from fgan.cli.common import json_safe, print_json


def test_json_safe_maps_every_non_finite_float_to_null() -> None:
    value = {"a": math.nan, "b": [1.0, math.inf, (-math.inf, 2)], "c": {"d": "x", "e": None, "f": True}}
    assert json_safe(value) == {"a": None, "b": [1.0, None, [None, 2]], "c": {"d": "x", "e": None, "f": True}}


def test_print_json_is_valid_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    print_json({"estimate": math.nan, "ci": [math.inf, 1.5]})
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text, parse_constant=lambda name: pytest.fail(f"not JSON: {name}")) == {
        "estimate": None,
        "ci": [None, 1.5],
    }
