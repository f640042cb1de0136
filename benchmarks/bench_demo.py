"""The demo engine with 500 symbols, fully instrumented, against the same engine with less telemetry.

Fully instrumented: spans for every cycle and stage (batched over OTLP to a running ``rotel-agent``),
every filter and condition through the ``DiagnosticsCollector`` into all four sinks (JSONL journal, OTel
log records over OTLP, span events, counters) and every metric through ``MetricsLogger`` with the pull
reader and the OTLP push. Two baselines run the identical market, thresholds and trading work:

- the issue's: diagnostics and metrics disabled (a disabled collector, a ``MetricsLogger`` on a no-op
  meter), tracing as before: the cost of what this package adds to a traced bot (budget 1.10x);
- telemetry off entirely (``OTEL_SDK_DISABLED``): the spans' cost included, for information.

All engines are paced as the demo paces itself (a cycle every 250 ms, its default), so the collector's
background writer and the exporters do their work between cycles as in a real bot; the rows compare the
median wall time of a cycle, which is what delays a trading decision. Blocks of cycles rotate between the
engines, with a pause between blocks, so machine noise hits every side.
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


def _engine(
    tracing: Telemetry, diagnostics: Telemetry | None, metrics: Telemetry, workdir: Path, name: str
) -> tuple[Engine, DiagnosticsCollector]:
    """An engine; ``diagnostics=None`` is a disabled collector."""
    market = Market(_SYMBOLS, 7, MarketProfile())
    market.warm_up()
    collector = DiagnosticsCollector(
        enabled=diagnostics is not None,
        session_id=name,
        output_dir=workdir / name,
        telemetry=diagnostics or tracing,
        flush_interval=1.0,
    )  # as the demo: it flushes in its idle time
    engine = Engine(DemoConfig(), market, tracer=tracing.get_tracer("bench"), collector=collector,
                    metrics=MetricsLogger(metrics))  # fmt: skip
    return engine, collector


def _paced(engine: Engine, cycles: int, collector: DiagnosticsCollector, telemetry: Telemetry) -> list[float]:
    durations = []
    next_at = time.monotonic()
    for _ in range(cycles):
        durations.append(engine.run_cycle().duration_s)
        next_at += _INTERVAL_S
        collector.flush(timeout=max(0.0, next_at - time.monotonic()))
        telemetry.export_pending(int(max(0.0, next_at - time.monotonic()) * 1000))
        time.sleep(max(0.0, next_at - time.monotonic()))
    return durations


def run(quick: bool) -> Iterator[Row]:
    blocks, per_block = (3, 8) if quick else (12, 20)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with rotel_endpoint(workdir) as endpoint:
            otlp = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_METRIC_EXPORT_INTERVAL": "5000"}
            on = Telemetry.create(Settings.from_env({**otlp, "OTEL_BLRP_MAX_QUEUE_SIZE": "65536"}))
            traced = Telemetry.create(
                Settings.from_env({**otlp, "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"})
            )
            off = [Telemetry.create(Settings.from_env({"OTEL_SDK_DISABLED": "true"})) for _ in range(2)]
            engines = {
                "on": (*_engine(on, on, on, workdir, "on"), on),
                "traced": (*_engine(traced, None, off[0], workdir, "traced"), traced),
                "off": (*_engine(off[1], None, off[1], workdir, "off"), off[1]),
            }
            samples: dict[str, list[float]] = {name: [] for name in engines}
            order = list(engines)
            try:
                for block in range(blocks):
                    # Rotate which side goes first so none always follows another's pause.
                    for name in order[block % 3 :] + order[: block % 3]:
                        engine, collector, telemetry = engines[name]
                        samples[name].extend(_paced(engine, per_block, collector, telemetry))
                        time.sleep(0.5)
            finally:
                for _, collector, _ in engines.values():
                    collector.close()
                for telemetry in (on, traced, *off):
                    telemetry.shutdown()
            events = engines["on"][0].totals.evaluations // len(samples["on"])
    ours = statistics.median(samples["on"])
    yield Row(
        f"demo cycle, {_SYMBOLS} symbols, fully instrumented vs diagnostics and metrics off, traced alike "
        f"(p50; {events} diagnostic events per cycle)",
        ours,
        statistics.median(samples["traced"]),
        "s",
        budget="<= 1.10x",
    )
    yield Row(
        f"demo cycle, {_SYMBOLS} symbols, fully instrumented vs telemetry off (p50, spans included)",
        ours,
        statistics.median(samples["off"]),
        "s",
        budget="- (for information)",
    )
