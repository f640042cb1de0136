"""The background half of the collector: each queued item dispatched by kind, and a clean event fed to every sink.

Plain filter calls take the fast path here (nothing to coerce, scrub or infer, counted in bulk); every other item
is made a clean event and counted by :mod:`._items`. Either way the event reaches the sinks through
:meth:`Pipeline._emit`; :mod:`._counts` keeps and publishes the sums for the counters. Everything here runs on
the collector's writer thread, one batch at a time, so its state needs no locks except the totals that
``snapshot()`` reads from other threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from opentelemetry._logs import Logger
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, set_span_in_context

from otel_breakout._internal import internal_errors_raise, log_internal_error
from otel_breakout.diagnostics._coerce import Sanitizer
from otel_breakout.diagnostics._counts import Counts
from otel_breakout.diagnostics._event import DiagnosticsEvent
from otel_breakout.diagnostics._items import GeneralPath
from otel_breakout.diagnostics._journal import Journal
from otel_breakout.diagnostics._log_records import EventLogs
from otel_breakout.diagnostics._metrics import DropCounter, Instruments
from otel_breakout.diagnostics._schema import encode, filter_payload, journal_line
from otel_breakout.diagnostics._spans import SpanEvents

__all__ = [
    "CONDITION",
    "FILTER",
    "FLUSH",
    "REASON",
    "RECORD",
    "SIGNAL",
    "Pipeline",
    "Session",
]

# Item kinds; each queued item is a plain tuple whose first element is its kind (cheapest to build).
FILTER, CONDITION, RECORD, SIGNAL, REASON, FLUSH = range(6)
_EMPTY_CONTEXT = Context()
_BATCH_LINES = 1024
_I64 = -(2**63)
_PLAIN_TEXT = 64  # within the smallest string limit a user can set
# Distinct stage and symbol strings remembered as needing no scrubbing (the fast path's test); beyond this
# many, new ones take the general path, which gives the same line.
_PLAIN_TEXTS = 16_384

Listener = Callable[[DiagnosticsEvent], None]


class Session:
    """A session id and its journal path; items carry the object, so a session switch costs the caller nothing."""

    __slots__ = ("id", "path")

    def __init__(self, session_id: str, path: Path) -> None:
        self.id = session_id
        self.path = path


class Pipeline:
    """Turns batches of queued items into sink output."""

    def __init__(
        self,
        *,
        sanitizer: Sanitizer,
        margin: float,
        journal: Journal | None,
        logger: Logger | None,
        log_passes: bool,
        instruments: Instruments | None,
        drops: DropCounter,
        listeners: list[Listener],
        spans: SpanEvents | None = None,
        max_reasons: int = 256,
    ) -> None:
        self.sanitizer = sanitizer
        self.margin = margin
        self.journal = journal
        self.logger = logger
        self._logs = EventLogs(logger, sanitizer) if logger is not None else None
        self.log_passes = log_passes
        self.instruments = instruments
        self.drops = drops
        self.listeners = listeners
        self.spans = spans
        self.counts = Counts(instruments=instruments, drops=drops, spans=spans, max_reasons=max_reasons)
        self.general = GeneralPath(sanitizer, margin, self.counts.add, self._emit)
        # Per-batch state (the sums are the counts' own dicts, cleared by each publish).
        self._lines: list[bytes] = []
        self._session: Session | None = None
        self._last_span: object = None
        self._last_ids: tuple[str | None, str | None, Context] = (None, None, _EMPTY_CONTEXT)
        self._logs_live = False
        self._reason_counts = self.counts.reason_counts
        self._near = self.counts.near
        self._passes = self.counts.passes
        self._failures = self.counts.failures
        self._plain_reasons: dict[str, str] = {}
        # Stage and symbol strings of at most _PLAIN_TEXT characters that scrubbing leaves as they are.
        self._plain_texts: set[str] = set()

    def reinit_after_fork(self) -> None:
        self.counts.reinit_after_fork()
        self.drops.reinit_after_fork()
        if self.spans is not None:
            self.spans.reinit_after_fork()
        self._lines = []
        if self.journal is not None:
            self.journal.close()

    # --- batches ----------------------------------------------------------------------------------

    def process(self, items: Iterable[tuple[Any, ...]]) -> None:
        self._logs_live = self._logs is not None and self._logs.live()
        flushes: list[threading.Event] = []
        processed = signals = near = 0
        general = self.general
        for item in items:
            kind = item[0]
            try:
                if kind == FILTER:
                    near += self._filter(item)
                elif kind == CONDITION:
                    near += general.condition(item)
                elif kind == RECORD:
                    near += general.record(item)
                elif kind == SIGNAL:
                    general.signal(item)
                    signals += 1
                elif kind == REASON:
                    reason = self.sanitizer.field(item[1])
                    if reason is not None:
                        self._reason_counts[reason] += 1
                    continue
                else:
                    flushes.append(item[1])
                    continue
                processed += 1
            except Exception as exc:
                self.drops.add("all", "error")
                log_internal_error("diagnostics writer", exc)
                if internal_errors_raise():
                    raise
            if len(self._lines) >= _BATCH_LINES:
                self._write_lines()
        self._write_lines()
        # Hold no span between batches (nor in the log records: their context carries a copy of its ids).
        self._last_span = None
        self._last_ids = (None, None, _EMPTY_CONTEXT)
        self.counts.publish(processed, signals, near)
        for done in flushes:
            done.set()

    def _write_lines(self) -> None:
        lines, self._lines = self._lines, []
        if not lines or self.journal is None or self._session is None:
            return
        cause = self.journal.write(b"".join(lines))
        if cause is not None:
            # Exactly the lines that did not land: a write cut short by a full disk kept the ones before.
            lost = len(lines) - self.journal.landed_lines
            if lost:
                self.drops.add("jsonl", cause, lost)

    def _switch_session(self, session: Session) -> None:
        self._write_lines()
        self._session = session
        if self.journal is not None:
            self.journal.target(session.path)

    # --- the fast path: a plain filter call ------------------------------------------------------------

    def _filter(self, item: tuple[Any, ...]) -> int:
        _, ts, span, session, stage, symbol, name, value, threshold, passed, extra, direction, candle, close = item
        if (
            extra is None
            and (
                candle is None
                or (type(candle) is float and candle - candle == 0.0)
                or (type(candle) is int and _I64 <= candle < -_I64)
            )
            and (
                close is None
                or (type(close) is float and close - close == 0.0)
                or (type(close) is int and _I64 <= close < -_I64)
            )
            and (passed is True or passed is False)
            and (direction == "min" or direction == "max")
            and ((type(value) is float and value - value == 0.0) or (type(value) is int and _I64 <= value < -_I64))
            and (
                (type(threshold) is float and threshold - threshold == 0.0)
                or (type(threshold) is int and _I64 <= threshold < -_I64)
            )
            and type(name) is str
            and type(stage) is str
            and (stage in self._plain_texts or self._plain_text(stage))
            and (symbol is None or (type(symbol) is str and (symbol in self._plain_texts or self._plain_text(symbol))))
            and (plain_reason := self._plain_reasons.get(name) or self._plain_reason(name))
        ):
            # The common call, with plain values: nothing to coerce and nothing to scrub (the stage, symbol
            # and filter name are checked once each, by _plain_text and _plain_reason), so the sanitizer and
            # the inference are skipped, and the sinks are fed inline (the result is what the general path
            # produces; a test holds them to it).
            if passed:
                near = False
                self._passes[(stage, name)] = self._passes.get((stage, name), 0) + 1
            else:
                near = (
                    abs(value - threshold) <= self.margin * abs(threshold) if threshold else abs(value) <= self.margin
                )
                self._failures[(stage, name)] = self._failures.get((stage, name), 0) + 1
                if near:
                    self._near[("scanner", stage, name)] += 1
            plain = filter_payload(name, value, threshold, direction, candle, close)
            reason = None if passed else plain_reason
            self._emit(ts, span, session, "scanner", stage, symbol, plain, reason, passed, name, near, False)
            return 1 if near else 0
        return self.general.filter(item)

    def _plain_text(self, text: str) -> bool:
        """True when ``text`` (a stage or symbol) may reach the sinks as it is: short, and left alone by the
        scrubbing rules; remembered, so each distinct text is checked once (up to _PLAIN_TEXTS of them)."""
        if len(text) > _PLAIN_TEXT or self.sanitizer.field(text) != text:
            return False
        if len(self._plain_texts) < _PLAIN_TEXTS:
            self._plain_texts.add(text)
        return True

    def _plain_reason(self, name: str) -> str:
        """``filter:<name>`` for a filter name the fast path may take as is, else the empty string."""
        plain = 0 < len(name) <= _PLAIN_TEXT and self.sanitizer.field(name) == name
        reason = "filter:" + name if plain else ""
        if len(self._plain_reasons) < 4096:
            self._plain_reasons[name] = reason
        return reason

    def _tell(
        self,
        ts: float,
        component: str,
        stage: str,
        symbol: str | None,
        payload: dict[str, Any],
        reason: str | None,
        passed: bool | None,
        session: Session,
        trace_id: str | None,
        span_id: str | None,
        near: bool,
    ) -> None:
        event = DiagnosticsEvent(
            ts, component, stage, symbol, payload, reason, passed, session.id, trace_id, span_id, near
        )
        for listener in self.listeners:
            listener(event)

    # --- one clean event ---------------------------------------------------------------------------

    def _emit(
        self,
        ts: float,
        span: Any,
        session: Session,
        component: str,
        stage: str,
        symbol: str | None,
        payload: dict[str, Any],
        reason: str | None,
        passed: bool | None,
        check: str,
        near: bool,
        signal: bool,
    ) -> None:
        """Send one clean event to the journal, the logger and the listeners (the payload is JSON-safe and scrubbed
        by now; the caller counted it)."""
        if span is not self._last_span:
            self._last_span = span
            self._last_ids = _ids(span)
        trace_id, span_id, context = self._last_ids
        if session is not self._session:
            self._switch_session(session)
        if self.journal is not None:
            line = journal_line(
                ts, session.id, component, stage, symbol, passed, reason, near, trace_id, span_id, payload
            )
            self._lines.append(encode(line))
        if self._logs_live and (passed is False or signal or self.log_passes):
            assert self._logs is not None  # live only with a logger
            self._logs.emit(ts, context, component, stage, symbol, payload, reason, passed, near, signal, check)
        if self.listeners:
            self._tell(ts, component, stage, symbol, payload, reason, passed, session, trace_id, span_id, near)


def _ids(span: Any) -> tuple[str | None, str | None, Context]:
    if span is None:
        return None, None, _EMPTY_CONTEXT
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None, None, _EMPTY_CONTEXT
    context = set_span_in_context(NonRecordingSpan(ctx), _EMPTY_CONTEXT)
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), context
