from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_breakout.api._negotiation import accepts_gzip, wants_openmetrics

PROMETHEUS_2 = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (PROMETHEUS_2, True),
        ("application/openmetrics-text", True),
        ("application/openmetrics-text; version=0.0.1", True),
        ("APPLICATION/OPENMETRICS-TEXT;VERSION=1.0.0", True),
        ("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5", False),
        ("application/openmetrics-text;q=0.5,*/*", False),
        ("application/openmetrics-text;version=2.0.0", False),
        ("application/openmetrics-text;q=0", False),
        ("application/openmetrics-text;q=abc", False),
        ("application/openmetrics-text;q=2", False),
        ("text/plain", False),
        ("*/*", False),
        ("", False),
        (None, False),
    ],
)
def test_openmetrics_negotiation(accept: str | None, expected: bool) -> None:
    assert wants_openmetrics(accept) is expected


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("identity", False),
        ("deflate", False),
        ("", False),
        (None, False),
    ],
)
def test_gzip_negotiation(encoding: str | None, expected: bool) -> None:
    assert accepts_gzip(encoding) is expected


@given(st.text(max_size=300))
def test_any_header_gets_an_answer(header: str) -> None:
    assert isinstance(wants_openmetrics(header), bool)
    assert isinstance(accepts_gzip(header), bool)
