"""Which diagnostic events become span events, bounded per span, decided on the caller's thread.

A span keeps 128 events by default, and a scan of 500 symbols evaluates thousands of filters, so only the
decisive events go there, within a budget ``B`` per span (``OTEL_BREAKOUT_DIAG_SPAN_EVENTS``, default 8):

- ``breakout.diag.signal``: a generated signal, while the span has fewer than ``B`` diagnostic events;
- ``breakout.diag.near_miss``: a failure within the near-miss margin, while it has fewer than ``3B/4``;
- ``breakout.diag.failure``: the *first* failure of each symbol (per component: scanner, signal, ...) on the
  span, while it has fewer than ``B/2``.

The tiers keep room for the rarer, more telling events after a long run of first failures. A candidate that
does not fit is counted (``breakout.diag.dropped{sink="span_events",cause="budget"}`` and ``snapshot()``),
and the span gets ``breakout.diag.span_events.truncated = true`` once. Later failures of a symbol that
already failed are not candidates: the journal and the log records have them.

Span events are added on the caller's thread, while the span is certainly still open; the background
writer would often find it ended. The budget bounds that cost per span.
"""

from __future__ import annotations

import threading
from typing import Any

from otel_breakout.diagnostics._attributes import otel_attributes
from otel_breakout.diagnostics._coerce import Sanitizer, field_text
from otel_breakout.diagnostics._rules import is_near_miss, settle_payload

__all__ = ["FAILURE", "NEAR_MISS", "SIGNAL", "SpanEventBudget", "SpanEvents"]

SIGNAL, NEAR_MISS, FAILURE = 0, 1, 2
EVENT_NAMES = ("breakout.diag.signal", "breakout.diag.near_miss", "breakout.diag.failure")
TRUNCATED_ATTRIBUTE = "breakout.diag.span_events.truncated"
_TRACKED_SPANS = 256
_TRACKED_SYMBOLS = 4096


class _SpanState:
    __slots__ = ("count", "failed", "truncated")

    def __init__(self) -> None:
        self.count = 0
        self.failed: set[object] = set()
        self.truncated = False


