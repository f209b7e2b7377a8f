"""fgan.options: declared ranges and choices, checked from the field metadata."""

from dataclasses import dataclass

import pytest

from fgan.errors import UsageError
from fgan.options import check_options, option, option_fields


@dataclass
class _Config:
    steps: int = option(10, help="steps", low=0)
    rate: float = option(0.1, help="rate", low=0, low_open=True)
    level: float = option(0.5, help="level", low=0, low_open=True, high=1, high_open=True)
    betas: tuple[float, float] = option((0.5, 0.9), help="betas", low=0, high=1, high_open=True)
    penalty: float | None = option(None, help="penalty", low=0)
    kind: str = option("a", help="kind", choices=("a", "b"), resumable=True)
    kinds: tuple[str, ...] = option(("a",), help="kinds", choices=("a", "b"))
    internal: int = 3


def test_only_declared_fields_are_options() -> None:
    names = [f.name for f, _ in option_fields(_Config)]
    assert names == ["steps", "rate", "level", "betas", "penalty", "kind", "kinds"]
    assert dict((f.name, spec.resumable) for f, spec in option_fields(_Config))["kind"]


def test_defaults_pass() -> None:
    check_options(_Config())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"steps": -1}, "steps must be >= 0, got -1"),
        ({"rate": 0.0}, "rate must be > 0, got 0.0"),
        ({"rate": float("nan")}, "rate must be > 0, got nan"),
        ({"level": 1.0}, "level must be in (0, 1), got 1.0"),
        ({"betas": (0.5, 1.0)}, "betas must be in [0, 1), got (0.5, 1.0)"),
        ({"penalty": -0.5}, "penalty must be >= 0, got -0.5"),
        ({"kind": "c"}, "unknown kind 'c'; valid: a, b"),
        ({"kinds": ("b", "a", "z", "y")}, "unknown kinds 'z'; valid: a, b"),
        ({"rate": float("inf")}, "rate must be a finite number, got inf"),
        ({"penalty": float("inf")}, "penalty must be a finite number, got inf"),
    ],
)
def test_out_of_range_is_a_usage_error(values: dict, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_options(_Config(**values))
    assert str(caught.value) == message


def test_none_is_accepted_where_allowed() -> None:
    check_options(_Config(penalty=None))


def test_non_finite_floats_are_refused_unless_the_option_allows_them() -> None:
    """``--lr inf`` trained with an infinite step size (issue 19, item 6)."""

    @dataclass
    class Unbounded:
        scale: float = option(1.0, help="scale")
        limit: float = option(1.0, help="limit", allow_nonfinite=True)

    for value in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(UsageError, match="scale must be a finite number"):
            check_options(Unbounded(scale=value))
        check_options(Unbounded(limit=value))
    spec = dict((f.name, spec) for f, spec in option_fields(Unbounded))["scale"]
    assert spec.range_problem(float("inf")) == "must be a finite number, got inf"
    assert spec.range_problem(1e300) is None
