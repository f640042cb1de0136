"""The log records the diagnostics collector exports for a fixed input, as OTLP bytes, against a checked-in golden.

The records are taken where an exporter receives them and encoded with the OTLP exporters' own encoder, so
the golden holds everything a backend sees: resource, scope, body, severity, attributes (their order
included), trace context. Only what differs from run to run is normalised: the wall-clock timestamps (checked
against the clock here instead) and the host and process facts of the resource. After an intended change,
regenerate with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from google.protobuf import json_format  # type: ignore[import-untyped]  # no stubs among the dev deps
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from otel_breakout.testing import capture_telemetry

UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
GOLDEN = Path(__file__).parent / "data" / "logs" / "diag_log_records.json"
# Resource attributes that describe this host and process (or the installed versions), not the input.
_VARYING = frozenset(
    (
        "host.name",
        "host.arch",
        "os.type",
        "process.pid",
        "process.executable.name",
        "process.runtime.name",
        "process.runtime.version",
        "telemetry.sdk.version",
        "telemetry.distro.version",
        "service.version",
    )
)
_TRACE = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=False,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)


def _record_fixed_input(path: Path) -> tuple[ExportLogsServiceRequest, int, int]:
    capture = capture_telemetry(
        environ={
            "OTEL_SERVICE_NAME": "golden-bot",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test",
            "OTEL_BREAKOUT_DIAG_LOG_PASSES": "true",
        },
        service_instance_id="golden-instance",
    )
    try:
        start = time.time_ns()
        with capture.diagnostics_collector(path, session_id="golden") as diag:
            # The fast path: plain values.
            diag.record_filter("universe", "BTCUSDT", "min_volume", 900_000.0, 1_000_000.0, False, direction="min")
            diag.record_filter("universe", "BTCUSDT", "min_atr", 0.03, 0.02, True, direction="min", candle_ts=60)
            diag.record_filter("universe", "ETHUSDT", "min_volume", 990_000, 1_000_000, False, candle_ts=120, close=2.5)
            with trace.use_span(NonRecordingSpan(_TRACE)):
                # The general path: extras (one shadowing a schema field), nested values, a secret, odd types.
                diag.record_filter(
                    "universe",
                    "SOLUSDT",
                    "max_spread",
                    0.4,
                    0.3,
                    False,
                    {
                        "venue": "x",
                        "filter": "shadow",
                        "depth": [1, 2.5, "a"],
                        "api_key": "hunter2",
                        "nested": {"k": 1},
                    },
                    direction="max",
                )
                diag.record_filter("universe", None, "min_volume", "12", None, "no")  # type: ignore[arg-type]  # coerced
                diag.record_signal_condition(
                    "breakout", "SOLUSDT", "volume_confirm", 1.9, 2.0, False, candle_ts=180, close=101.5
                )
                diag.record_signal_condition("breakout", "SOLUSDT", "close_above", 102.0, 101.0, True, candle_ts=180)
                diag.record_signal("breakout", "SOLUSDT", {"side": "long", "entry": 102.0})
                diag.record("engine", "cycle", None, {"duration_ms": 12.5}, "engine:slow_cycle", False)
                diag.record("risk", "exposure", "BTCUSDT", None, None, True)
            diag.flush()
        end = time.time_ns()
        request = encode_logs(capture.logs())
    finally:
        capture.close()
    return request, start, end


def _normalise(request: ExportLogsServiceRequest, start: int, end: int) -> ExportLogsServiceRequest:
    for resource_logs in request.resource_logs:
        for attribute in resource_logs.resource.attributes:
            if attribute.key in _VARYING:
                attribute.value.Clear()
                attribute.value.string_value = "(varies)"
        for scope_logs in resource_logs.scope_logs:
            if scope_logs.scope.name == "otel_breakout.diagnostics":
                scope_logs.scope.version = "(varies)"
            for record in scope_logs.log_records:
                assert start <= record.time_unix_nano <= end
                assert start <= record.observed_time_unix_nano <= end
                record.time_unix_nano = record.observed_time_unix_nano = 0
    return request


def test_exported_log_records_match_the_golden(tmp_path: Path) -> None:
    request = _normalise(*_record_fixed_input(tmp_path))
    assert sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs) == 10
    if UPDATE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json_format.MessageToJson(request, indent=1) + "\n")
    golden = json_format.Parse(GOLDEN.read_text(), ExportLogsServiceRequest())
    # Bytes, not just equal messages: the order of the attributes is what a backend receives too.
    assert request.SerializeToString(deterministic=True) == golden.SerializeToString(deterministic=True), (
        f"{GOLDEN.name} changed; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"
    )
