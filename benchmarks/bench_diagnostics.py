"""The diagnostics collector against the naive composition a developer would write with the OTel SDK.

Both sides record the same workload with every sink on, in one process, against one running
``rotel-agent`` (a real OTLP collector, started here):

- the workload: engine cycles of 500 symbols x 4 filters = 2,000 ``record_filter`` evaluations, a quarter of
  them failing (a fifth of those near their threshold), inside one recording span; after each cycle the bot idles
  (waiting on the exchange) for at least 50 ms and until the background work of the cycle is done, so
  neither side drops anything and the next cycle starts from a drained pipeline;
- ours: ``DiagnosticsCollector.record_filter`` (JSONL journal, OTLP log records for failures, bounded span
  events, ``breakout.diag.*`` counters) on a ``Telemetry`` with the log processor ``configure()`` builds for an
  OTLP exporter (``LogBatchProcessor``) and our resource;
- naive, per event: ``span.add_event``, stdlib logging through the OTel ``LoggingHandler`` (failures at
  INFO, passes at DEBUG, which is off: the same records at the same levels as ours, with the same
  attributes), ``counter.add(1, attributes)`` (plus the reason counter on failures), and a JSONL line with
  ``open`` + ``flock`` + ``json.dumps``, as the seed's collector did; on providers of its own, built from the
  stock SDK as its documentation shows (``LoggerProvider`` + ``BatchLogRecordProcessor``, ``TracerProvider`` +
  ``BatchSpanProcessor``, ``MeterProvider``), with a stock ``Resource`` of the same attributes as ours. It
  shares nothing of ours: until issue 13 it ran on our ``Telemetry``, so anything we made cheaper there (the
  resource's hash) made the baseline cheaper too, and the ratio hid it.

Measured: the wall time of the recording loop per event (what the bot's thread pays), and the process CPU
time per event from the first call until every log record has been exported (final flush included). A run
only counts when both sides exported exactly the expected log records and ours dropped nothing, so neither
side can look cheap by losing data. Then resident memory over 1M events, and the cost of a disabled call.
"""

from __future__ import annotations

import fcntl
import gc
import json
import logging
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.metrics import Meter
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from benchmarks._harness import Row
from benchmarks._rotel import rotel_endpoint as _rotel
from otel_breakout import DiagnosticsCollector, Settings, Telemetry
from otel_breakout._log_batches import LogBatchProcessor
from otel_breakout.diagnostics import is_near_miss

_SYMBOLS = 500
_FILTERS = (("min_volume", 1_000_000.0), ("min_atr_ratio", 0.02), ("min_range_expansion", 1.5), ("min_oi", 5e6))
_PAUSE_S = 0.05
_BLRP_QUEUE = 1 << 20  # large enough that the SDK never drops a log record on either side


# --- the OTLP peer ------------------------------------------------------------------------------------


class _CountingExporter(LogRecordExporter):
    """The OTLP exporter, counting what it was given, so each side's exported records can be checked."""

    def __init__(self, inner: OTLPLogExporter) -> None:
        self.inner = inner
        self.exported = 0

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.exported += len(batch)
        return self.inner.export(batch)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


# --- the workload -------------------------------------------------------------------------------------


def _workload() -> list[tuple[str, str, float, float, bool]]:
    """One cycle: (symbol, filter, value, threshold, passed); a quarter fail, a fifth of those near misses."""
    rng = random.Random(7)
    cycle = []
    for i in range(_SYMBOLS):
        for name, threshold in _FILTERS:
            value = threshold * rng.uniform(0.5, 2.5)  # fails below 1.0x: a quarter of the time
            cycle.append((f"SYM{i:03d}USDT", name, value, threshold, value >= threshold))
    return cycle


