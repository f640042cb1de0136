"""``MetricsLogger.summary()``: lifetime totals from the cells, recent statistics from the windows."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from otel_breakout.metrics._window import describe

if TYPE_CHECKING:
    from otel_breakout.metrics._logger import MetricsLogger

__all__ = ["summarize"]


def _by(logger: MetricsLogger, name: str, key: str) -> dict[str, float]:
    """Lifetime totals of a counter, summed over every attribute but ``key`` (symbols fold away)."""
    totals: dict[str, float] = defaultdict(float)
    for attributes, value in logger._totals(name):
        totals[attributes.get(key, "otel.metric.overflow")] += value
    return dict(totals)


def _total(logger: MetricsLogger, name: str) -> float:
    return sum(value for _, value in logger._totals(name))


def _last(logger: MetricsLogger, name: str) -> float | None:
    values = logger._totals(name)
    return values[0][1] if values else None


def _window_values(logger: MetricsLogger, name: str) -> list[float]:
    return [value for _, value, _ in list(logger._instrument(name).window)]


def summarize(logger: MetricsLogger) -> dict[str, Any]:
    closed: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for attributes, value in logger._totals("breakout.trades.closed"):
        closed[attributes.get("strategy", "otel.metric.overflow")][attributes.get("outcome", "unknown")] += value
    pnl = _window_values(logger, "breakout.trade.pnl")
    pnl_stats: dict[str, Any] = describe(pnl)
    pnl_stats["win_rate"] = (sum(1 for v in pnl if v > 0) / len(pnl)) if pnl else None
    funnel = {attributes.get("stage", "otel.metric.overflow"): value
              for attributes, value in logger._totals("breakout.scanner.candidates")}  # fmt: skip
    return {
        "engine": {
            "state": logger.state,
            "cycles": _total(logger, "breakout.engine.cycles"),
            "cycles_since_signal": logger.cycles_since_signal,
            "last_cycle_timestamp": _last(logger, "breakout.engine.last_cycle.timestamp"),
            "last_cycle_age_s": logger.last_cycle_age(),
            "transitions": _total(logger, "breakout.engine.state.transitions"),
            "cycle_duration_s": describe(_window_values(logger, "breakout.engine.cycle.duration")),
        },
        "trading": {
            "signals": _by(logger, "breakout.signals", "strategy"),
            "trades_opened": _by(logger, "breakout.trades.opened", "strategy"),
            "trades_closed": {strategy: dict(outcomes) for strategy, outcomes in closed.items()},
            "pnl": pnl_stats,
            "equity": _last(logger, "breakout.equity"),
            "drawdown": _last(logger, "breakout.drawdown"),
            "open_positions": _last(logger, "breakout.positions.open"),
        },
        "scanner": {
            "symbols_scanned": _total(logger, "breakout.scanner.symbols.scanned"),
            "funnel": funnel,
            "symbols_per_scan": describe(_window_values(logger, "breakout.scanner.symbols.scanned")),
        },
        "dropped": _total(logger, "breakout.metrics.dropped"),
    }
