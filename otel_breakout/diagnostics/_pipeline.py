"""The background half of the collector: queued items -> journal lines, log records, counters, listeners.

Everything here runs on the collector's writer thread, one batch at a time, so its state needs no locks
except the few totals that ``snapshot()`` reads from other threads.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from opentelemetry._logs import Logger
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, set_span_in_context

from otel_breakout._internal import internal_errors_raise, log_internal_error
from otel_breakout.diagnostics._coerce import Sanitizer, coerce_passed
from otel_breakout.diagnostics._event import SCHEMA_VERSION, DiagnosticsEvent
from otel_breakout.diagnostics._journal import Journal
from otel_breakout.diagnostics._log_records import EventLogs
from otel_breakout.diagnostics._metrics import DropCounter, Instruments
from otel_breakout.diagnostics._rules import is_near_miss, settle_payload
from otel_breakout.diagnostics._spans import SpanEvents

__all__ = [
    "CONDITION",
    "FILTER",
    "FLUSH",
    "OTHER_REASON",
    "REASON",
    "RECORD",
    "SIGNAL",
    "Pipeline",
    "Session",
]

# Item kinds; each queued item is a plain tuple whose first element is its kind (cheapest to build).
FILTER, CONDITION, RECORD, SIGNAL, REASON, FLUSH = range(6)
_RESERVED_FILTER = frozenset(("filter", "value", "threshold", "direction"))
_RESERVED_FILTER_CANDLE = _RESERVED_FILTER | {"candle_ts"}
_RESERVED_CONDITION = frozenset(("strategy", "condition", "value", "threshold", "direction", "candle_ts"))
_CLOSE = frozenset(("close",))
_EMPTY_CONTEXT = Context()
_DUMPS = orjson.dumps
_NEWLINE = orjson.OPT_APPEND_NEWLINE
_BATCH_LINES = 1024
_I64 = -(2**63)
_PLAIN_TEXT = 64  # within the smallest string limit a user can set
# Distinct stage and symbol strings remembered as needing no scrubbing (the fast path's test); beyond this
# many, new ones take the general path, which gives the same line.
_PLAIN_TEXTS = 16_384
# The bucket for failure reasons past OTEL_BREAKOUT_DIAG_MAX_REASONS (the report folds its tables into the
# same name).
OTHER_REASON = "(other)"

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
        self._span_left_out = 0
        # The reasons counted by name (at most max_reasons); the others count as OTHER_REASON.
        self._max_reasons = max_reasons
        self._known_reasons: set[str] = set()
        # Totals for snapshot(), read from other threads under the lock (an RLock: a snapshot() taken in a
        # signal handler that interrupted another one only reads).
        self.stats_lock = threading.RLock()
        self.events = 0
        self.reasons: Counter[str] = Counter()
        self.near_misses = 0
        self.signals = 0
        # Per-batch state.
        self._lines: list[bytes] = []
        self._session: Session | None = None
        self._last_span: object = None
        self._last_ids: tuple[str | None, str | None, Context] = (None, None, _EMPTY_CONTEXT)
        self._logs_live = False
        self._evaluations: Counter[tuple[str, str, str, str]] = Counter()
        self._reason_counts: Counter[str] = Counter()
        self._near: Counter[tuple[str, str, str]] = Counter()
        self._attributes: dict[tuple[str, ...], dict[str, str]] = {}
        self._plain_reasons: dict[str, str] = {}
        # Stage and symbol strings of at most _PLAIN_TEXT characters that scrubbing leaves as they are.
        self._plain_texts: set[str] = set()
        # Fast-path counts by (stage, filter), folded into the evaluation and reason counts per batch.
        self._passes: dict[tuple[str, str], int] = {}
        self._failures: dict[tuple[str, str], int] = {}

    def reinit_after_fork(self) -> None:
        self.stats_lock = threading.RLock()
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
        for item in items:
            kind = item[0]
            try:
                if kind == FILTER:
                    near += self._filter(item)
                elif kind == CONDITION:
                    near += self._condition(item)
                elif kind == RECORD:
                    near += self._record(item)
                elif kind == SIGNAL:
                    self._signal(item)
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
        self._publish(processed, signals, near)
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

    def _publish(self, processed: int, signals: int, near: int) -> None:
        passes, self._passes = self._passes, {}
        failures, self._failures = self._failures, {}
        for (stage, name), n in passes.items():
            self._evaluations[("scanner", stage, name, "pass")] += n
        for (stage, name), n in failures.items():
            self._evaluations[("scanner", stage, name, "fail")] += n
            self._reason_counts[self._plain_reasons.get(name) or "filter:" + name] += n
        reasons, self._reason_counts = self._reason_counts, Counter()
        if reasons and not self._known_reasons.issuperset(reasons):
            reasons = self._bound_reasons(reasons)
        evaluations, self._evaluations = self._evaluations, Counter()
        near_keys, self._near = self._near, Counter()
        with self.stats_lock:
            self.events += processed
            self.signals += signals
            self.near_misses += near
            self.reasons.update(reasons)
        instruments = self.instruments
        if self.spans is not None and self.spans.left_out != self._span_left_out:
            self._span_left_out = self.spans.left_out
            self.drops.set_total("span_events", "budget", self._span_left_out)
        if instruments is None:
            return
        key: tuple[str, ...]
        for (component, stage, check, outcome), n in evaluations.items():
            key = ("e", component, stage, check, outcome)
            attrs = self._attributes.get(key) or self._remember(
                key, {"component": component, "stage": stage, "check": check, "outcome": outcome}
            )
            instruments.evaluations.add(n, attrs)
        for reason, n in reasons.items():
            key = ("r", reason)
            instruments.reasons.add(n, self._attributes.get(key) or self._remember(key, {"reason": reason}))
        for (component, stage, check), n in near_keys.items():
            key = ("n", component, stage, check)
            attrs = self._attributes.get(key) or self._remember(
                key, {"component": component, "stage": stage, "check": check}
            )
            instruments.near_misses.add(n, attrs)
        for sink, cause, n in self.drops.take_new():
            instruments.dropped.add(n, {"sink": sink, "cause": cause})

    def _bound_reasons(self, reasons: Counter[str]) -> Counter[str]:
        """Count reasons past the first ``max_reasons`` as OTHER_REASON, and how many events that folded.

        A free-form reason (an error message, an id) would otherwise mint a series on ``/api/metrics`` and a
        ``snapshot()`` key per value, without bound. The journal and the log records keep the real reason.
        """
        known = self._known_reasons
        bounded: Counter[str] = Counter()
        folded = 0
        for reason, n in reasons.items():
            if reason not in known:
                if len(known) < self._max_reasons:
                    known.add(reason)
                else:
                    bounded[OTHER_REASON] += n
                    folded += n
                    continue
            bounded[reason] += n
        if folded:
            self.drops.add("reasons", "overflow", folded)
        return bounded

    def _remember(self, key: tuple[str, ...], attrs: dict[str, str]) -> dict[str, str]:
        if len(self._attributes) < 4096:
            self._attributes[key] = attrs
        return attrs

    # --- item kinds -------------------------------------------------------------------------------

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
            if span is not self._last_span:
                self._last_span = span
                self._last_ids = _ids(span)
            trace_id, span_id, context = self._last_ids
            if session is not self._session:
                self._switch_session(session)
            plain = {"filter": name, "value": value, "threshold": threshold, "direction": direction}
            if candle is not None:
                plain["candle_ts"] = candle
            if close is not None:
                plain["close"] = close
            if self.journal is not None:
                self._lines.append(
                    _DUMPS(
                        {
                            "v": SCHEMA_VERSION,
                            "ts": ts,
                            "session_id": session.id,
                            "component": "scanner",
                            "stage": stage,
                            "symbol": symbol,
                            "passed": passed,
                            "reason": None if passed else plain_reason,
                            "near_miss": near,
                            "trace_id": trace_id,
                            "span_id": span_id,
                            "payload": plain,
                        },
                        option=_NEWLINE,
                    )
                )
            if self._logs_live and (not passed or self.log_passes):
                assert self._logs is not None  # live only with a logger
                self._logs.emit(ts, context, "scanner", stage, symbol, plain, None if passed else plain_reason, passed,
                                near, False, name)  # fmt: skip
            if self.listeners:
                self._tell(ts, "scanner", stage, symbol, plain, None if passed else plain_reason, passed, session,
                           trace_id, span_id, near)  # fmt: skip
            return 1 if near else 0
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

    def _condition(self, item: tuple[Any, ...]) -> int:
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

    def _record(self, item: tuple[Any, ...]) -> int:
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

    def _signal(self, item: tuple[Any, ...]) -> None:
        _, ts, span, session, strategy, symbol, extra = item
        strategy = self.sanitizer.field(strategy) or ""
        payload: dict[Any, Any] = {"strategy": strategy, "signal": True}
        if extra:
            _merge(payload, extra, frozenset(payload))
        self._event(ts, span, session, "signal", strategy, symbol, payload, None, True, "", False, signal=True)

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

    # --- one event --------------------------------------------------------------------------------

    def _event(
        self,
        ts: float,
        span: Any,
        session: Session,
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
        self._emit(
            ts, span, session, component, stage, symbol, payload, reason, passed, check, evaluation, near, signal
        )
        return 1 if near else 0

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
        evaluation: bool,
        near: bool,
        signal: bool,
    ) -> None:
        """Send one clean event to every sink (the payload is JSON-safe and scrubbed by now)."""
        if span is not self._last_span:
            self._last_span = span
            self._last_ids = _ids(span)
        trace_id, span_id, context = self._last_ids
        if session is not self._session:
            self._switch_session(session)
        if self.journal is not None:
            self._lines.append(
                _DUMPS(
                    {
                        "v": SCHEMA_VERSION,
                        "ts": ts,
                        "session_id": session.id,
                        "component": component,
                        "stage": stage,
                        "symbol": symbol,
                        "passed": passed,
                        "reason": reason,
                        "near_miss": near,
                        "trace_id": trace_id,
                        "span_id": span_id,
                        "payload": payload,
                    },
                    option=_NEWLINE,
                )
            )
        if evaluation and passed is not None:
            self._evaluations[(component, stage, check, "pass" if passed else "fail")] += 1
        if reason is not None and passed is False:
            self._reason_counts[reason] += 1
        if near:
            self._near[(component, stage, check)] += 1
        if self._logs_live and (passed is False or signal or self.log_passes):
            assert self._logs is not None  # live only with a logger
            self._logs.emit(ts, context, component, stage, symbol, payload, reason, passed, near, signal, check)
        if self.listeners:
            self._tell(ts, component, stage, symbol, payload, reason, passed, session, trace_id, span_id, near)


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


def _ids(span: Any) -> tuple[str | None, str | None, Context]:
    if span is None:
        return None, None, _EMPTY_CONTEXT
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None, None, _EMPTY_CONTEXT
    context = set_span_in_context(NonRecordingSpan(ctx), _EMPTY_CONTEXT)
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), context