class _Naive:
    """What a developer writes directly with the SDK (see the module docstring)."""

    def __init__(self, logger_provider: LoggerProvider, meter: Meter, path: Path, session_id: str) -> None:
        self.path = path
        self.session_id = session_id
        self.log = logging.getLogger("naive.diagnostics")
        self.log.propagate = False
        self.log.setLevel(logging.INFO)
        self.handler = LoggingHandler(level=logging.INFO, logger_provider=logger_provider)
        self.log.addHandler(self.handler)
        self.evaluations = meter.create_counter("naive.diag.evaluations")
        self.reasons = meter.create_counter("naive.diag.reasons")

    def close(self) -> None:
        self.log.removeHandler(self.handler)

    def record_filter(
        self, span: Any, stage: str, symbol: str, name: str, value: float, threshold: float, passed: bool
    ) -> None:
        ctx = span.get_span_context()
        reason = None if passed else f"filter:{name}"
        near = is_near_miss(value, threshold, passed)
        # The same attributes our records carry, so both sides export the same information.
        attributes: dict[str, Any] = {"breakout.diag.component": "scanner", "breakout.diag.stage": stage}
        attributes["breakout.diag.symbol"] = symbol
        if reason is not None:
            attributes["breakout.diag.reason"] = reason
        else:
            attributes["breakout.diag.passed"] = passed
        if near:
            attributes["breakout.diag.near_miss"] = True
        attributes["breakout.diag.payload.filter"] = name
        attributes["breakout.diag.payload.value"] = value
        attributes["breakout.diag.payload.threshold"] = threshold
        attributes["breakout.diag.payload.direction"] = "min"
        span.add_event("breakout.diag.evaluation", attributes)
        if passed:
            self.log.debug("%s passed %s", symbol, name, extra=attributes)
        else:
            self.log.info("%s failed %s", symbol, reason, extra=attributes)
            self.reasons.add(1, {"reason": reason})
        self.evaluations.add(1, {"component": "scanner", "stage": stage, "check": name, "outcome": str(passed)})
        line = {
            "v": 1,
            "ts": time.time(),
            "session_id": self.session_id,
            "component": "scanner",
            "stage": stage,
            "symbol": symbol,
            "passed": passed,
            "reason": reason,
            "near_miss": near,
            "trace_id": format(ctx.trace_id, "032x"),
            "span_id": format(ctx.span_id, "016x"),
            "payload": {"filter": name, "value": value, "threshold": threshold, "direction": "min"},
        }
        with open(self.path, "a", encoding="utf-8") as journal:
            fcntl.flock(journal, fcntl.LOCK_EX)
            journal.write(json.dumps(line, default=str) + "\n")


class _Emitted(LogRecordProcessor):
    """Counts the log records emitted, so the idle time can wait for the exporter to catch up."""

    def __init__(self) -> None:
        self.count = 0

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self.count += 1

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class _Side:
    """One side's OTLP log and span processors (each side exports through its own), and the records they saw."""

    def __init__(self, endpoint: str, batch: type[BatchLogRecordProcessor]) -> None:
        self.log_exporter = _CountingExporter(OTLPLogExporter(endpoint=endpoint, insecure=True))
        self.logs = batch(self.log_exporter, max_queue_size=_BLRP_QUEUE)
        self.emitted = _Emitted()
        self.log_processors: list[LogRecordProcessor] = [self.emitted, self.logs]
        self.spans = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True))


class _Bench:
    def __init__(self, endpoint: str, workdir: Path) -> None:
        self.workdir = workdir
        self.cycle = _workload()
        self.failures_per_cycle = sum(1 for *_, passed in self.cycle if not passed)
        # Ours: the processors configure() builds for OTLP logs and traces; metrics go to the default pull
        # reader (nothing collects it during the run).
        self.ours = _Side(endpoint, LogBatchProcessor)
        self.telemetry = Telemetry.create(
            Settings.from_env({}), span_processors=[self.ours.spans], log_processors=self.ours.log_processors
        )
        # Naive: stock providers of its own, with a stock Resource of the same attributes.
        resource = Resource(self.telemetry.resource.attributes)
        self.naive = _Side(endpoint, BatchLogRecordProcessor)
        self.naive_logs = LoggerProvider(resource=resource, shutdown_on_exit=False)
        for processor in self.naive.log_processors:
            self.naive_logs.add_log_record_processor(processor)
        self.naive_traces = TracerProvider(resource=resource, shutdown_on_exit=False)
        self.naive_traces.add_span_processor(self.naive.spans)
        self.naive_metrics = MeterProvider(
            metric_readers=[InMemoryMetricReader()], resource=resource, shutdown_on_exit=False
        )

    def shutdown(self) -> None:
        self.telemetry.shutdown()
        self.naive_logs.shutdown()
        self.naive_traces.shutdown()
        self.naive_metrics.shutdown()

    def _idle(self, side: _Side, collector: DiagnosticsCollector | None) -> None:
        """The rest of the bot's cycle: at least 50 ms, and until the cycle's background work is done.

        Waiting costs no CPU: a blocking ``flush()`` for ours, then a cheap poll of two counters for both.
        """
        time.sleep(_PAUSE_S)
        if collector is not None:
            collector.flush()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and side.emitted.count - side.log_exporter.exported >= 512:
            time.sleep(0.01)

    def _settle(self, side: _Side) -> None:
        side.logs.force_flush()
        side.spans.force_flush()

    def _check_exported(self, side: _Side, before: int, expected: int, name: str) -> None:
        exported = side.log_exporter.exported - before
        if exported != expected:
            raise RuntimeError(f"{name}: {exported} log records exported, expected {expected}; the figures are void")

    def run_ours(self, cycles: int, rss: list[float] | None = None) -> tuple[float, float]:
        directory = self.workdir / "ours"
        before = self.ours.log_exporter.exported
        tracer = self.telemetry.get_tracer("bench")
        gc.collect()
        caller = 0.0
        cpu = time.process_time()
        collector = DiagnosticsCollector(session_id="bench", output_dir=directory, telemetry=self.telemetry)
        with tracer.start_as_current_span("scan"):
            for n in range(cycles):
                start = time.perf_counter()
                for symbol, name, value, threshold, passed in self.cycle:
                    collector.record_filter("universe", symbol, name, value, threshold, passed, direction="min")
                caller += time.perf_counter() - start
                self._idle(self.ours, collector)
                if rss is not None and (n + 1) % 50 == 0:
                    rss.append(psutil.Process().memory_info().rss / 2**20)
        collector.close()
        self._settle(self.ours)
        cpu = time.process_time() - cpu
        dropped = collector.snapshot()["dropped"]
        if {k: v for k, v in dropped.items() if not k.startswith("span_events")}:
            raise RuntimeError(f"ours dropped events: {dropped}; the figures are void")
        self._check_exported(self.ours, before, cycles * self.failures_per_cycle, "ours")
        shutil.rmtree(directory)
        return caller, cpu

    def run_naive(self, cycles: int) -> tuple[float, float]:
        directory = self.workdir / "naive"
        directory.mkdir()
        before = self.naive.log_exporter.exported
        meter = self.naive_metrics.get_meter("naive")
        naive = _Naive(self.naive_logs, meter, directory / "diag_naive.jsonl", "bench")
        tracer = self.naive_traces.get_tracer("bench")
        gc.collect()
        caller = 0.0
        cpu = time.process_time()
        with tracer.start_as_current_span("scan") as span:
            for _ in range(cycles):
                start = time.perf_counter()
                for symbol, name, value, threshold, passed in self.cycle:
                    naive.record_filter(span, "universe", symbol, name, value, threshold, passed)
                caller += time.perf_counter() - start
                self._idle(self.naive, None)
        self._settle(self.naive)
        cpu = time.process_time() - cpu
        naive.close()
        self._check_exported(self.naive, before, cycles * self.failures_per_cycle, "naive")
        shutil.rmtree(directory)
        return caller, cpu


