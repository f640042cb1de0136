from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import Logger, LoggerProvider, LogRecordLimits, ReadableLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, InMemoryLogRecordExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from otel_breakout import Settings
from otel_breakout._log_batches import LogBatchProcessor, PreparedLogRecord, prepared_record
from otel_breakout._resource import build_resource

_CONTEXT = set_span_in_context(
    NonRecordingSpan(SpanContext(0x1234, 0x5678, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))),
    Context(),
)
_ATTRIBUTES: dict[str, str | bool | float | int | tuple[float, ...]] = {
    "breakout.diag.component": "scanner",
    "breakout.diag.stage": "universe",
    "breakout.diag.symbol": "BTCUSDT",
    "breakout.diag.reason": "filter:min_volume",
    "breakout.diag.near_miss": True,
    "breakout.diag.payload.value": 900_000.5,
    "breakout.diag.payload.candle_ts": 60,
    "breakout.diag.payload.depth": (1.0, 2.5),
}


def _record(n: int) -> LogRecord:
    return LogRecord(
        timestamp=1_000 + n,
        observed_timestamp=2_000 + n,
        context=_CONTEXT,
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        body=f"BTCUSDT failed filter:min_volume #{n}",
        attributes=dict(_ATTRIBUTES),
    )


def _exporters(*processors: type[BatchLogRecordProcessor]) -> tuple[LoggerProvider, list[InMemoryLogRecordExporter]]:
    provider = LoggerProvider(resource=build_resource(Settings.from_env({})), shutdown_on_exit=False)
    exporters = []
    for processor in processors:
        exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # untyped upstream
        provider.add_log_record_processor(processor(exporter))
        exporters.append(exporter)
    return provider, exporters


def _logger(provider: LoggerProvider, name: str, version: str | None = None) -> Logger:
    logger = provider.get_logger(name, version)
    assert isinstance(logger, Logger)
    return logger


def _encoded(records: Sequence[ReadableLogRecord]) -> bytes:
    return bytes(encode_logs(records).SerializeToString(deterministic=True))


def test_prepared_records_export_the_same_bytes_as_the_sdk_path() -> None:
    provider, (stock, ours) = _exporters(BatchLogRecordProcessor, LogBatchProcessor)
    logger = _logger(provider, "otel_breakout.diagnostics", "1.0")
    for n in range(3):
        logger.emit(_record(n))  # the SDK's own path: attributes re-validated, then copied by both processors
    limits = LogRecordLimits()
    for n in range(3):
        prepared = prepared_record(_record(n), logger.resource, logger.instrumentation_scope, limits)
        logger.emit(prepared)  # type: ignore[arg-type]  # the SDK logger takes a ReadWriteLogRecord as it is
    provider.force_flush()
    sdk_path, prepared_path = stock.get_finished_logs()[:3], stock.get_finished_logs()[3:]
    assert len(prepared_path) == 3 and len(ours.get_finished_logs()) == 6
    # Whichever way a record came and whichever processor queued it, the exporter encodes the same bytes.
    assert _encoded(sdk_path) == _encoded(prepared_path) == _encoded(ours.get_finished_logs()[:3])
    assert _encoded(ours.get_finished_logs()[3:]) == _encoded(sdk_path)
    assert [r.dropped_attributes for r in ours.get_finished_logs()] == [0] * 6


def test_our_processor_queues_prepared_records_without_a_copy_and_others_as_the_sdk_does() -> None:
    provider, (exporter,) = _exporters(LogBatchProcessor)
    logger = _logger(provider, "t")
    plain = _record(0)
    prepared = prepared_record(_record(1), logger.resource, logger.instrumentation_scope, LogRecordLimits())
    logger.emit(plain)
    logger.emit(prepared)  # type: ignore[arg-type]  # the SDK logger takes a ReadWriteLogRecord as it is
    provider.force_flush()
    first, second = exporter.get_finished_logs()
    # Any record: copied, its context let go (the SDK's behaviour); a prepared one: queued as it is.
    assert first.log_record is not plain and first.log_record.context == Context()
    assert plain.context is _CONTEXT
    assert second.log_record is prepared.log_record
    assert isinstance(first.log_record.attributes, BoundedAttributes)
    assert type(second.log_record.attributes) is dict
    assert dict(first.log_record.attributes) == second.log_record.attributes == _ATTRIBUTES


def test_limits_tighter_than_the_record_take_the_sdk_path(recwarn: pytest.WarningsRecorder) -> None:
    provider, (exporter,) = _exporters(LogBatchProcessor)
    logger = _logger(provider, "t")
    short = LogRecordLimits(max_log_record_attribute_length=4)
    few = LogRecordLimits(max_log_record_attributes=2)
    for limits in (short, few):
        record = prepared_record(_record(0), logger.resource, logger.instrumentation_scope, limits)
        assert isinstance(record, PreparedLogRecord)
        logger.emit(record)  # type: ignore[arg-type]  # the SDK logger takes a ReadWriteLogRecord as it is
    provider.force_flush()
    truncated, dropped = exporter.get_finished_logs()
    assert truncated.log_record.attributes is not None
    assert truncated.log_record.attributes["breakout.diag.symbol"] == "BTCU"
    assert dropped.dropped_attributes == len(_ATTRIBUTES) - 2
