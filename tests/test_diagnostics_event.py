from __future__ import annotations

from typing import Any

import orjson
import pytest

from otel_breakout import DiagnosticsEvent
from otel_breakout.diagnostics import JOURNAL_FIELDS, SCHEMA_VERSION


def test_an_event_round_trips_through_its_journal_line() -> None:
    event = DiagnosticsEvent(
        ts=1755640800.5,
        component="scanner",
        stage="liquidity",
        symbol="BTCUSDT",
        payload={"filter": "min_volume", "value": 1.0},
        reason="filter:min_volume",
        passed=False,
        session_id="S",
        trace_id="0" * 31 + "1",
        span_id="0" * 15 + "2",
        near_miss=True,
    )
    line = orjson.loads(orjson.dumps(event.to_json()))
    assert tuple(line) == JOURNAL_FIELDS and line["v"] == SCHEMA_VERSION
    assert DiagnosticsEvent.from_json(line) == event


def test_the_seed_constructor_still_works() -> None:
    event = DiagnosticsEvent(1.0, "scanner", "s", "BTC", {"a": 1}, "r", False)
    assert (event.session_id, event.trace_id, event.near_miss) == ("", None, False)


@pytest.mark.parametrize(
    "line",
    [
        {"v": 2, "ts": 1.0, "component": "c", "stage": "s", "payload": {}},
        {"ts": 1.0, "component": "c", "stage": "s", "payload": {}},
        {"v": 1, "component": "c", "stage": "s", "payload": {}},
        {"v": 1, "ts": "soon", "component": "c", "stage": "s", "payload": {}},
        {"v": 1, "ts": 1.0, "component": "c", "stage": "s", "payload": []},
        {"v": 1, "ts": 1.0, "component": "c", "stage": "s", "payload": {}, "passed": "yes"},
    ],
)
def test_unreadable_lines_raise_value_error(line: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DiagnosticsEvent.from_json(line)
