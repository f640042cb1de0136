"""Queued histogram measurements reach the SDK because each reader flushes them, not because of SDK call order.

Most tests here turn the logger's fallback (a flush from its first observable callback) off, so that a
reader which does not flush before collecting visibly misses the values: the explicit flush is then the
only way they arrive, and a test fails if a reader skips it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
)
from prometheus_client.parser import text_string_to_metric_families

from otel_breakout import Settings, Telemetry
from otel_breakout._exporters import build_metric_readers
from otel_breakout._flush import PeriodicFlushingReader, register_flush
from otel_breakout._internal import set_internal_errors_raise
from otel_breakout._prometheus import PrometheusPullReader
from otel_breakout.metrics import FlushBeforeCollect, MetricsLogger, flush_histograms

_SETTINGS = {"OTEL_METRICS_EXPORTER": "none", "OTEL_TRACES_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}


@pytest.fixture
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loggers built after this fixture never flush from a callback: only an explicit flush feeds the SDK."""
    monkeypatch.setattr(MetricsLogger, "_flush_histograms", lambda self: None)


def _telemetry(reader: MetricReader) -> Telemetry:
    return Telemetry.create(Settings.from_env(_SETTINGS), metric_readers=[reader])


def _cycle_counts(data: MetricsData | None) -> list[int]:
    """Data point counts of the cycle-duration histogram in one collection (empty when it is absent)."""
    counts: list[int] = []
    for resource_metrics in data.resource_metrics if data is not None else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == "breakout.engine.cycle.duration":
                    counts += [p.count for p in metric.data.data_points if isinstance(p, HistogramDataPoint)]
    return counts


class _ListExporter(MetricExporter):
    """Keeps what a periodic reader exports."""

    def __init__(self) -> None:
        super().__init__()
        self.exported: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self.exported.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


@pytest.fixture
def plain() -> Iterator[tuple[InMemoryMetricReader, Telemetry]]:
    reader = InMemoryMetricReader()
    telemetry = _telemetry(reader)
    yield reader, telemetry
    telemetry.shutdown()


def test_without_a_flush_a_reader_misses_queued_values(
    no_fallback: None, plain: tuple[InMemoryMetricReader, Telemetry]
) -> None:
    # The premise of the other tests: with the fallback off, a reader that does not flush sees nothing.
    reader, telemetry = plain
    MetricsLogger(telemetry).end_cycle(0.02)
    assert _cycle_counts(reader.get_metrics_data()) == []


def test_the_pull_reader_flushes_before_it_collects(no_fallback: None) -> None:
    reader = PrometheusPullReader()
    telemetry = _telemetry(reader)
    try:
        logger = MetricsLogger(telemetry)
        for duration in (0.02, 0.3):
            logger.end_cycle(duration)
        text = reader.render().decode()
        logger.end_cycle(4.0)
        again = reader.render().decode()
    finally:
        telemetry.shutdown()
    counts = [
        sample.value
        for body in (text, again)
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "breakout_engine_cycle_duration_seconds_count"
    ]
    assert counts == [2.0, 3.0]


def test_configure_builds_periodic_readers_that_flush() -> None:
    settings = Settings.from_env({"OTEL_METRICS_EXPORTER": "otlp,console,prometheus"})
    pull = PrometheusPullReader()
    readers = build_metric_readers(settings, pull)
    try:
        assert len(readers) == 3 and readers[-1] is pull
        assert all(isinstance(reader, FlushBeforeCollect) for reader in readers)
        assert all(isinstance(reader, PeriodicFlushingReader) for reader in readers[:2])
    finally:
        for reader in readers[:2]:
            reader.shutdown()


def test_the_periodic_reader_flushes_before_each_export(no_fallback: None) -> None:
    exporter = _ListExporter()
    reader = PeriodicFlushingReader(exporter, export_interval_millis=3_600_000)
    telemetry = _telemetry(reader)
    try:
        logger = MetricsLogger(telemetry)
        logger.end_cycle(0.02)
        assert reader.force_flush()
        logger.end_cycle(0.2)
    finally:
        telemetry.shutdown()  # the last export, at shutdown, flushes too
    assert [_cycle_counts(data) for data in exporter.exported][-2:] == [[1], [2]]


def test_the_public_hook_serves_a_reader_we_do_not_own(
    no_fallback: None, plain: tuple[InMemoryMetricReader, Telemetry]
) -> None:
    reader, telemetry = plain
    logger = MetricsLogger(telemetry)
    logger.end_cycle(0.02)
    logger.trade_closed("momentum", 5.0)
    assert flush_histograms() >= 2  # other tests' loggers may still hold values: they flush too
    assert flush_histograms() == 0
    assert _cycle_counts(reader.get_metrics_data()) == [1]


def test_the_mixin_makes_any_reader_flush(no_fallback: None) -> None:
    class Reader(FlushBeforeCollect, InMemoryMetricReader):
        pass

    reader = Reader()
    telemetry = _telemetry(reader)
    try:
        MetricsLogger(telemetry).end_cycle(0.02)
        assert _cycle_counts(reader.get_metrics_data()) == [1]
    finally:
        telemetry.shutdown()


def test_the_fallback_still_serves_a_reader_that_does_not_flush(plain: tuple[InMemoryMetricReader, Telemetry]) -> None:
    reader, telemetry = plain
    MetricsLogger(telemetry).end_cycle(0.02)
    assert _cycle_counts(reader.get_metrics_data()) == [1]


class _Queue:
    def __init__(self, outcome: int | Exception) -> None:
        self.outcome = outcome
        self.calls = 0

    def flush(self) -> int:
        self.calls += 1
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def test_a_failing_queue_never_breaks_the_collection(caplog: pytest.LogCaptureFixture) -> None:
    broken, healthy = _Queue(RuntimeError("boom")), _Queue(3)
    register_flush(broken)
    register_flush(healthy)
    previous = set_internal_errors_raise(False)
    try:
        with caplog.at_level(logging.WARNING, logger="otel_breakout"):
            assert flush_histograms() >= 3
    finally:
        set_internal_errors_raise(previous)
        broken.outcome = 0
    assert healthy.calls == 1
    assert "flushing histograms before a collection" in caplog.text and "boom" in caplog.text


def test_queues_are_held_weakly_and_flushed_in_creation_order() -> None:
    order: list[str] = []

    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

        def flush(self) -> int:
            order.append(self.name)
            return 0

    queues: Sequence[Named] = [Named("first"), Named("second"), Named("third")]
    for queue in queues:
        register_flush(queue)
    flush_histograms()
    assert order == ["first", "second", "third"]
    order.clear()
    queues = [queues[0], queues[2]]  # "second" is garbage now
    flush_histograms()
    assert order == ["first", "third"]
