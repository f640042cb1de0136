from __future__ import annotations

from pathlib import Path

from otel_breakout.diagnostics._attributes import otel_attributes
from otel_breakout.diagnostics._coerce import Sanitizer
from otel_breakout.testing import TelemetryCapture


def test_attributes_are_lean() -> None:
    sanitizer = Sanitizer()
    failure = otel_attributes(sanitizer, "scanner", "s", "BTC", "filter:f", False, False, {"filter": "f", "v": 1})
    assert failure == {
        "breakout.diag.component": "scanner",
        "breakout.diag.stage": "s",
        "breakout.diag.symbol": "BTC",
        "breakout.diag.reason": "filter:f",  # says it failed: no `passed`
        "breakout.diag.payload.filter": "f",
        "breakout.diag.payload.v": 1,
    }
    near = otel_attributes(sanitizer, "scanner", "s", None, None, False, True, {})
    assert near == {
        "breakout.diag.component": "scanner",
        "breakout.diag.stage": "s",
        "breakout.diag.passed": False,  # no reason says it
        "breakout.diag.near_miss": True,
    }
    passed = otel_attributes(sanitizer, "engine", "cycle", None, "note", True, False, {})
    assert passed["breakout.diag.passed"] is True and passed["breakout.diag.reason"] == "note"


def test_a_huge_payload_is_cut_below_the_sdk_limit(otel_capture: TelemetryCapture, tmp_path: Path) -> None:
    # Past 128 attributes the SDK drops some and warns on every record (an error under this test suite).
    wide = {f"k{i:03d}": i for i in range(200)}
    with otel_capture.diagnostics_collector(tmp_path) as diag:
        with otel_capture.telemetry.get_tracer().start_as_current_span("scan"):
            diag.record_filter("s", "BTCUSDT", "f", 1.0, 2.0, False, wide)
        diag.flush()
    [record] = [data.log_record for data in otel_capture.logs()]
    assert record.attributes is not None and len(record.attributes) == 120
    # 4 fixed attributes + 4 payload fields + 200 extras = 208; 119 kept, the marker says how many went.
    assert record.attributes["breakout.diag.payload_truncated"] == 208 - 119
    [event] = otel_capture.spans()[0].events
    assert event.attributes is not None and len(event.attributes) == 120
