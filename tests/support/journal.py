"""Hand-written diagnostics journal lines in the contract's schema, for tests that need exact figures."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from otel_breakout.diagnostics._schema import encode, journal_line

__all__ = ["event", "filter_event", "signal_event", "write_journal_lines"]


def event(
    component: str,
    stage: str,
    symbol: str | None,
    passed: bool | None,
    reason: str | None,
    payload: dict[str, Any],
    *,
    ts: float = 1_755_640_800.0,
    session: str = "S",
    trace_id: str | None = None,
    span_id: str | None = None,
    near_miss: bool = False,
) -> dict[str, Any]:
    return journal_line(ts, session, component, stage, symbol, passed, reason, near_miss, trace_id, span_id, payload)


def filter_event(
    stage: str,
    symbol: str,
    name: str,
    value: float | None,
    threshold: float,
    direction: str | None,
    *,
    trace_id: str | None,
    candle_ts: int | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """What ``record_filter`` writes; passed is computed from the direction (min: value >= threshold).
    ``candle_ts`` goes into the payload as the demo engine passes it through ``extra``."""
    passed = value is not None and (value >= threshold if direction != "max" else value <= threshold)
    payload: dict[str, Any] = {"filter": name, "value": value, "threshold": threshold}
    if direction is not None:
        payload["direction"] = direction
    if candle_ts is not None:
        payload["candle_ts"] = candle_ts
    return event(
        "scanner", stage, symbol, passed, None if passed else f"filter:{name}", payload, trace_id=trace_id, **kwargs
    )


def signal_event(
    strategy: str,
    symbol: str,
    condition: str,
    value: float | None,
    threshold: float,
    direction: str | None,
    candle_ts: int,
    **kwargs: Any,
) -> dict[str, Any]:
    """What ``record_signal_condition`` writes."""
    passed = value is not None and (value >= threshold if direction != "max" else value <= threshold)
    payload: dict[str, Any] = {"strategy": strategy, "condition": condition, "value": value, "threshold": threshold}
    if direction is not None:
        payload["direction"] = direction
    payload["candle_ts"] = candle_ts
    return event(
        "signal",
        strategy,
        symbol,
        passed,
        None if passed else f"signal:{strategy}:{condition}",
        payload,
        **kwargs,
    )


def write_journal_lines(path: Path, lines: Iterable[dict[str, Any] | bytes]) -> Path:
    """Events are encoded as the collector would; bytes are written as they are (bring your own newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for line in lines:
            handle.write(line if isinstance(line, bytes) else encode(line))
    return path


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
