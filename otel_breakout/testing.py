"""A pytest plugin for bots that use otel-breakout: capture spans, logs, metrics and diagnostics in your tests.

Installed as a ``pytest11`` entry point, so the fixtures are available as soon as the package is::

    def test_my_bot_emits_a_cycle_span(otel_capture):
        run_one_cycle(otel_capture.telemetry)
        assert [s.name for s in otel_capture.spans()] == ["engine.cycle"]

    def test_low_volume_is_filtered_out(diagnostics_collector, otel_capture):
        scan(["BTCUSDT"], diagnostics=diagnostics_collector)
        [event] = otel_capture.diagnostics()
        assert event.reason == "filter:min_volume"

    def test_sampling_off_records_no_span():
        with capture_telemetry(sampler="always_off") as capture:  # configure() keywords, closed on exit
            run_one_cycle(capture.telemetry)
            assert capture.spans() == []

Every :class:`~otel_breakout.DiagnosticsCollector` bound to the captured ``Telemetry`` (the fixture's, or
one your code builds with ``telemetry=otel_capture.telemetry``) reports its events to the capture, after
the same scrubbing and coercion as every other sink.

The captured :class:`~otel_breakout.Telemetry` is isolated (never installed globally), so tests can run in
any order. Inside it, failures in telemetry callbacks re-raise instead of being logged and swallowed,
so a bug in instrumentation fails the test that caused it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_breakout._flush import FlushBeforeCollect
from otel_breakout._internal import set_internal_errors_raise
from otel_breakout._settings import Settings
from otel_breakout._telemetry import Telemetry
from otel_breakout._views import cardinality_limits
from otel_breakout.diagnostics import DiagnosticsCollector, DiagnosticsEvent
from otel_breakout.diagnostics import _registry as _diagnostics_registry

__all__ = ["TelemetryCapture", "capture_telemetry", "diagnostics_collector", "otel_capture"]


class _CaptureReader(FlushBeforeCollect, InMemoryMetricReader):
    """The SDK's in-memory reader, handing queued histogram measurements to the SDK before each collection."""


@dataclass
class TelemetryCapture:
    """An isolated :class:`Telemetry` whose spans, log records and metrics are kept in memory."""

    telemetry: Telemetry
    span_exporter: InMemorySpanExporter
    log_exporter: InMemoryLogRecordExporter
    metric_reader: InMemoryMetricReader
    _closed: bool = field(default=False, repr=False)
    _events: list[DiagnosticsEvent] = field(default_factory=list, repr=False)
    _events_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _on_diagnostics_event(self, event: DiagnosticsEvent) -> None:
        with self._events_lock:
            self._events.append(event)

    def diagnostics(self, *, flush: bool = True) -> list[DiagnosticsEvent]:
        """The diagnostics events recorded by every collector bound to this telemetry, in recording order.

        ``flush`` first waits for those collectors' writers, so events recorded before the call are included.
        """
        if flush:
            for collector in _diagnostics_registry.collectors_for(self.telemetry):
                if not collector.flush():
                    raise AssertionError(f"{collector!r} did not flush within its timeout")
        with self._events_lock:
            return list(self._events)

    def diagnostics_collector(self, output_dir: str | Path, **kwargs: Any) -> DiagnosticsCollector:
        """A :class:`DiagnosticsCollector` bound to this telemetry (closed with it), journal in ``output_dir``."""
        return DiagnosticsCollector(output_dir=output_dir, telemetry=self.telemetry, **kwargs)

    def spans(self) -> list[ReadableSpan]:
        return list(self.span_exporter.get_finished_spans())

    def logs(self) -> list[ReadableLogRecord]:
        return list(self.log_exporter.get_finished_logs())

    def metrics(self) -> dict[str, Metric]:
        """Collect now and return the metrics by name (the last scope wins on a clash)."""
        data = self.metric_reader.get_metrics_data()
        found: dict[str, Metric] = {}
        if data is None:
            return found
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found[metric.name] = metric
        return found

    def metric_points(self, name: str) -> dict[frozenset[tuple[str, Any]], Any]:
        """The data points of one metric keyed by attribute set (values for sums and gauges)."""
        metric = self.metrics().get(name)
        if metric is None:
            return {}
        points: dict[frozenset[tuple[str, Any]], Any] = {}
        for point in metric.data.data_points:
            key = frozenset((point.attributes or {}).items())
            points[key] = point.value if isinstance(point, NumberDataPoint) else point
        return points

    def close(self) -> None:
        """Shut the telemetry down (once; later calls do nothing)."""
        if not self._closed:
            self._closed = True
            self.telemetry.shutdown()

    def __enter__(self) -> TelemetryCapture:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def capture_telemetry(
    settings: Settings | None = None, *, environ: Mapping[str, str] | None = None, **arguments: Any
) -> TelemetryCapture:
    """Build a :class:`TelemetryCapture`; ``arguments`` are ``configure()`` keywords.

    Unless told otherwise it pushes nowhere: ``environ`` defaults to an empty mapping, so variables set in
    the developer's shell cannot leak into a test.
    """
    if settings is None:
        settings = Settings.from_env({} if environ is None else environ, **arguments)
    spans = InMemorySpanExporter()
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # untyped upstream
    reader = _CaptureReader(cardinality_limits=cardinality_limits(settings.cardinality_limit))
    telemetry = Telemetry.create(
        settings,
        span_processors=[SimpleSpanProcessor(spans)],
        metric_readers=[reader],
        log_processors=[SimpleLogRecordProcessor(logs)],
    )
    capture = TelemetryCapture(telemetry, spans, logs, reader)
    # A weak reference: the registry is keyed weakly by the telemetry, which the capture holds.
    ref = weakref.ref(capture)

    def listener(event: DiagnosticsEvent) -> None:
        live = ref()
        if live is not None:
            live._on_diagnostics_event(event)

    _diagnostics_registry.add_listener(telemetry, listener)
    return capture


@pytest.fixture
def otel_capture() -> Iterator[TelemetryCapture]:
    """An isolated, in-memory :class:`TelemetryCapture`; internal telemetry errors re-raise."""
    previous = set_internal_errors_raise(True)
    try:
        with capture_telemetry() as capture:
            yield capture
    finally:
        set_internal_errors_raise(previous)


@pytest.fixture
def diagnostics_collector(otel_capture: TelemetryCapture, tmp_path: Path) -> Iterator[DiagnosticsCollector]:
    """A :class:`DiagnosticsCollector` bound to ``otel_capture``, its journal under ``tmp_path / "diag"``.

    Read what it recorded with ``otel_capture.diagnostics()``; it is closed after the test.
    """
    collector = otel_capture.diagnostics_collector(tmp_path / "diag", session_id="test")
    try:
        yield collector
    finally:
        collector.close()
