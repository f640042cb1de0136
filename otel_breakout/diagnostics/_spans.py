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

from typing import Any

from otel_breakout._reentry import ReentryGuard
from otel_breakout.diagnostics._attributes import otel_attributes
from otel_breakout.diagnostics._coerce import Sanitizer, field_text
from otel_breakout.diagnostics._rules import is_near_miss, settle_payload
from otel_breakout.diagnostics._schema import condition_payload, filter_payload, merge_extra, signal_payload

__all__ = ["FAILURE", "NEAR_MISS", "SIGNAL", "SpanEventBudget", "SpanEvents"]

SIGNAL, NEAR_MISS, FAILURE = 0, 1, 2
EVENT_NAMES = ("breakout.diag.signal", "breakout.diag.near_miss", "breakout.diag.failure")
TRUNCATED_ATTRIBUTE = "breakout.diag.span_events.truncated"
_TRACKED_SPANS = 256
_TRACKED_SYMBOLS = 4096


def _span_free(span: Any) -> bool:
    """False while a thread holds the SDK span's own lock (in ``add_event``, ``set_attribute``, ``end``).

    That lock is not re-entrant: a signal handler adding an event to the span the interrupted code was
    changing would wait for itself. Checked just before adding, on the adding thread: if it is free then,
    the thread the handler interrupted does not hold it (another thread may take it meanwhile, which only
    means a short wait). A span without that attribute (not the SDK's) is taken as free.
    """
    lock = getattr(span, "_lock", None)
    return lock is None or not lock.locked()


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
        # A guard, not a Lock: a failure recorded from a signal handler that interrupted admit() on this
        # thread is refused (counted as left out) instead of waiting for itself.
        self._guard = ReentryGuard()
        self.left_out = 0
        # The span that last refused a failure for a full near-miss tier. Its count never falls, so it
        # refuses every later one too: an identity test instead of the span-context call and the dict
        # lookup, for the hundreds of failures a long scan has after its budget is spent.
        self._closed: Any = None

    def reinit_after_fork(self) -> None:
        self._guard = ReentryGuard()

    def screen(
        self, span: Any, component: object, symbol: object, value: object, threshold: object, margin: float
    ) -> int | None:
        """The tier a failure would go to (``NEAR_MISS`` or ``FAILURE``), or None when ``span`` refuses it.

        The hot path of a long scan, so it decides with as little as it can: a span whose near-miss tier is
        full refuses every failure on an identity test (each counted in ``left_out``); otherwise one dict
        lookup, the near-miss test only when it matters, and, once the plain-failure tier is full, a set
        lookup to tell a symbol's first failure (a candidate, counted) from a repeat (not one). What is
        not refused still goes through :meth:`admit`, which alone takes the lock and counts.
        """
        if span is self._closed:
            self.left_out += 1
            return None
        state = self._states.get(span.get_span_context().span_id)
        if state is not None:
            count = state.count
            if count >= self._ceilings[NEAR_MISS]:
                self._closed = span
                self._refused(span, state)
                return None
            if count >= self._ceilings[FAILURE]:
                if is_near_miss(value, threshold, False, margin):
                    return NEAR_MISS
                key = (
                    component if type(component) is str else field_text(component),
                    symbol if type(symbol) is str else field_text(symbol),
                )
                if key in state.failed:
                    return None  # not a symbol's first failure: never a candidate
                if len(state.failed) < _TRACKED_SYMBOLS:
                    state.failed.add(key)
                self._refused(span, state)
                return None
        return NEAR_MISS if is_near_miss(value, threshold, False, margin) else FAILURE

    def _refused(self, span: Any, state: _SpanState) -> None:
        self.left_out += 1
        if not state.truncated:
            state.truncated = True
            if _span_free(span):
                span.set_attribute(TRUNCATED_ATTRIBUTE, True)

    def admit(self, span: Any, kind: int, component: object, symbol: object) -> bool:
        """True when an event of ``kind`` for ``symbol`` should be added to ``span`` now."""
        mark_truncated = False
        # Hashable, whatever the bot passed.
        key = (
            component if type(component) is str else field_text(component),
            symbol if type(symbol) is str else field_text(symbol),
        )
        span_id = span.get_span_context().span_id
        guard = self._guard
        if not guard.enter():
            self.left_out += 1
            return False
        try:
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
            elif _span_free(span):
                state.count += 1
                return True
            else:
                self.left_out += 1
                return False
        finally:
            guard.exit()
        if mark_truncated and _span_free(span):
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
        close: Any = None,
    ) -> None:
        """A failed ``record_filter``: the payload is built only when the event is admitted."""
        kind = self.budget.screen(span, "scanner", symbol, value, threshold, self._margin)
        if kind is not None and self.budget.admit(span, kind, "scanner", symbol):
            payload = filter_payload(filter_name, value, threshold, direction, candle_ts, close)
            reason = "filter:" + (field_text(filter_name) or "")
            self._add(span, kind, ts, "scanner", stage, symbol, reason, merge_extra(payload, extra), False)

    def condition_failed(
        self,
        span: Any,
        ts: float,
        strategy: Any,
        symbol: Any,
        condition: Any,
        value: Any,
        threshold: Any,
        extra: dict[Any, Any] | None,
        direction: Any,
        candle_ts: Any,
        close: Any = None,
    ) -> None:
        """A failed ``record_signal_condition``: the payload is built only when the event is admitted."""
        kind = self.budget.screen(span, "signal", symbol, value, threshold, self._margin)
        if kind is not None and self.budget.admit(span, kind, "signal", symbol):
            payload = condition_payload(strategy, condition, value, threshold, direction, candle_ts, close)
            reason = f"signal:{field_text(strategy) or ''}:{field_text(condition) or ''}"
            self._add(span, kind, ts, "signal", strategy, symbol, reason, merge_extra(payload, extra), False)

    def failed(
        self,
        span: Any,
        ts: float,
        component: str,
        stage: Any,
        symbol: Any,
        reason: str | None,
        payload: dict[Any, Any],
    ) -> None:
        """A failed ``record()``."""
        value, threshold = payload.get("value"), payload.get("threshold")
        kind = self.budget.screen(span, component, symbol, value, threshold, self._margin)
        if kind is not None and self.budget.admit(span, kind, component, symbol):
            self._add(span, kind, ts, component, stage, symbol, reason, payload, False)

    def signal(self, span: Any, ts: float, strategy: Any, symbol: Any, extra: dict[Any, Any] | None) -> None:
        if self.budget.admit(span, SIGNAL, "signal", symbol):
            payload = merge_extra(signal_payload(strategy), extra)
            self._add(span, SIGNAL, ts, "signal", strategy, symbol, None, payload, True)

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
    ) -> None:
        # The same coercion, scrubbing and attribute shape as the writer gives the log records.
        clean = self._sanitizer.payload(payload)
        settle_payload(clean, passed)
        field = self._sanitizer.field
        attributes = otel_attributes(
            self._sanitizer,
            field(component) or "",
            field(stage) or "",
            field(symbol),
            field(reason),
            passed,
            kind == NEAR_MISS,
            clean,
        )
        span.add_event(EVENT_NAMES[kind], attributes, timestamp=int(ts * 1e9))