class SpanEventBudget:
    """Admits or refuses span events per span; ``left_out`` counts the refused candidates."""

    def __init__(self, budget: int) -> None:
        self._ceilings = (budget, budget * 3 // 4, budget // 2)
        # Keyed by span id, not by the span, so that ended spans are not kept alive; the oldest entry goes
        # once 256 spans are tracked (long since ended).
        self._states: dict[int, _SpanState] = {}
        self._lock = threading.Lock()
        self.left_out = 0

    def reinit_after_fork(self) -> None:
        self._lock = threading.Lock()

    def saturated(self, span: Any, component: object = None, symbol: object = None, near: bool | None = None) -> bool:
        """True when ``span`` takes no more of this failure, which is then counted (if a candidate) and skipped.

        The hot path of a long scan: once a failure tier is full, a failing evaluation costs a dict lookup
        and a set lookup here instead of the lock and the full bookkeeping. With ``near`` unknown (None),
        only a span that takes no near miss either refuses (``left_out`` then counts every failure, first
        or not); with ``near=False``, one whose plain-failure tier is full, where only a symbol's first
        failure counts as left out, as :meth:`admit` would count it.
        """
        state = self._states.get(span.get_span_context().span_id)
        if state is None:
            return False
        ceiling = self._ceilings[FAILURE if near is False else NEAR_MISS]
        if state.count < ceiling:
            return False
        if near is False:
            key = (
                component if type(component) is str else field_text(component),
                symbol if type(symbol) is str else field_text(symbol),
            )
            if key in state.failed:
                return True  # not a symbol's first failure: never a candidate
            if len(state.failed) < _TRACKED_SYMBOLS:
                state.failed.add(key)
        self.left_out += 1
        if not state.truncated:
            state.truncated = True
            span.set_attribute(TRUNCATED_ATTRIBUTE, True)
        return True

    def admit(self, span: Any, kind: int, component: object, symbol: object) -> bool:
        """True when an event of ``kind`` for ``symbol`` should be added to ``span`` now."""
        mark_truncated = False
        # Hashable, whatever the bot passed.
        key = (
            component if type(component) is str else field_text(component),
            symbol if type(symbol) is str else field_text(symbol),
        )
        span_id = span.get_span_context().span_id
        with self._lock:
            state = self._states.get(span_id)
            if state is None:
                if not span.is_recording():
                    return False
                if len(self._states) >= _TRACKED_SPANS:
                    del self._states[next(iter(self._states))]
                state = self._states[span_id] = _SpanState()
            if kind != SIGNAL:
                seen = key in state.failed
                if kind == FAILURE and seen:
                    return False  # not the first failure of this symbol: not a candidate
                if not seen and len(state.failed) < _TRACKED_SYMBOLS:
                    state.failed.add(key)
            if state.count >= self._ceilings[kind]:
                self.left_out += 1
                mark_truncated = not state.truncated
                state.truncated = True
            else:
                state.count += 1
                return True
        if mark_truncated:
            span.set_attribute(TRUNCATED_ATTRIBUTE, True)
        return False


class SpanEvents:
    """Adds the decisive events to the caller's current span, within the per-span budget."""

    def __init__(self, budget: int, sanitizer: Sanitizer, margin: float) -> None:
        self.budget = SpanEventBudget(budget)
        self._sanitizer = sanitizer
        self._margin = margin

    @property
    def left_out(self) -> int:
        return self.budget.left_out

    def reinit_after_fork(self) -> None:
        self.budget.reinit_after_fork()

    def filter_failed(
        self,
        span: Any,
        ts: float,
        stage: Any,
        symbol: Any,
        filter_name: Any,
        value: Any,
        threshold: Any,
        extra: dict[Any, Any] | None,
        direction: Any,
        candle_ts: Any = None,
    ) -> None:
        """A failed ``record_filter``: the payload is built only when the event is admitted."""
        if self.budget.saturated(span):
            return
        near = is_near_miss(value, threshold, False, self._margin)
        if not near and self.budget.saturated(span, "scanner", symbol, near=False):
            return
        kind = NEAR_MISS if near else FAILURE
        if self.budget.admit(span, kind, "scanner", symbol):
            payload = {"filter": filter_name, "value": value, "threshold": threshold, "direction": direction}
            if candle_ts is not None:
                payload["candle_ts"] = candle_ts
            reason = "filter:" + (field_text(filter_name) or "")
            self._add(span, kind, ts, "scanner", stage, symbol, reason, _with_extra(payload, extra), False, near)

    def failed(
        self,
        span: Any,
        ts: float,
        component: str,
        stage: Any,
        symbol: Any,
        reason: str | None,
        payload: dict[Any, Any],
        extra: dict[Any, Any] | None,
    ) -> None:
        if self.budget.saturated(span):
            return
        near = is_near_miss(payload.get("value"), payload.get("threshold"), False, self._margin)
        if not near and self.budget.saturated(span, component, symbol, near=False):
            return
        kind = NEAR_MISS if near else FAILURE
        if self.budget.admit(span, kind, component, symbol):
            self._add(span, kind, ts, component, stage, symbol, reason, _with_extra(payload, extra), False, near)

    def signal(self, span: Any, ts: float, strategy: Any, symbol: Any, extra: dict[Any, Any] | None) -> None:
        if self.budget.admit(span, SIGNAL, "signal", symbol):
            payload: dict[Any, Any] = {"strategy": strategy, "signal": True}
            self._add(span, SIGNAL, ts, "signal", strategy, symbol, None, _with_extra(payload, extra), True, False)

    def _add(
        self,
        span: Any,
        kind: int,
        ts: float,
        component: str,
        stage: Any,
        symbol: Any,
        reason: str | None,
        payload: dict[Any, Any],
        passed: bool,
        near: bool,
    ) -> None:
        # The same coercion, scrubbing and attribute shape as the writer gives the log records.
        clean = self._sanitizer.payload(payload)
        settle_payload(clean, passed)
        attributes = otel_attributes(
            self._sanitizer,
            field_text(component) or "",
            field_text(stage) or "",
            field_text(symbol),
            field_text(reason),
            passed,
            near,
            clean,
        )
        span.add_event(EVENT_NAMES[kind], attributes, timestamp=int(ts * 1e9))


def _with_extra(payload: dict[Any, Any], extra: dict[Any, Any] | None) -> dict[Any, Any]:
    """The journal's rule: an extra key that would overwrite a schema key is kept as ``extra_<key>``."""
    if extra:
        for key, value in extra.items():
            payload[f"extra_{key}" if key in payload else key] = value
    return payload
