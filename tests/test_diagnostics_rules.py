from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_breakout.diagnostics import infer_direction, is_near_miss
from otel_breakout.diagnostics._rules import as_number


@pytest.mark.parametrize(
    ("value", "threshold", "passed", "expected"),
    [
        (5.0, 3.0, True, "min"),  # above and passing: a minimum
        (5.0, 3.0, False, "max"),  # above and failing: a maximum
        (1.0, 3.0, True, "max"),
        (1.0, 3.0, False, "min"),
        (3.0, 3.0, True, None),  # both directions pass at equality
        (3.0, 3.0, False, None),
        (5.0, 3.0, None, None),
        ("5", 3.0, True, None),
        (Decimal("5"), 3, True, "min"),
        (True, 0, True, None),  # a bool is not a number
        (float("nan"), 3.0, True, None),
    ],
)
def test_infer_direction(value: object, threshold: object, passed: object, expected: str | None) -> None:
    assert infer_direction(value, threshold, passed) == expected


def test_near_miss_is_relative_to_the_threshold() -> None:
    assert is_near_miss(95.0, 100.0, False)
    assert is_near_miss(110.0, 100.0, False)  # a "max" filter just over
    assert not is_near_miss(89.0, 100.0, False)
    assert not is_near_miss(95.0, 100.0, True)  # passes are never near misses
    assert not is_near_miss(95.0, 100.0, None)
    assert is_near_miss(-95.0, -100.0, False)
    assert is_near_miss(80.0, 100.0, False, margin=0.2)
    assert not is_near_miss("95", 100.0, False)


def test_near_miss_with_a_zero_threshold_uses_an_absolute_margin() -> None:
    assert is_near_miss(0.05, 0.0, False)
    assert is_near_miss(-0.1, 0.0, False)
    assert not is_near_miss(0.2, 0.0, False)


def test_as_number_reads_real_numbers_only() -> None:
    assert as_number(3) == 3.0
    assert as_number(Decimal("2.5")) == 2.5
    assert as_number(10**400) is None  # overflows a float
    assert as_number(Decimal("NaN")) is None
    assert as_number(float("inf")) is None
    assert as_number(False) is None
    assert as_number(None) is None
    assert as_number("1.0") is None


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
)
def test_an_inferred_direction_explains_the_outcome(value: float, threshold: float) -> None:
    for passed in (True, False):
        direction = infer_direction(value, threshold, passed)
        if value == threshold:
            assert direction is None
            continue
        outcome = value >= threshold if direction == "min" else value <= threshold
        assert outcome is passed


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
)
def test_near_miss_matches_its_definition(value: float, threshold: float) -> None:
    expected = abs(value - threshold) <= 0.1 * abs(threshold) if threshold != 0 else abs(value) <= 0.1
    assert is_near_miss(value, threshold, False) is expected


@pytest.mark.parametrize("special", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_value_or_threshold_is_never_a_near_miss(special: float) -> None:
    # Plain floats skip the coercion; these are the cases where that shortcut could go wrong.
    assert not is_near_miss(special, 100.0, False)
    assert not is_near_miss(100.0, special, False)
    assert not is_near_miss(special, special, False)
    assert not is_near_miss(special, 0.0, False)


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
)
def test_plain_floats_and_coerced_numbers_agree(value: float, threshold: float) -> None:
    assert is_near_miss(value, threshold, False) is is_near_miss(Decimal(value), Decimal(threshold), False)


def test_settle_payload_infers_only_a_missing_or_invalid_direction() -> None:
    from otel_breakout.diagnostics._rules import settle_payload

    given: dict[str, Any] = {"value": 1.0, "threshold": 2.0, "direction": "max"}
    settle_payload(given, False)
    assert given["direction"] == "max"  # given directions are trusted
    missing: dict[str, Any] = {"value": 1.0, "threshold": 2.0, "direction": None}
    settle_payload(missing, False)
    assert missing["direction"] == "min"
    invalid: dict[str, Any] = {"value": 3.0, "threshold": 2.0, "direction": "up"}
    settle_payload(invalid, True)
    assert invalid == {"value": 3.0, "threshold": 2.0, "direction": "min", "direction__coerced": "invalid"}
    untouched: dict[str, Any] = {"value": 3.0}
    settle_payload(untouched, True)
    assert untouched == {"value": 3.0}