def _disabled_call_cost(loops: int) -> tuple[float, float]:
    """A disabled collector's ``record_filter`` against a call to an empty method with the same arguments."""

    class Empty:
        def record_filter(self, *args: Any, **kwargs: Any) -> None:
            return None

    off = DiagnosticsCollector(enabled=False, settings=Settings.from_env({}))
    empty = Empty()

    def time_it(target: Any) -> float:
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(loops):
                target.record_filter("universe", "BTCUSDT", "min_volume", 1.0, 2.0, False, direction="min")
            samples.append((time.perf_counter() - start) / loops)
        return statistics.median(samples)

    return time_it(off), time_it(empty)


def run(quick: bool) -> Iterator[Row]:
    cycles = 10 if quick else 100  # x 2,000 evaluations
    repeats = 1 if quick else 5
    with tempfile.TemporaryDirectory(prefix="bench-diag-") as tmp:
        workdir = Path(tmp)
        with _rotel(workdir) as endpoint:
            bench = _Bench(endpoint, workdir)
            try:
                ours: list[tuple[float, float]] = []
                naive: list[tuple[float, float]] = []
                for i in range(repeats):
                    if i % 2 == 0:
                        ours.append(bench.run_ours(cycles))
                        naive.append(bench.run_naive(cycles))
                    else:
                        naive.append(bench.run_naive(cycles))
                        ours.append(bench.run_ours(cycles))
                rss: list[float] = []
                bench.run_ours(cycles * 5 if quick else 500, rss=rss)
            finally:
                bench.shutdown()
    events = cycles * len(bench.cycle)
    label = f"{events // 1000}k record_filter, all sinks"
    yield Row(
        f"diagnostics: caller time per event ({label})",
        statistics.median(c for c, _ in ours) / events,
        statistics.median(c for c, _ in naive) / events,
        "s",
        budget="<= 0.1x",
    )
    yield Row(
        f"diagnostics: process CPU per event, final flush included ({label})",
        statistics.median(c for _, c in ours) / events,
        statistics.median(c for _, c in naive) / events,
        "s",
        budget="<= 0.2x",
    )
    # Sampled every 100k events. Resident memory wobbles by a few MiB as queues fill and drain, so the drift
    # compares the mean of the last three samples with the first three.
    total = (cycles * 5 if quick else 500) * len(bench.cycle)
    head, tail = rss[: max(1, len(rss) // 3)], rss[-max(1, len(rss) // 3) :]
    yield Row(
        f"diagnostics: RSS drift over {total // 1000}k events, all sinks (last vs first samples)",
        statistics.mean(tail) - statistics.mean(head),
        None,
        "MiB",
        budget="flat (< 5 MiB)",
    )
    off, empty = _disabled_call_cost(20_000 if quick else 200_000)
    yield Row("diagnostics: record_filter when disabled vs an empty method", off, empty, "s", budget="<= 2x")


if __name__ == "__main__":  # pragma: no cover - a manual run prints the rows
    os.environ.setdefault("PYTHONHASHSEED", "0")
    for row in run(quick=False):
        print(row)
