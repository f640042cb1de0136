"""``otel-breakout demo``: the engine, its API in the same process, a live status line, and the report at the end."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

import orjson

from otel_breakout import configure
from otel_breakout._settings import ApiSettings, DiagnosticsSettings
from otel_breakout._telemetry import STOP_SHUTDOWN_MILLIS
from otel_breakout.api import ApiServer, create_app
from otel_breakout.demo._config import DemoConfig
from otel_breakout.demo._engine import Engine
from otel_breakout.demo._market import Market
from otel_breakout.demo._prices import PriceRecorder
from otel_breakout.demo._scenarios import get_scenario
from otel_breakout.diagnostics import DiagnosticsCollector, rotated_paths
from otel_breakout.metrics import MetricsLogger, ResourceMonitor
from otel_breakout.report import DiagnosticsReportBuilder

__all__ = ["DemoOptions", "DemoRun", "run_demo"]

# The demo binds and writes where the settings do by default (it reads no environment: same command, same run).
_API, _DIAGNOSTICS = ApiSettings(), DiagnosticsSettings()


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration_s: float | None = 60.0
    cycles: int | None = None
    symbols: int = 200
    seed: int = 7
    scenario: str = "default"
    settings: tuple[str, ...] = ()
    config_file: str | None = None
    host: str = _API.host
    port: int = _API.port
    diag_dir: str = _DIAGNOSTICS.output_dir
    report: str = "reports/diag_summary.md"
    """Where the report goes at the end: Markdown, or JSON for a ``.json`` path."""
    speed: float = 4.0
    """Engine cycles per second; 0 runs as fast as the engine can."""
    serve: bool = True
    linger_s: float = 0.0
    """Keep serving the API this long after the engine stops (Ctrl-C ends it early)."""


@dataclass(slots=True)
class DemoRun:
    """What a finished run produced (the CLI prints it; the tests read it)."""

    config: DemoConfig
    cycles: int = 0
    signals: dict[str, int] = field(default_factory=dict)
    trades_opened: int = 0
    trades_closed: int = 0
    equity: float = 0.0
    journal: list[Path] = field(default_factory=list)
    prices: Path | None = None
    """Every symbol's bar of every cycle (CSV), which the report judges thresholds by."""
    report: Path | None = None
    api_url: str | None = None
    cycle_p50_s: float = 0.0
    loop_rate_hz: float = 0.0
    """Cycles per second the loop really achieved (the engine's cycle time hides stalls between cycles)."""
    longest_gap_s: float = 0.0
    """The longest time between the starts of two consecutive cycles."""
    undelivered: dict[str, int] = field(default_factory=dict)
    """Telemetry the OTLP exporters could not deliver, by signal (see ``Telemetry.undelivered()``)."""


