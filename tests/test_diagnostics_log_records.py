from __future__ import annotations

from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from otel_breakout.diagnostics._coerce import Sanitizer
from otel_breakout.diagnostics._log_records import EventLogs


def _provider() -> tuple[LoggerProvider, InMemoryLogRecordExporter]:
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # untyped upstream
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return provider, exporter


def test_each_kind_of_event_gets_its_body_and_severity() -> None:
    provider, exporter = _provider()
    logs = EventLogs(provider.get_logger("t"), Sanitizer())
    payload = {"filter": "min_volume", "value": 1.0, "threshold": 2.0, "direction": "min"}
    context = Context()
    logs.emit(1.5, context, "scanner", "universe", "BTC", payload, "filter:min_volume", False, False, False, "x")
    logs.emit(2.0, context, "scanner", "universe", "BTC", payload, "filter:min_volume", False, True, False, "x")
    logs.emit(2.5, context, "scanner", "universe", None, payload, None, True, False, False, "min_volume")
    logs.emit(3.0, context, "signal", "breakout", "ETH", {"strategy": "breakout"}, None, True, False, True, "")
    logs.emit(3.5, context, "engine", "cycle", None, {}, None, False, False, False, "")
    records = [data.log_record for data in exporter.get_finished_logs()]
    assert [r.body for r in records] == [
        "BTC failed filter:min_volume",
        "BTC failed filter:min_volume (near miss)",
        "- passed scanner/universe/min_volume",
        "ETH signal from breakout",
        "- failed engine/cycle",
    ]
    assert [r.severity_number for r in records] == [SeverityNumber.INFO] * 2 + [SeverityNumber.DEBUG] + [
        SeverityNumber.INFO
    ] * 2
    assert [r.severity_text for r in records] == ["INFO", "INFO", "DEBUG", "INFO", "INFO"]
    assert [r.timestamp for r in records] == [1_500_000_000, 2_000_000_000, 2_500_000_000, 3_000_000_000, 3_500_000_000]
    assert records[1].attributes is not None and records[1].attributes["breakout.diag.near_miss"] is True
    assert records[0].attributes is not None and dict(records[0].attributes) == {
        "breakout.diag.component": "scanner",
        "breakout.diag.stage": "universe",
        "breakout.diag.symbol": "BTC",
        "breakout.diag.reason": "filter:min_volume",
        "breakout.diag.payload.filter": "min_volume",
        "breakout.diag.payload.value": 1.0,
        "breakout.diag.payload.threshold": 2.0,
        "breakout.diag.payload.direction": "min",
    }


def test_live_follows_the_logger() -> None:
    provider, _ = _provider()
    assert EventLogs(provider.get_logger("t"), Sanitizer()).live()
    bare = LoggerProvider(shutdown_on_exit=False)  # no processor: nothing would be exported
    assert not EventLogs(bare.get_logger("t"), Sanitizer()).live()


def test_through_an_sdk_logger_records_go_out_prepared() -> None:
    # The cheap path (attributes final as built, no re-validation): the exporter sees the very dict built here.
    provider, exporter = _provider()
    logs = EventLogs(provider.get_logger("t"), Sanitizer())
    logs.emit(1.0, Context(), "scanner", "universe", "BTC", {"value": 1.0}, "filter:f", False, False, False, "f")
    [data] = exporter.get_finished_logs()
    assert type(data.log_record.attributes) is dict and data.dropped_attributes == 0
    assert data.resource is provider.resource
