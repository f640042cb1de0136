"""The demo engine with 500 symbols, fully instrumented, against the same engine with telemetry off.

Fully instrumented: spans for every cycle and stage (batched over OTLP to a running ``rotel-agent``),
every filter and condition through the ``DiagnosticsCollector`` into all four sinks (JSONL journal, OTel
log records over OTLP, span events, counters) and every metric through ``MetricsLogger`` with the pull
reader. The baseline runs the identical market, thresholds and trading work with ``OTEL_SDK_DISABLED``
(no-op providers, a disabled collector, a logger on a no-op meter).

Both engines are paced as the demo paces itself (a cycle every 250 ms, its default), so the collector's
background writer does its work between cycles as it does in a real bot; the row compares the median
wall time of a cycle, which is what delays a trading decision. Blocks of cycles alternate between the
two engines, with a pause between blocks, so machine noise hits both sides.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks._harness import Row
from benchmarks._rotel import rotel_endpoint
from otel_breakout import Settings, Telemetry
from otel_breakout.demo._config import DemoConfig
from otel_breakout.demo._engine import Engine
from otel_breakout.demo._market import Market, MarketProfile
from otel_breakout.diagnostics import DiagnosticsCollector
from otel_breakout.metrics import MetricsLogger

_SYMBOLS = 500
_INTERVAL_S = 0.25  # the demo's default pace: 4 cycles per second


def _engine(telemetry: Telemetry, workdir: Path, name: str) -> tuple[Engine, DiagnosticsCollector]:
    market = Market(_SYMBOLS, 7, MarketProfile())
    market.warm_up()
    collector = DiagnosticsCollector(
        session_id=name, output_dir=workdir / name, telemetry=telemetry, flush_interval=1.0
    )  # as the demo: it flushes in its idle time
    engine = Engine(DemoConfig(), market, tracer=telemetry.get_tracer("bench"), collector=collector,
                    metrics=MetricsLogger(telemetry))  # fmt: skip
    return engine, collector


def _paced(
    engine: Engine, cycles: int, collector: DiagnosticsCollector | None = None, telemetry: Telemetry | None = None
) -> list[float]:
    durations = []
    next_at = time.monotonic()
    for _ in range(cycles):
        durations.append(engine.run_cycle().duration_s)
        next_at += _INTERVAL_S
        if collector is not None:
            collector.flush(timeout=max(0.0, next_at - time.monotonic()))
        if telemetry is not None:
            telemetry.export_pending(int(max(0.0, next_at - time.monotonic()) * 1000))
        time.sleep(max(0.0, next_at - time.monotonic()))
    return durations


def run(quick: bool) -> Iterator[Row]:
    blocks, per_block = (2, 8) if quick else (10, 20)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with rotel_endpoint(workdir) as endpoint:
            on = Telemetry.create(Settings.from_env({
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_METRIC_EXPORT_INTERVAL": "5000",
                "OTEL_BLRP_MAX_QUEUE_SIZE": "65536",
            }))  # fmt: skip
            off = Telemetry.create(Settings.from_env({"OTEL_SDK_DISABLED": "true"}))
            instrumented, on_collector = _engine(on, workdir, "on")
            baseline, off_collector = _engine(off, workdir, "off")
            ours: list[float] = []
            theirs: list[float] = []
            try:
                for block in range(blocks):
                    # Alternate which side goes first so neither always follows the other's pause.
                    order = ((instrumented, ours), (baseline, theirs))
                    for engine, samples in order if block % 2 == 0 else order[::-1]:
                        samples.extend(
                            _paced(
                                engine,
                                per_block,
                                on_collector if engine is instrumented else off_collector,
                                on if engine is instrumented else off,
                            )
                        )
                        time.sleep(0.5)
            finally:
                on_collector.close()
                off_collector.close()
                on.shutdown()
                off.shutdown()
            events = instrumented.totals.evaluations
    yield Row(
        f"demo cycle, {_SYMBOLS} symbols, fully instrumented vs telemetry off (p50; {events // len(ours)} "
        "diagnostic events per cycle)",
        statistics.median(ours),
        statistics.median(theirs),
        "s",
        budget="<= 1.10x",
    )
