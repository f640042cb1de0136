"""The simulated breakout engine: one traced cycle per bar through IDLE → SCANNING → SIGNAL_WAIT → MANAGING.

It is a client of the package and uses only the public API: a ``Telemetry`` for its tracer, a
``DiagnosticsCollector`` for every filter and condition it evaluates, and a ``MetricsLogger`` for the
catalogue metrics. With both disabled it does exactly the same trading work, which is what the
benchmark's baseline needs.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from opentelemetry.trace import Tracer

from otel_breakout.demo._config import FILTERS, DemoConfig
from otel_breakout.demo._market import Bar, Market
from otel_breakout.demo._trading import (
    ClosedTrade,
    Indicators,
    PositionManager,
    ScanResult,
    evaluate_momentum,
    evaluate_retest,
    momentum_setup,
    retest_setup,
    scan_symbol,
)
from otel_breakout.diagnostics import DiagnosticsCollector
from otel_breakout.metrics import MetricsLogger

__all__ = ["CycleResult", "Engine", "EngineTotals"]

_logger = logging.getLogger("otel_breakout.demo")
_STAGES = tuple(dict.fromkeys(spec.stage for spec in FILTERS))
_STRATEGIES = (("momentum", evaluate_momentum), ("retest", evaluate_retest))


@dataclass(frozen=True, slots=True)
class CycleResult:
    cycle: int
    candle_ts: float
    duration_s: float
    candidates: int
    signals: tuple[tuple[str, str], ...]
    closed: tuple[ClosedTrade, ...]


@dataclass(slots=True)
class EngineTotals:
    """Running totals the status line, the end-of-run summary and the tests read."""

    cycles: int = 0
    evaluations: int = 0
    signals: Counter[str] = field(default_factory=Counter)
    trades_opened: int = 0
    trades_closed: int = 0
    durations: list[float] = field(default_factory=list)

    def duration_p50(self) -> float:
        window = sorted(self.durations[-500:])
        return window[len(window) // 2] if window else 0.0


class Engine:
    def __init__(
        self,
        config: DemoConfig,
        market: Market,
        *,
        tracer: Tracer,
        collector: DiagnosticsCollector,
        metrics: MetricsLogger,
    ) -> None:
        self.config = config
        self.market = market
        self.positions = PositionManager(config)
        self.totals = EngineTotals()
        self._tracer = tracer
        self._diag = collector
        self._metrics = metrics
        self._leak: list[bytearray] = []
        self._metrics.set_state("IDLE")
        self._metrics.update_equity(self.positions.equity)

    def clear_leak(self) -> int:
        """The cache-clearing callback the resource monitor may call; returns the bytes released."""
        released = sum(len(chunk) for chunk in self._leak)
        self._leak.clear()
        if released:
            _logger.warning("released %.1f MiB of buffers the engine had kept (the leaky scenario)", released / 2**20)
        return released

    def run_cycle(self) -> CycleResult:
        started = time.perf_counter()
        metrics = self._metrics
        with self._tracer.start_as_current_span("engine.cycle") as cycle_span:
            candle_ts = self.market.advance()
            cycle = self.market.cycle
            cycle_span.set_attribute("breakout.cycle", cycle)
            cycle_span.set_attribute("breakout.candle_ts", candle_ts)

            metrics.set_state("SCANNING")
            with self._tracer.start_as_current_span("engine.scan") as scan_span:
                setups, funnel = self._scan(candle_ts)
                scan_span.set_attribute("breakout.setups", len(setups))
                scan_span.set_attribute("breakout.candidates", funnel[-1][1])
            metrics.scan(funnel, scanned=len(self.market.symbols))

            metrics.set_state("SIGNAL_WAIT")
            with self._tracer.start_as_current_span("engine.signals") as signal_span:
                signals = self._signals(setups, candle_ts)
                signal_span.set_attribute("breakout.signals", len(signals))

            metrics.set_state("MANAGING")
            with self._tracer.start_as_current_span("engine.manage"):
                closed = self._manage()
            metrics.set_state("IDLE")
            if self.config.leak_kib_per_cycle:
                self._leak.append(bytearray(self.config.leak_kib_per_cycle * 1024))
            duration = time.perf_counter() - started
            metrics.end_cycle(duration)
        totals = self.totals
        totals.cycles += 1
        totals.durations.append(duration)
        if len(totals.durations) > 5000:
            del totals.durations[:2500]
        return CycleResult(cycle, candle_ts, duration, funnel[-1][1], tuple(signals), tuple(closed))

    def _scan(self, candle_ts: float) -> tuple[list[tuple[Indicators, ScanResult]], list[tuple[str, int]]]:
        """Find the symbols with a setup, and run every filter on each of them.

        A symbol with no setup (price nowhere near a breakout level, no retest under way) is scanned but not
        evaluated: nothing could fire on it, and recording it would bury the real blockers. For a symbol with
        a setup every filter is evaluated and recorded, so the journal says which checks stood between each
        candle and a signal.
        """
        market_returns = list(self.market.market_returns)
        record = self._diag.record_filter
        config = self.config
        setups: list[tuple[Indicators, ScanResult]] = []
        removed = Counter[str]()
        for symbol in self.market.symbols:
            values = Indicators(symbol, market_returns)
            if not (momentum_setup(values) or retest_setup(values, config)):
                continue
            result = scan_symbol(values, config)
            for spec, check in result.checks:
                record(spec.stage, symbol.name, spec.name, check.value, check.threshold, check.passed,
                       direction=check.direction, candle_ts=candle_ts)  # fmt: skip
            self.totals.evaluations += len(result.checks)
            first = result.first_failure()
            if first is not None:
                removed[first.stage] += 1
            setups.append((values, result))
        remaining = len(setups)
        funnel = [("setup", remaining)]
        for stage in _STAGES:
            remaining -= removed[stage]
            funnel.append((stage, remaining))
        return setups, funnel

    def _signals(self, setups: list[tuple[Indicators, ScanResult]], candle_ts: float) -> list[tuple[str, str]]:
        record = self._diag.record_signal_condition
        signals: list[tuple[str, str]] = []
        for values, scan in setups:
            name = values.symbol.name
            for strategy, evaluate in _STRATEGIES:
                checks = evaluate(values, self.config)
                if checks is None:
                    continue
                for check in checks:
                    record(strategy, name, check.name, check.value, check.threshold, check.passed, candle_ts,
                           direction=check.direction)  # fmt: skip
                self.totals.evaluations += len(checks)
                if not scan.passed or not all(check.passed for check in checks):
                    continue
                signals.append((strategy, name))
                self.totals.signals[strategy] += 1
                self._diag.record_signal(strategy, name, {"candle_ts": candle_ts, "close": values.bar.close})
                self._metrics.signal(strategy)
                if self.positions.open(name, strategy, values.bar, values.stop_distance_atr(), self.market.cycle):
                    self.totals.trades_opened += 1
                    self._metrics.trade_opened(strategy)
        return signals

    def _manage(self) -> list[ClosedTrade]:
        bars: dict[str, Bar] = {s.name: s.bars[-1] for s in self.market.symbols if s.name in self.positions.positions}
        closed = self.positions.manage(bars, self.market.cycle)
        for trade in closed:
            self.totals.trades_closed += 1
            self._metrics.trade_closed(trade.strategy, trade.pnl, outcome=trade.outcome)
        self._metrics.update_equity(self.positions.equity)
        self._metrics.set_open_positions(len(self.positions.positions))
        return closed
