"""``MetricsLogger.summary()``: lifetime totals from the instruments' cells, recent statistics from their windows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from otel_breakout.metrics._engine import EngineBook
from otel_breakout.metrics._instruments import Instrument
from otel_breakout.metrics._window import describe

__all__ = ["summarize"]


def _by(instrument: Instrument, key: str) -> dict[str, float]:
    """Lifetime totals of a counter, summed over every attribute but ``key`` (symbols fold away)."""
    totals: dict[str, float] = defaultdict(float)
    for attributes, value in instrument.totals():
        totals[attributes.get(key, "otel.metric.overflow")] += value
    return dict(totals)


def _total(instrument: Instrument) -> float:
    return sum(value for _, value in instrument.totals())


def _last(instrument: Instrument) -> float | None:
    values = instrument.totals()
    return values[0][1] if values else None


def summarize(instruments: Mapping[str, Instrument], engine: EngineBook) -> dict[str, Any]:
    """The summary of a logger's ``instruments`` (by catalogue name) and its ``engine`` books."""
    i = instruments
    closed: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for attributes, value in i["breakout.trades.closed"].totals():
        closed[attributes.get("strategy", "otel.metric.overflow")][attributes.get("outcome", "unknown")] += value
    pnl = i["breakout.trade.pnl"].recent()
    pnl_stats: dict[str, Any] = describe(pnl)
    pnl_stats["win_rate"] = (sum(1 for v in pnl if v > 0) / len(pnl)) if pnl else None
    funnel = {attributes.get("stage", "otel.metric.overflow"): value
              for attributes, value in i["breakout.scanner.candidates"].totals()}  # fmt: skip
    return {
        "engine": {
            "state": engine.state,
            "cycles": _total(i["breakout.engine.cycles"]),
            "cycles_since_signal": engine.cycles_since_signal,
            "last_cycle_timestamp": _last(i["breakout.engine.last_cycle.timestamp"]),
            "last_cycle_age_s": engine.last_cycle_age(),
            "transitions": _total(i["breakout.engine.state.transitions"]),
            "cycle_duration_s": describe(i["breakout.engine.cycle.duration"].recent()),
        },
        "trading": {
            "signals": _by(i["breakout.signals"], "strategy"),
            "trades_opened": _by(i["breakout.trades.opened"], "strategy"),
            "trades_closed": {strategy: dict(outcomes) for strategy, outcomes in closed.items()},
            "pnl": pnl_stats,
            "equity": _last(i["breakout.equity"]),
            "drawdown": _last(i["breakout.drawdown"]),
            "open_positions": _last(i["breakout.positions.open"]),
        },
        "scanner": {
            "symbols_scanned": _total(i["breakout.scanner.symbols.scanned"]),
            "funnel": funnel,
            "symbols_per_scan": describe(i["breakout.scanner.symbols.scanned"].recent()),
        },
        "dropped": _total(i["breakout.metrics.dropped"]),
    }
