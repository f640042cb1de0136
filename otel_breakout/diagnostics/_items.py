"""The general path: each kind of queued item made a clean event (payload built, coerced, scrubbed; outcome settled).

Every item the pipeline's fast path does not take comes here; the clean event goes to the pipeline's ``emit``,
which feeds the sinks. What the fast path writes for a plain filter is what this path writes (a test holds it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otel_breakout.diagnostics._coerce import Sanitizer, coerce_passed
from otel_breakout.diagnostics._rules import is_near_miss, settle_payload

__all__ = ["Emit", "GeneralPath"]

_RESERVED_FILTER = frozenset(("filter", "value", "threshold", "direction"))
_RESERVED_FILTER_CANDLE = _RESERVED_FILTER | {"candle_ts"}
_RESERVED_CONDITION = frozenset(("strategy", "condition", "value", "threshold", "direction", "candle_ts"))
_CLOSE = frozenset(("close",))

# (ts, span, session, component, stage, symbol, payload, reason, passed, check, evaluation, near, signal)
Emit = Callable[[float, Any, Any, str, str, "str | None", dict[str, Any], "str | None", "bool | None", str, bool, bool,
                 bool], None]  # fmt: skip


class GeneralPath:
    """Turns the raw fields the bot passed into one clean event per item and hands it to ``emit``."""

    __slots__ = ("emit", "margin", "sanitizer")

    def __init__(self, sanitizer: Sanitizer, margin: float, emit: Emit) -> None:
        self.sanitizer = sanitizer
        self.margin = margin
        self.emit = emit

    def filter(self, item: tuple[Any, ...]) -> int:
        _, ts, span, session, stage, symbol, name, value, threshold, passed, extra, direction, candle, close = item
        name = self.sanitizer.field(name) or ""
        payload: dict[Any, Any] = {"filter": name, "value": value, "threshold": threshold, "direction": direction}
        reserved = _RESERVED_FILTER_CANDLE if candle is not None else _RESERVED_FILTER
        if candle is not None:
            payload["candle_ts"] = candle
        if close is not None:
            payload["close"] = close
            reserved = reserved | _CLOSE
        if extra:
            _merge(payload, extra, reserved)
        if passed is not True and passed is not False:
            passed = coerce_passed(passed)
        reason = f"filter:{name}" if passed is False else None
        return self._event(ts, span, session, "scanner", stage, symbol, payload, reason, passed, name, True)

    def condition(self, item: tuple[Any, ...]) -> int:
        _, ts, span, session, strategy, symbol, condition, value, threshold, passed, extra, direction, candle, close = (
            item
        )
        strategy = self.sanitizer.field(strategy) or ""
        condition = self.sanitizer.field(condition) or ""
        payload: dict[Any, Any] = {
            "strategy": strategy,
            "condition": condition,
            "value": value,
            "threshold": threshold,
            "direction": direction,
            "candle_ts": candle,
        }
        reserved = _RESERVED_CONDITION
        if close is not None:
            payload["close"] = close
            reserved = reserved | _CLOSE
        if extra:
            _merge(payload, extra, reserved)
        passed = coerce_passed(passed)
        reason = f"signal:{strategy}:{condition}" if passed is False else None
        return self._event(ts, span, session, "signal", strategy, symbol, payload, reason, passed, condition, True)

    def record(self, item: tuple[Any, ...]) -> int:
        _, ts, span, session, component, stage, symbol, payload, reason, passed = item
        payload = payload if payload is not None else {}
        check = payload.get("filter") or payload.get("condition") if type(payload) is dict else None
        passed = coerce_passed(passed)
        field = self.sanitizer.field
        return self._event(
            ts,
            span,
            session,
            field(component) or "",
            stage,
            symbol,
            payload,
            field(reason),
            passed,
            field(check) or "" if type(check) is str else "",
            passed is not None,
        )

    def signal(self, item: tuple[Any, ...]) -> None:
        _, ts, span, session, strategy, symbol, extra = item
        strategy = self.sanitizer.field(strategy) or ""
        payload: dict[Any, Any] = {"strategy": strategy, "signal": True}
        if extra:
            _merge(payload, extra, frozenset(payload))
        self._event(ts, span, session, "signal", strategy, symbol, payload, None, True, "", False, signal=True)

    def _event(
        self,
        ts: float,
        span: Any,
        session: Any,
        component: str,
        stage: object,
        symbol: object,
        raw_payload: Any,
        reason: str | None,
        passed: bool | None,
        check: str,
        evaluation: bool,
        *,
        signal: bool = False,
    ) -> int:
        sanitizer = self.sanitizer
        payload = sanitizer.payload(raw_payload if type(raw_payload) is dict else _as_dict(raw_payload))
        stage = sanitizer.field(stage) or ""
        symbol = sanitizer.field(symbol)
        given = payload.get("direction", "min")
        if given != "min" and given != "max":
            settle_payload(payload, passed)
        near = passed is False and is_near_miss(payload.get("value"), payload.get("threshold"), False, self.margin)
        self.emit(ts, span, session, component, stage, symbol, payload, reason, passed, check, evaluation, near, signal)
        return 1 if near else 0


def _merge(payload: dict[Any, Any], extra: dict[Any, Any], reserved: frozenset[str]) -> None:
    """Add the caller's extra fields; one that would overwrite a field of the schema is kept as ``extra_<key>``."""
    for key, value in extra.items():
        payload[f"extra_{key}" if key in reserved else key] = value


def _as_dict(value: object) -> dict[Any, Any]:
    if isinstance(value, dict):
        return value
    try:
        pairs: Any = value  # any mapping or iterable of pairs the bot passed
        return dict(pairs)
    except Exception:
        return {"payload": value}