class _Pace:
    """What the loop achieves: cycles per second and the longest gap between cycle starts."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last: float | None = None
        self.cycles = 0
        self.longest_gap = 0.0

    def cycle_started(self, now: float) -> None:
        if self.last is not None:
            self.longest_gap = max(self.longest_gap, now - self.last)
        if self.first is None:
            self.first = now
        self.last = now
        self.cycles += 1

    def rate(self) -> float:
        """Cycles per second between the first and the latest cycle starts (0 before two cycles)."""
        if self.first is None or self.last is None or self.last <= self.first:
            return 0.0
        return (self.cycles - 1) / (self.last - self.first)


def build_config(options: DemoOptions) -> DemoConfig:
    """Scenario overrides < TOML file < ``--set`` assignments."""
    scenario = get_scenario(options.scenario)
    config = DemoConfig().with_overrides(scenario.overrides, source=f"scenario {scenario.name}:")
    if options.config_file:
        config = config.with_toml(options.config_file)
    return config.with_settings(options.settings)


class _Status:
    """A live status line on a terminal; periodic plain lines in a pipe."""

    def __init__(self, out: TextIO, every_s: float = 5.0) -> None:
        self._out = out
        self._tty = out.isatty()
        self._every = every_s
        self._last = 0.0

    def update(self, engine: Engine, state: str, pace: _Pace, force: bool = False) -> None:
        now = time.monotonic()
        if not force and not self._tty and now - self._last < self._every:
            return
        if self._tty and not force and now - self._last < 0.2:
            return
        self._last = now
        totals = engine.totals
        signals = sum(totals.signals.values())
        line = (
            f"cycle {totals.cycles:>6}  state {state:<11}  signals {signals:>5}  trades {totals.trades_opened:>4}"
            f"  equity {engine.positions.equity:>12,.2f}  cycle p50 {totals.duration_p50() * 1000:6.1f} ms"
            f"  loop {pace.rate():5.2f}/s"
        )
        if self._tty:
            self._out.write("\r" + line + "\x1b[K")
        else:
            self._out.write(line + "\n")
        self._out.flush()

    def done(self) -> None:
        if self._tty:
            self._out.write("\n")
            self._out.flush()


def _console_warnings() -> logging.Handler | None:
    """Warnings to stderr, as any bot has: without it an exporter failure would only reach the OTel pipeline."""
    root = logging.getLogger()
    if any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) for h in root.handlers):
        return None
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return handler


def run_demo(options: DemoOptions, *, out: TextIO = sys.stdout, stop: threading.Event | None = None) -> DemoRun:
    config = build_config(options)
    console = _console_warnings()
    scenario = get_scenario(options.scenario)
    telemetry = configure()
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    # A paced bot flushes in its idle time (below), so the writer's own timer can be the slowest allowed.
    collector = DiagnosticsCollector(
        session_id=f"{scenario.name}-s{options.seed}-{run_id}",
        output_dir=options.diag_dir,
        telemetry=telemetry,
        flush_interval=1.0,
    )
    metrics = MetricsLogger(telemetry)
    monitor = ResourceMonitor(telemetry)
    market = Market(options.symbols, options.seed, scenario.profile, config.bar_seconds)
    market.warm_up()
    engine = Engine(config, market, tracer=telemetry.get_tracer("otel_breakout.demo"), collector=collector,
                    metrics=metrics)  # fmt: skip
    monitor.register_cache("demo.leaked_buffers", engine.clear_leak)
    run = DemoRun(config)
    prices = PriceRecorder(collector.output_path.with_name(f"prices_{collector.output_path.stem[len('diag_') :]}.csv"))
    run.prices = prices.path
    server: ApiServer | None = None
    pace = _Pace()
    stop = stop or threading.Event()
    try:
        monitor.start()
        if options.serve:
            app = create_app(telemetry, metrics_logger=metrics, resource_monitor=monitor)
            server = ApiServer(app, host=options.host, port=options.port).start()
            run.api_url = server.url
        _print_banner(out, options, collector, run.api_url, prices.path)
        status = _Status(out)
        interval = 1.0 / options.speed if options.speed > 0 else 0.0
        deadline = time.monotonic() + options.duration_s if options.duration_s else None
        next_at = time.monotonic()
        while not stop.is_set():
            if options.cycles is not None and engine.totals.cycles >= options.cycles:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            pace.cycle_started(time.monotonic())
            engine.run_cycle()
            prices.record(market)
            status.update(engine, metrics.state or "IDLE", pace)
            if interval:
                next_at += interval
                # Pace the loop without drifting; a slow cycle is not made up for by skipping sleeps forever.
                next_at = max(next_at, time.monotonic() - interval)
                # Telemetry work in the idle time: CPython runs one thread at a time, so the writer and the
                # exporters would otherwise take their turns in the middle of the next cycle.
                collector.flush(timeout=max(0.0, next_at - time.monotonic()))
                prices.flush()
                telemetry.export_pending(int(max(0.0, next_at - time.monotonic()) * 1000))
                stop.wait(max(0.0, next_at - time.monotonic()))
        status.update(engine, metrics.state or "IDLE", pace, force=True)
        status.done()
        collector.flush()
        if server is not None and options.linger_s > 0 and not stop.is_set():
            out.write(f"engine stopped; the API stays up for {options.linger_s:g} s (Ctrl-C to end now)\n")
            out.flush()
            stop.wait(options.linger_s)
    finally:
        if server is not None:
            server.stop()
        monitor.stop()
        collector.close()
        prices.close()
        run.journal = [p for p in (*rotated_paths(collector.output_path), collector.output_path) if p.exists()]
        totals = engine.totals
        run.cycles = totals.cycles
        run.signals = dict(totals.signals)
        run.trades_opened, run.trades_closed = totals.trades_opened, totals.trades_closed
        run.equity = engine.positions.equity
        run.cycle_p50_s = totals.duration_p50()
        run.loop_rate_hz = pace.rate()
        run.longest_gap_s = pace.longest_gap
        if run.journal:
            report = DiagnosticsReportBuilder([str(p) for p in run.journal], prices=[str(prices.path)]).build()
            path = Path(options.report)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".json":  # the JSON form, as `otel-breakout report --format json` writes it
                path.write_bytes(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
            else:
                path.write_text(report.to_markdown(), encoding="utf-8")
            run.report = path
        if stop.is_set():
            out.write(
                f"stopping: telemetry gets up to {STOP_SHUTDOWN_MILLIS / 1000:g} s to deliver what is pending "
                "(Ctrl-C again to quit now)\n"
            )
            out.flush()
        telemetry.shutdown(timeout_millis=STOP_SHUTDOWN_MILLIS)
        run.undelivered = telemetry.undelivered()
    _print_summary(out, run, options.speed)
    if console is not None:
        logging.getLogger().removeHandler(console)
    return run


def _print_banner(
    out: TextIO, options: DemoOptions, collector: DiagnosticsCollector, api_url: str | None, prices: Path
) -> None:
    lines = [f"otel-breakout demo: scenario {options.scenario!r}, {options.symbols} symbols, seed {options.seed}"]
    if api_url:
        lines += [
            f"  metrics (Prometheus)  {api_url}/api/metrics",
            f"  health                {api_url}/api/metrics/health",
            f"  summary               {api_url}/api/metrics/summary",
        ]
    lines += [
        f"  diagnostics journal   {collector.output_path}",
        f"  candles (prices)      {prices}",
        f"  report (at the end)   {options.report}",
        "  full stack            docker compose up   (Grafana on http://127.0.0.1:3001)",
        "Ctrl-C stops cleanly.",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


def _print_summary(out: TextIO, run: DemoRun, speed: float) -> None:
    signals = ", ".join(f"{k} {v}" for k, v in sorted(run.signals.items())) or "none"
    asked = f" (asked {speed:g})" if speed > 0 else ""
    out.write(
        f"done: {run.cycles} cycles, signals: {signals}, trades opened {run.trades_opened}, closed "
        f"{run.trades_closed}, equity {run.equity:,.2f}, cycle p50 {run.cycle_p50_s * 1000:.1f} ms, loop "
        f"{run.loop_rate_hz:.2f} cycles/s{asked}, longest gap between cycles {run.longest_gap_s * 1000:.0f} ms\n"
    )
    if run.report is not None:
        out.write(f"report: {run.report}\n")
    out.flush()


def install_signal_handlers(stop: threading.Event) -> Callable[[], None]:
    """Ctrl-C and SIGTERM end the run cleanly: the loop finishes its cycle, then everything flushes.

    Returns a function that puts the previous handlers back.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C means now
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
