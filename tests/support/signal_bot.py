"""A child process that records from a signal handler while its main loop records too (the deadlock tests).

``python -m tests.support.signal_bot CASE SECONDS INTERVAL`` arms ``SIGALRM`` every ``INTERVAL`` seconds;
the handler and the main loop both exercise ``CASE`` for ``SECONDS``, then the child prints what was
counted as JSON. A deadlock shows as a child that never prints: the parent's timeout fails the test.

Cases: ``histogram`` (``MetricsLogger.record`` of the cycle duration and a PnL, with no reader collecting,
so the histogram queue fills and values go straight to the SDK), ``counter`` (a bound counter folded by its
reader), ``spans`` (failing ``record_filter`` calls inside a span, so span events are added), ``prometheus``
(``Telemetry.prometheus_text()`` in both).
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import time
from typing import Any

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_breakout import DiagnosticsCollector, Settings, Telemetry
from otel_breakout.metrics import MetricsLogger


def main(argv: list[str]) -> int:
    case, seconds, interval = argv[0], float(argv[1]), float(argv[2])
    spans = InMemorySpanExporter()
    telemetry = Telemetry.create(Settings.from_env({}), span_processors=[SimpleSpanProcessor(spans)])
    metrics = MetricsLogger(telemetry)
    counter = metrics.counter("breakout.signals", strategy="breakout")
    directory = tempfile.mkdtemp(prefix="signal-bot-")
    diagnostics = DiagnosticsCollector(telemetry=telemetry, output_dir=directory, sinks=["jsonl", "spans"])
    tracer = telemetry.get_tracer()
    handled = [0]
    totals: list[float] = []

    def work(where: str, n: int) -> None:
        if case == "histogram":
            metrics.record("engine_cycle_time", 0.001)
            metrics.record("breakout.trade.pnl", 1.5 if n % 2 else -1.5, strategy="breakout")
        elif case == "counter":
            counter.add()
            if where == "handler" or n % 64 == 0:
                totals.append(counter.total)
        elif case == "spans":
            diagnostics.record_filter("liquidity", f"S{n % 50}", "min_volume", 0.95, 1.0, False, direction="min")
        elif case == "prometheus":
            metrics.record("engine_cycle_time", 0.001)
            telemetry.prometheus_text()

    def handler(signum: int, frame: Any) -> None:
        handled[0] += 1
        work("handler", handled[0])

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, interval, interval)
    loops = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if case == "spans":
            with tracer.start_as_current_span("scan"):
                for _ in range(50):
                    loops += 1
                    work("main", loops)
        else:
            loops += 1
            work("main", loops)
    signal.setitimer(signal.ITIMER_REAL, 0)
    diagnostics.close()
    result: dict[str, Any] = {"handled": handled[0], "loops": loops}
    if case in ("histogram", "prometheus"):
        text = telemetry.prometheus_text().decode()
        result["cycles"] = _sample(text, "breakout_engine_cycles_total")
        result["cycle_count"] = _sample(text, "breakout_engine_cycle_duration_seconds_count")
        result["pnl_count"] = sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("breakout_trade_pnl_count")
        )
    if case == "counter":
        result["total"] = counter.total
        result["reads"] = len(totals)
    if case == "spans":
        result["span_events"] = sum(len(span.events) for span in spans.get_finished_spans())
        result["journal_events"] = diagnostics.snapshot()["event_count"]
    print(json.dumps(result))
    telemetry.shutdown()
    return 0


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
