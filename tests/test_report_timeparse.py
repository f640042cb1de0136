from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from otel_breakout.report._timeparse import parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1755640800", 1755640800.0),
        ("1755640800.25", 1755640800.25),
        ("2025-08-19T22:00:00Z", 1755640800.0),
        ("2025-08-19T22:00:00", 1755640800.0),  # naive means UTC
        ("2025-08-20T00:00:00+02:00", 1755640800.0),
        ("2025-08-19", 1755561600.0),
        ("90m", 10_000.0 - 5400),
        ("-2h", 10_000.0 - 7200),
        ("1d", 10_000.0 - 86_400),
        ("30s", 10_000.0 - 30),
    ],
)
def test_forms(text: str, expected: float) -> None:
    assert parse_time(text, now=10_000.0) == expected


def test_datetimes_and_numbers() -> None:
    moment = datetime(2025, 8, 19, 22, tzinfo=timezone(timedelta(hours=0)))
    assert parse_time(moment) == 1755640800.0
    assert parse_time(datetime(2025, 8, 19, 22)) == 1755640800.0
    assert parse_time(12.5) == 12.5


@pytest.mark.parametrize("text", ["yesterday", "", "inf", "nan", "12x", float("nan")])
def test_bad_values_name_the_accepted_forms(text: str | float) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time(text)
