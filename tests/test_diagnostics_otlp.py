from __future__ import annotations

from pathlib import Path

import pytest

from otel_breakout import DiagnosticsCollector, Settings, Telemetry
from tests.support.rotel import running_rotel


@pytest.mark.integration
@pytest.mark.slow
def test_log_records_reach_a_real_otlp_collector_with_their_trace(tmp_path: Path) -> None:
    with running_rotel(tmp_path) as rotel:
        settings = Settings.from_env(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": rotel.grpc_endpoint,
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_BLRP_SCHEDULE_DELAY": "50",
                "OTEL_BSP_SCHEDULE_DELAY": "50",
            }
        )
        telemetry = Telemetry.create(settings)
        diag = DiagnosticsCollector(session_id="otlp", output_dir=tmp_path / "diag", telemetry=telemetry)
        with telemetry.get_tracer().start_as_current_span("scanner.scan") as span:
            diag.record_filter("liquidity", "BTCUSDT", "min_volume", 95.0, 100.0, False, {"api_key": "PLANTED"})
        trace_id = format(span.get_span_context().trace_id, "032x")
        telemetry.shutdown()  # closes the collector first, then flushes the providers
        text = rotel.wait_for(lambda t: "filter:min_volume" in t and "breakout.diag.near_miss" in t)
    assert "BTCUSDT failed filter:min_volume (near miss)" in text
    assert trace_id in text
    assert "breakout.diag.payload.api_key" in text and "PLANTED" not in text
    assert "breakout.diag.near_miss" in text and "scanner.scan" in text
