"""The general path: each kind of queued item made a clean event (payload built, coerced, scrubbed; outcome settled).

Every item the pipeline's fast path does not take comes here; the clean event is counted (``count``) and goes to
the pipeline's ``emit``, which feeds the sinks. What the fast path writes for a plain filter is what this path
writes (a test holds it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otel_breakout.diagnostics._coerce import Sanitizer, coerce_passed
from otel_breakout.diagnostics._rules import is_near_miss, settle_payload
from otel_breakout.diagnostics._schema import condition_payload, filter_payload, merge_extra, signal_payload

__all__ = ["Count", "Emit", "GeneralPath"]

# (ts, span, session, component, stage, symbol, payload, reason, passed, check, near, signal)
Emit = Callable[[float, Any, Any, str, str, "str | None", dict[str, Any], "str | None", "bool | None", str, bool, bool],
                None]  # fmt: skip
# (component, stage, check, passed, reason, near, evaluation)
Count = Callable[[str, str, str, "bool | None", "str | None", bool, bool], None]


class GeneralPath:
    """Turns the raw fields the bot passed into one clean event per item, counts it and hands it to ``emit``."""

    __slots__ = ("count", "emit", "margin", "sanitizer")

    def __init__(self, sanitizer: Sanitizer, margin: float, count: Count, emit: Emit) -> None:
        self.sanitizer = sanitizer
        self.margin = margin
        self.count = count
        self.emit = emit

    def filter(self, item: tuple[Any, ...]) -> int:
        _, ts, span, session, stage, symbol, name, value, threshold, passed, extra, direction, candle, close = item
        name = self.sanitizer.field(name) or ""
        payload = merge_extra(filter_payload(name, value, threshold, direction, candle, close), extra)
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
        payload = merge_extra(condition_payload(strategy, condition, value, threshold, direction, candle, close), extra)
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
        payload = merge_extra(signal_payload(strategy), extra)
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
        self.count(component, stage, check, passed, reason, near, evaluation)
        self.emit(ts, span, session, component, stage, symbol, payload, reason, passed, check, near, signal)
        return 1 if near else 0


def _as_dict(value: object) -> dict[Any, Any]:
    if isinstance(value, dict):
        return value
    try:
        pairs: Any = value  # any mapping or iterable of pairs the bot passed
        return dict(pairs)
    except Exception:
        return {"payload": value}
