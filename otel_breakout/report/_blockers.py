"""What blocked signals: per check, the signal candidates it alone stopped; per strategy, how they ended."""

from __future__ import annotations

from typing import Any

from otel_breakout.report._advice import check_label
from otel_breakout.report._model import BlockedReason, StrategySignals
from otel_breakout.report._records import CheckAcc

__all__ = ["blocked_reasons", "strategy_signals"]


def blocked_reasons(checks: dict[tuple[str, str, str], CheckAcc]) -> tuple[BlockedReason, ...]:
    """Every check that failed on a signal candidate, by candidates it alone blocked, then failures, then name."""
    rows = [
        BlockedReason(
            reason=check_label(*key),
            component=key[0],
            stage=key[1],
            name=key[2],
            blocked=acc.signal_blocked,
            with_others=acc.signal_failed - acc.signal_blocked,
            failures=acc.failures,
        )
        for key, acc in checks.items()
        if acc.signal_failed
    ]
    rows.sort(key=lambda r: (-r.blocked, -r.failures, r.reason, r.component, r.stage, r.name))
    return tuple(rows)


def strategy_signals(
    signals: dict[str, list[Any]], checks: dict[tuple[str, str, str], CheckAcc]
) -> tuple[StrategySignals, ...]:
    """One row per strategy, most candidates first; its top blocker ranked as in :func:`blocked_reasons`."""
    rows = []
    for strategy, (candidates, fired, one, several, alone) in signals.items():
        top = None
        if alone:
            key = min(
                alone,
                key=lambda k: (-alone[k], -(checks[k].failures if k in checks else 0), check_label(*k), k),
            )
            top = check_label(*key)
        rows.append(StrategySignals(strategy, candidates, fired, one, several, top))
    rows.sort(key=lambda r: (-r.candidates, r.strategy))
    return tuple(rows)
