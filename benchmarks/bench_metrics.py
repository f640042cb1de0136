"""Hot-path cost of MetricsLogger against prometheus_client and the raw OTel SDK, and the monitor's overhead.

Each pair runs interleaved in this process. The OTel baselines use the same attributes as ours; the
prometheus_client baselines do what a bot written against it would do per measurement:
``labels(...).inc()``. Histograms: ours queues on the bot's thread and replays into the SDK at collection,
so there is a row for the bot's thread and one for the total including the replay.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge as PromGauge
from prometheus_client import Histogram as PromHistogram

from benchmarks._harness import Row, compare
from otel_breakout import LATENCY_BUCKETS_SECONDS, Settings, Telemetry
from otel_breakout.metrics import FlushBeforeCollect, MetricsLogger, ResourceMonitor, take_memory_snapshot


class _Reader(FlushBeforeCollect, InMemoryMetricReader):
    """Flushes queued histogram values before each collection, as every reader otel-breakout builds does."""


def run(quick: bool) -> Iterator[Row]:
    loops = 2_000 if quick else 20_000
    repeats = 3 if quick else 9
    reader = _Reader()
    telemetry = Telemetry.create(Settings.from_env({"OTEL_METRICS_EXPORTER": "none"}), metric_readers=[reader])
    logger = MetricsLogger(telemetry)
    meter = telemetry.get_meter("bench.raw")
    registry = CollectorRegistry()
    attributes = {"strategy": "momentum", "outcome": "win"}

    # --- counters ---------------------------------------------------------------------------------
    prom_counter = PromCounter("trades_closed", "x", ["strategy", "outcome"], registry=registry)
    otel_counter = meter.create_counter("raw.trades.closed")
    bound = logger.counter("breakout.trades.closed", **attributes)

    def ours_bound() -> None:
        add = bound.add
        for _ in range(loops):
            add()

    def ours_record() -> None:
        record = logger.record
        for _ in range(loops):
            record("breakout.trades.closed", 1, strategy="momentum", outcome="win")

    def prom_inc() -> None:
        for _ in range(loops):
            prom_counter.labels("momentum", "win").inc()

    def otel_add() -> None:
        add = otel_counter.add
        for _ in range(loops):
            add(1, attributes)

    a, b = compare(ours_record, prom_inc, repeats=repeats)
    yield Row("counter: record(name, **attrs) vs prometheus_client labels().inc()", a / loops, b / loops, "s",
              budget="<= 1x")  # fmt: skip
    a, b = compare(ours_bound, prom_inc, repeats=repeats)
    yield Row("counter: bound add() vs prometheus_client labels().inc()", a / loops, b / loops, "s", budget="<= 1x")
    a, b = compare(ours_bound, otel_add, repeats=repeats)
    yield Row("counter: bound add() vs OTel SDK Counter.add(1, attrs)", a / loops, b / loops, "s", budget="<= 1x")

    # --- gauges -----------------------------------------------------------------------------------
    prom_gauge = PromGauge("equity", "x", ["account"], registry=registry)
    otel_gauge = meter.create_gauge("raw.equity")
    equity = logger.gauge("breakout.equity")
    account = {"account": "main"}

    def ours_gauge() -> None:
        set_ = equity.set
        for i in range(loops):
            set_(1000.0 + i)

    def prom_set() -> None:
        for i in range(loops):
            prom_gauge.labels("main").set(1000.0 + i)

    def otel_set() -> None:
        set_ = otel_gauge.set
        for i in range(loops):
            set_(1000.0 + i, account)

    a, b = compare(ours_gauge, prom_set, repeats=repeats)
    yield Row("gauge: bound set() vs prometheus_client labels().set()", a / loops, b / loops, "s", budget="<= 1x")
    a, b = compare(ours_gauge, otel_set, repeats=repeats)
    yield Row("gauge: bound set() vs OTel SDK Gauge.set(v, attrs)", a / loops, b / loops, "s", budget="<= 1x")

    # --- histograms -------------------------------------------------------------------------------
    prom_histogram = PromHistogram("cycle_seconds", "x", ["engine"], buckets=LATENCY_BUCKETS_SECONDS,
                                   registry=registry)  # fmt: skip
    otel_histogram = meter.create_histogram(
        "raw.cycle.duration", unit="s", explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_SECONDS
    )
    cycle = logger.histogram("breakout.engine.cycle.duration")
    engine = {"engine": "main"}
    # Small batches, collected in between, as a bot would see them (and never past the queue bound).
    batch = 1000

    def ours_total() -> None:
        record = cycle.record
        for start in range(0, loops, batch):
            for i in range(start, start + batch):
                record(0.001 * (i % 50))
            reader.collect()  # the replay into the SDK happens here

    def prom_observe() -> None:
        for i in range(loops):
            prom_histogram.labels("main").observe(0.001 * (i % 50))

    def otel_record() -> None:
        record = otel_histogram.record
        for i in range(loops):
            record(0.001 * (i % 50), engine)

    hot = _hot_path_seconds(cycle.record, reader, loops, batch, repeats)
    _, b = compare(ours_total, prom_observe, repeats=repeats)
    yield Row("histogram: bound record(), bot's thread vs prometheus_client observe()", hot / loops, b / loops,
              "s", budget="<= 1x")  # fmt: skip
    a, c = compare(ours_total, otel_record, repeats=repeats)
    yield Row("histogram: bound record(), bot's thread vs OTel SDK Histogram.record()", hot / loops, c / loops,
              "s", budget="<= 1x")  # fmt: skip
    yield Row("histogram: record() + replay at collection (total CPU) vs OTel SDK", a / loops, c / loops, "s",
              budget="<= 1.5x")  # fmt: skip

    # --- the resource monitor ---------------------------------------------------------------------
    monitor = ResourceMonitor(telemetry)
    samples = 20 if quick else 200
    monitor.run_once()
    start = time.thread_time()
    for _ in range(samples):
        monitor.run_once()
    per_sample = (time.thread_time() - start) / samples
    # At a 1 s interval the loop spends per_sample CPU seconds every second: that fraction of one core.
    yield Row("ResourceMonitor at a 1 s interval: CPU, % of one core", 100 * per_sample, None, "%", budget="< 0.5 %")

    # --- memory snapshot ----------------------------------------------------------------------------
    # One-element lists: always tracked by the gc (small dicts of atoms are not, and would not count).
    ballast = [[i] for i in range(100_000 if quick else 1_000_000)]
    started = time.perf_counter()
    take_memory_snapshot(top=25)
    took = time.perf_counter() - started
    del ballast
    yield Row("take_memory_snapshot(), +1M objects, tracemalloc off", took, None, "s", budget="< 5 s (time budget)")
    telemetry.shutdown()


def _hot_path_seconds(
    record: Callable[[float], None], reader: InMemoryMetricReader, loops: int, batch: int, repeats: int
) -> float:
    """Median time of the bot's side only: the records, not the collections between batches."""
    samples = []
    for _ in range(repeats):
        gc.collect()
        spent = 0.0
        for start in range(0, loops, batch):
            began = time.perf_counter()
            for i in range(start, start + batch):
                record(0.001 * (i % 50))
            spent += time.perf_counter() - began
            reader.collect()
        samples.append(spent)
    return statistics.median(samples)
