"""Indicators, the staged scanner, the two strategies and the position manager of the simulated bot.

This module knows nothing about telemetry: it computes what a real bot computes and returns plain
results; the engine decides what to record. That keeps the instrumented and the uninstrumented engine
(the benchmark's baseline) identical in the work they do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

from otel_breakout.demo._config import FILTERS, DemoConfig, FilterSpec
from otel_breakout.demo._market import Bar, SymbolState

__all__ = [
    "Check",
    "Indicators",
    "Position",
    "PositionManager",
    "ScanResult",
    "evaluate_momentum",
    "evaluate_retest",
    "momentum_setup",
    "retest_setup",
    "scan_symbol",
]


@dataclass(frozen=True, slots=True)
class Check:
    """One evaluated filter or condition."""

    name: str
    value: float
    threshold: float
    direction: str
    passed: bool


def _check(name: str, value: float, threshold: float, direction: str) -> Check:
    passed = value >= threshold if direction == "min" else value <= threshold
    return Check(name, value, threshold, direction, passed)


class Indicators:
    """Lazily computed indicators for one symbol's latest bar (a filter that fails spares the rest)."""

    __slots__ = ("_atr", "_avg_volume", "_level", "market_returns", "symbol")

    def __init__(self, symbol: SymbolState, market_returns: list[float]) -> None:
        self.symbol = symbol
        self.market_returns = market_returns
        self._avg_volume: float | None = None
        self._atr: float | None = None
        self._level: float | None = None

    @property
    def bar(self) -> Bar:
        return self.symbol.bars[-1]

    def avg_volume(self) -> float:
        if self._avg_volume is None:
            bars = list(self.symbol.bars)[-21:-1]
            self._avg_volume = sum(b.volume for b in bars) / max(len(bars), 1)
        return self._avg_volume

    def trades_per_minute(self) -> float:
        bars = list(self.symbol.bars)[-5:]
        return sum(b.trades_per_minute for b in bars) / len(bars)

    def atr(self) -> float:
        """Average true range over 14 bars, in price units."""
        if self._atr is None:
            self._atr = self._average_true_range(14)
        return self._atr

    def stop_distance_atr(self) -> float:
        """A slower ATR for stops: a squeeze before a breakout makes the 14-bar one too tight to hold."""
        return max(self.atr(), self._average_true_range(48))

    def _average_true_range(self, window: int) -> float:
        bars = list(self.symbol.bars)[-(window + 1) :]
        ranges = [
            max(cur.high - cur.low, abs(cur.high - prev.close), abs(cur.low - prev.close))
            for prev, cur in pairwise(bars)
        ]
        return sum(ranges) / max(len(ranges), 1)

    def atr_pct(self) -> float:
        return self.atr() / self.bar.close * 100

    def spread_bps(self) -> float:
        bars = list(self.symbol.bars)[-3:]
        return sum(b.spread_bps for b in bars) / len(bars)

    def correlation(self) -> float:
        """Pearson correlation of the last 30 returns with the market index."""
        xs = list(self.symbol.returns)[-30:]
        ys = self.market_returns[-len(xs) :]
        n = len(xs)
        if n < 3:
            return 0.0
        mx, my = sum(xs) / n, sum(ys) / n
        sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
        sxx = sum((x - mx) ** 2 for x in xs)
        syy = sum((y - my) ** 2 for y in ys)
        if sxx <= 0 or syy <= 0:
            return 0.0
        return abs(sxy / math.sqrt(sxx * syy))

    def level(self) -> float:
        """The 20-bar high before the current bar: the level a breakout must clear."""
        if self._level is None:
            self._level = max(b.high for b in list(self.symbol.bars)[-21:-1])
        return self._level

    def value_for(self, spec: FilterSpec) -> float:
        if spec.name == "min_volume":
            return self.avg_volume()
        if spec.name == "min_trades_per_minute":
            return self.trades_per_minute()
        if spec.name == "atr_range":
            return self.atr_pct()
        if spec.name == "spread":
            return self.spread_bps()
        if spec.name == "correlation":
            return self.correlation()
        raise KeyError(spec.name)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The filters a symbol went through, in order; ``passed`` when it cleared all of them."""

    checks: tuple[tuple[FilterSpec, Check], ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for _, check in self.checks)

    def first_failure(self) -> FilterSpec | None:
        return next((spec for spec, check in self.checks if not check.passed), None)


def scan_symbol(indicators: Indicators, config: DemoConfig) -> ScanResult:
    """Evaluate every filter, in pipeline order.

    No short-circuit: the journal then holds every filter's verdict for every symbol and candle, which is
    what lets the report say exactly which single threshold stood between a candle and a signal. The
    funnel still counts each symbol at the first filter it failed.
    """
    return ScanResult(
        tuple((spec, _check(spec.name, indicators.value_for(spec), config.threshold(spec), spec.direction))
              for spec in FILTERS)
    )  # fmt: skip


def momentum_setup(indicators: Indicators) -> bool:
    """Price at or near its breakout level: the moment the momentum strategy looks at a symbol at all."""
    return indicators.bar.close >= indicators.level() - 0.5 * indicators.atr()


def retest_setup(indicators: Indicators, config: DemoConfig) -> bool:
    """A recent breakout whose level price has come back to."""
    symbol = indicators.symbol
    level = symbol.breakout_level
    if level is None or not 1 <= symbol.breakout_age <= config.retest_window:
        return False
    bar = indicators.bar
    return bar.low <= level * 1.02 and bar.close >= level * 0.98


def evaluate_momentum(indicators: Indicators, config: DemoConfig) -> tuple[Check, ...] | None:
    """The momentum strategy's conditions, or None when there is no setup."""
    if not momentum_setup(indicators):
        return None
    level = indicators.level()
    bar = indicators.bar
    atr = indicators.atr() or 1e-12
    return (
        _check("price_above_level", (bar.close / level - 1) * 100, config.momentum_breakout_pct, "min"),
        _check("volume_threshold", bar.volume / (indicators.avg_volume() or 1e-12), config.momentum_volume_ratio,
               "min"),
        _check("breakout_confirmation", (bar.close - level) / atr, config.momentum_confirmation_atr, "min"),
    )  # fmt: skip


