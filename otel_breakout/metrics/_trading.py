"""Trading bookkeeping behind ``MetricsLogger``'s helpers: the scanner funnel, equity and drawdown, closed trades."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from enum import Enum

from otel_breakout.metrics._bound import BoundCounter, BoundGauge, Reject, as_number

__all__ = ["Equity", "Funnel", "closed_trade", "strategy_attributes"]

FUNNEL = "breakout.scanner.candidates"


def strategy_attributes(strategy: str | Enum, symbol: str | None, **more: object) -> dict[str, object]:
    """The attributes of a per-strategy metric; ``symbol`` only when given (it is opt-in in the catalogue)."""
    attributes: dict[str, object] = {"strategy": strategy, **more}
    if symbol is not None:
        attributes["symbol"] = symbol
    return attributes


def closed_trade(pnl: float, outcome: str | None) -> tuple[float, str]:
    """A closed trade's PnL as a finite float and its outcome (from the PnL's sign unless given).

    Raises for a PnL that is not a finite number (NaN, infinity, an integer beyond float range, text, a
    bool): the caller rejects the trade whole, so a bad value never reads as a breakeven trade or a win.
    """
    value = as_number(pnl)
    if not -math.inf < value < math.inf:
        raise ValueError(f"a trade's PnL must be finite, got {pnl!r}")
    if outcome is None:
        outcome = "win" if value > 0 else "loss" if value < 0 else "breakeven"
    return value, outcome


class Funnel:
    """Candidates left after each filter stage of the last scan; stages it did not reach drop to 0."""

    def __init__(self, bind: Callable[[object], BoundGauge], scanned: BoundCounter, reject: Reject) -> None:
        self._bind = bind
        self._scanned = scanned
        self._reject = reject
        self._stages: dict[object, BoundGauge] = {}

    def scan(self, funnel: Mapping[str, int] | Iterable[tuple[str, int]], scanned: int | None) -> None:
        try:
            stages = list(funnel.items() if isinstance(funnel, Mapping) else funnel)
            if any(len(stage) != 2 for stage in stages):
                raise ValueError("a funnel is (stage, remaining) pairs or a {stage: remaining} mapping")
        except Exception as exc:
            self._reject(FUNNEL, exc)
            return
        self._scanned.add(stages[0][1] if scanned is None and stages else scanned or 0)
        seen: set[object] = set()
        for stage, remaining in stages:
            gauge = self._stages.get(stage)
            if gauge is None:
                try:
                    gauge = self._bind(stage)
                except Exception as exc:
                    self._reject(FUNNEL, exc)
                    continue
                self._stages[stage] = gauge
            gauge.set(remaining)
            seen.add(stage)
        for stage, gauge in list(self._stages.items()):
            if stage not in seen:
                gauge.set(0.0)


class Equity:
    """Equity, and drawdown from the highest equity seen (or a peak restored after a restart)."""

    def __init__(self, equity: BoundGauge, drawdown: BoundGauge, reject: Reject) -> None:
        self._equity = equity
        self._drawdown = drawdown
        self._reject = reject
        self._peak: float | None = None
        # An RLock: an update from a signal handler that interrupted another one must not wait for itself; the
        # section is one max() and one store, which a nested one cannot corrupt.
        self._lock = threading.RLock()

    def update(self, equity: float, peak: float | None) -> None:
        try:
            value = as_number(equity)
            if not -math.inf < value < math.inf:
                raise ValueError(f"equity must be finite, got {equity!r}")
            if peak is not None:
                given = as_number(peak)
                if not -math.inf < given < math.inf:
                    raise ValueError(f"peak must be finite, got {peak!r}")
                peak = given
            with self._lock:
                candidates = [v for v in (self._peak, peak, value) if v is not None]
                self._peak = top = max(candidates)
            self._equity.set(value)
            self._drawdown.set(max(0.0, (top - value) / top) if top > 0 else 0.0)
        except Exception as exc:
            self._reject("breakout.equity", exc)