def evaluate_retest(indicators: Indicators, config: DemoConfig) -> tuple[Check, ...] | None:
    """The retest strategy's conditions, or None when there is no recent breakout being retested."""
    level = indicators.symbol.breakout_level
    if level is None or not retest_setup(indicators, config):
        return None
    bar = indicators.bar
    atr = indicators.atr() or 1e-12
    return (
        _check("level_distance", abs(bar.low - level) / level * 100, config.retest_tolerance_pct, "max"),
        _check("bounce_confirmation", (bar.close - level) / atr, config.retest_bounce_atr, "min"),
        _check("volume_threshold", bar.volume / (indicators.avg_volume() or 1e-12), config.retest_volume_ratio,
               "min"),
    )  # fmt: skip


@dataclass(slots=True)
class Position:
    symbol: str
    strategy: str
    entry: float
    stop: float
    target: float
    quantity: float
    opened_cycle: int


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    symbol: str
    strategy: str
    pnl: float
    outcome: str
    exit_reason: str


@dataclass(slots=True)
class PositionManager:
    """Opens positions on signals, exits on stop, target or time, and keeps equity and drawdown."""

    config: DemoConfig
    realized: float = 0.0
    peak_equity: float = 0.0
    positions: dict[str, Position] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.peak_equity = self.config.initial_equity

    @property
    def equity(self) -> float:
        unrealized = sum((self.marks.get(p.symbol, p.entry) - p.entry) * p.quantity for p in self.positions.values())
        return self.config.initial_equity + self.realized + unrealized

    @property
    def drawdown(self) -> float:
        return max(0.0, 1.0 - self.equity / self.peak_equity) if self.peak_equity > 0 else 0.0

    def can_open(self, symbol: str) -> bool:
        return symbol not in self.positions and len(self.positions) < self.config.max_positions

    def open(self, symbol: str, strategy: str, bar: Bar, atr: float, cycle: int) -> Position | None:
        if not self.can_open(symbol) or atr <= 0:
            return None
        stop = bar.close - self.config.stop_atr * atr
        risk = bar.close - stop
        quantity = self.equity * self.config.risk_per_trade / risk
        position = Position(symbol, strategy, bar.close, stop, bar.close + self.config.target_atr * atr, quantity,
                            cycle)  # fmt: skip
        self.positions[symbol] = position
        self.marks[symbol] = bar.close
        return position

    def manage(self, bars: dict[str, Bar], cycle: int) -> list[ClosedTrade]:
        closed: list[ClosedTrade] = []
        for symbol, position in list(self.positions.items()):
            if position.opened_cycle == cycle:
                continue  # entered at this bar's close; exits start with the next bar
            bar = bars[symbol]
            self.marks[symbol] = bar.close
            if bar.low <= position.stop:
                exit_price, reason = position.stop, "stop"
            elif bar.high >= position.target:
                exit_price, reason = position.target, "target"
            elif cycle - position.opened_cycle >= self.config.max_hold_bars:
                exit_price, reason = bar.close, "time"
            else:
                continue
            pnl = (exit_price - position.entry) * position.quantity
            self.realized += pnl
            del self.positions[symbol]
            self.marks.pop(symbol, None)
            scale = abs(position.entry * position.quantity) * 1e-4
            outcome = "breakeven" if abs(pnl) <= scale else ("win" if pnl > 0 else "loss")
            closed.append(ClosedTrade(symbol, position.strategy, pnl, outcome, reason))
        self.peak_equity = max(self.peak_equity, self.equity)
        return closed
