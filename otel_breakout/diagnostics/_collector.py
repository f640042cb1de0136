"""``DiagnosticsCollector``: the seed's API, with the caller's share of the work cut to the minimum.

A ``record*()`` call reads the clock and the current span, appends one tuple to a bounded queue and
returns; it never blocks and never raises. The writer thread (:mod:`._writer`) does the rest. The one
exception is span events, which go on the span while it is certainly open, within a small per-span
budget (:mod:`._spans`).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from opentelemetry import _logs as otel_logs
from opentelemetry import metrics

from otel_breakout._internal import internal_errors_raise, log_internal_error
from otel_breakout._setting import override, variable_of
from otel_breakout._settings import DIAGNOSTICS_SINKS, ConfigError, DiagnosticsSettings, Settings
from otel_breakout._telemetry import INSTRUMENTATION_SCOPE, Telemetry, get_telemetry
from otel_breakout._version import __version__
from otel_breakout.diagnostics import _registry
from otel_breakout.diagnostics._capture import current_span, detach, is_failure, now
from otel_breakout.diagnostics._coerce import Sanitizer
from otel_breakout.diagnostics._journal import Journal, journal_path
from otel_breakout.diagnostics._metrics import DropCounter, Instruments
from otel_breakout.diagnostics._pipeline import CONDITION, FILTER, REASON, RECORD, SIGNAL, Pipeline, Session
from otel_breakout.diagnostics._spans import SpanEvents
from otel_breakout.diagnostics._writer import Writer

__all__ = ["DiagnosticsCollector"]

_logger = logging.getLogger("otel_breakout.diagnostics")
_SCOPE = f"{INSTRUMENTATION_SCOPE}.diagnostics"


def _new_session_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


class DiagnosticsCollector:
    """Records why each filter and signal condition passed or failed, to every diagnostics sink.

    ``telemetry`` defaults to the handle ``configure()`` built, else the OpenTelemetry global providers;
    ``settings`` to the telemetry's (else ``Settings.from_env()``). Keyword arguments override the
    ``OTEL_BREAKOUT_DIAG_*`` settings; ``enabled=False`` (or ``OTEL_BREAKOUT_DIAG_ENABLED=false``, or
    ``OTEL_SDK_DISABLED=true``) makes every call a no-op that starts no thread and writes no file.
    Use it as a context manager, or call :meth:`close`; it also closes at interpreter exit and when its
    telemetry shuts down.
    """

    def __init__(
        self,
        enabled: bool = True,
        session_id: str | None = None,
        output_dir: str | os.PathLike[str] | None = None,
        *,
        telemetry: Telemetry | None = None,
        settings: Settings | None = None,
        sinks: Iterable[str] | None = None,
        near_miss_margin: float | None = None,
        flush_interval: float | None = None,
        queue_size: int | None = None,
    ) -> None:
        telemetry = telemetry if telemetry is not None else get_telemetry()
        if settings is None:
            settings = telemetry.settings if telemetry is not None else Settings.from_env()
        config = settings.diagnostics
        self.enabled: bool = (
            bool(enabled) and config.enabled and not settings.sdk_disabled and (telemetry is None or telemetry.enabled)
        )
        self.session_id: str = _check_session(session_id) if session_id is not None else _new_session_id()
        self.output_dir: Path = Path(output_dir if output_dir is not None else config.output_dir)
        self.output_path: Path = journal_path(self.output_dir, self.session_id)
        self._telemetry = telemetry
        # Keywords override the settings and are held to the rules of the variables they override.
        self._margin: float = override(config, "near_miss_margin", near_miss_margin)
        interval = (
            config.flush_interval_ms / 1000
            if flush_interval is None
            else variable_of(DiagnosticsSettings, "flush_interval_ms").check_scaled(
                flush_interval, 0.001, "flush_interval"
            )
        )
        capacity: int = override(config, "queue_size", queue_size)
        chosen: set[str] = set(override(config, "sinks", sinks))
        self._session = Session(self.session_id, self.output_path)
        self._sanitizer = Sanitizer(max_string=config.max_string, extra_secret_keys=config.secret_keys)
        self._drops = DropCounter()
        self._sinks = chosen if self.enabled else set()
        self._spans = (
            SpanEvents(config.span_events_per_span, self._sanitizer, self._margin)
            if self.enabled and "spans" in chosen and config.span_events_per_span > 0
            else None
        )
        self._on = False
        self._writer: Writer | None = None
        self._pipeline: Pipeline | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        if not self.enabled:
            return
        self._pipeline = Pipeline(
            sanitizer=self._sanitizer,
            margin=self._margin,
            journal=Journal(max_bytes=config.max_file_bytes, fsync=config.fsync) if "jsonl" in chosen else None,
            logger=self._logger(telemetry) if "logs" in chosen else None,
            log_passes=config.log_passes,
            instruments=self._instruments(telemetry) if "metrics" in chosen else None,
            drops=self._drops,
            listeners=_registry.listeners_for(telemetry) if telemetry is not None else [],
            spans=self._spans,
            max_reasons=config.max_reasons,
        )
        writer = self._writer = Writer(self._pipeline, capacity=capacity, interval_s=interval)
        self._put = writer.put
        # Runs at close(), at garbage collection and at interpreter exit, whichever comes first; it holds
        # the writer, not the collector, so it does not keep the collector alive.
        self._finalizer = weakref.finalize(self, writer.stop, 10.0)
        if telemetry is not None:
            telemetry.add_shutdown_hook(_closer(weakref.ref(self), self._finalizer))
            _registry.bind(telemetry, self)
        self._on = True

    @staticmethod
    def _logger(telemetry: Telemetry | None) -> Any:
        if telemetry is None:
            return otel_logs.get_logger_provider().get_logger(_SCOPE, __version__)
        return telemetry.get_logger(_SCOPE) if telemetry.exports_logs else None

    @staticmethod
    def _instruments(telemetry: Telemetry | None) -> Instruments:
        meter = telemetry.get_meter(_SCOPE) if telemetry is not None else metrics.get_meter(_SCOPE, __version__)
        return Instruments(meter)

    # --- recording (the bot's hot path) -------------------------------------------------------------

    def record_filter(
        self,
        stage: str,
        symbol: str | None,
        filter_name: str,
        value: Any,
        threshold: Any,
        passed: bool,
        extra: Mapping[str, Any] | None = None,
        *,
        direction: str | None = None,
        candle_ts: Any = None,
        close: Any = None,
    ) -> None:
        """A scanner filter evaluated for one symbol; reason ``filter:<filter_name>`` when it failed.

        ``candle_ts`` (the candle the filter judged) joins the filter to the strategy conditions of the same
        symbol and candle in the report, so it can tell which single check stood between a candle and a
        signal; ``close`` (that candle's close) lets the report measure what happened next. Both cost less
        than passing them in ``extra``.
        """
        if self._on:
            self._evaluation(FILTER, stage, symbol, filter_name, value, threshold, passed, extra, direction, candle_ts,
                             close)  # fmt: skip

    def record_signal_condition(
        self,
        strategy: str,
        symbol: str | None,
        condition: str,
        value: Any,
        threshold: Any,
        passed: bool,
        candle_ts: Any = None,
        extra: Mapping[str, Any] | None = None,
        *,
        direction: str | None = None,
        close: Any = None,
    ) -> None:
        """A strategy condition evaluated on a candle; reason ``signal:<strategy>:<condition>`` when it failed.

        ``close`` (the candle's close) lets the report measure what the candidate did next."""
        if self._on:
            self._evaluation(CONDITION, strategy, symbol, condition, value, threshold, passed, extra, direction,
                             candle_ts, close)  # fmt: skip

    def _evaluation(
        self,
        kind: int,
        stage: str,
        symbol: str | None,
        check: str,
        value: Any,
        threshold: Any,
        passed: bool,
        extra: Mapping[str, Any] | None,
        direction: str | None,
        candle_ts: Any,
        close: Any,
    ) -> None:
        """A filter (``stage``, filter ``check``) or a condition (strategy, condition): one item layout."""
        try:
            span = current_span()
            if extra is not None:
                extra = detach(extra, "extra")  # the bot may reuse its dict
            ts = now()
            item = (kind, ts, span, self._session, stage, symbol, check, value, threshold, passed, extra, direction,
                    candle_ts, close)  # fmt: skip
            if self._put(item) and passed is not True and span is not None and self._spans is not None:
                if is_failure(passed):
                    failed = self._spans.filter_failed if kind == FILTER else self._spans.condition_failed
                    failed(span, ts, stage, symbol, check, value, threshold, extra, direction, candle_ts, close)
        except Exception as exc:
            self._caller_failed(exc)

    def record(
        self,
        component: str,
        stage: str,
        symbol: str | None = None,
        payload: Mapping[str, Any] | None = None,
        reason: str | None = None,
        passed: bool | None = None,
    ) -> None:
        """Any other event, stored as given (a failure when ``passed is False``)."""
        if not self._on:
            return
        try:
            span = current_span()
            if payload is not None:
                payload = detach(payload, "payload")
            ts = now()
            queued = self._put((RECORD, ts, span, self._session, component, stage, symbol, payload, reason, passed))
            if queued and passed is not True and span is not None and self._spans is not None and is_failure(passed):
                self._spans.failed(span, ts, component, stage, symbol, reason, dict(payload or {}))
        except Exception as exc:
            self._caller_failed(exc)

    def record_signal(self, strategy: str, symbol: str | None, extra: Mapping[str, Any] | None = None) -> None:
        """A signal the strategy generated: component ``signal``, stage ``strategy``, payload ``signal: true``."""
        if not self._on:
            return
        try:
            span = current_span()
            if extra is not None:
                extra = detach(extra, "extra")
            ts = now()
            if self._put((SIGNAL, ts, span, self._session, strategy, symbol, extra)) and span is not None:
                if self._spans is not None:
                    self._spans.signal(span, ts, strategy, symbol, extra)
        except Exception as exc:
            self._caller_failed(exc)

    def increment_reason(self, reason: str) -> None:
        """Count a failure reason without an event (the seed's API; it reaches ``snapshot()`` and the metric)."""
        if not self._on:
            return
        try:
            self._put((REASON, reason))
        except Exception as exc:
            self._caller_failed(exc)

    def _caller_failed(self, exc: Exception) -> None:
        self._drops.add("all", "error")
        log_internal_error("recording a diagnostics event", exc)
        if internal_errors_raise():
            raise exc

    # --- lifecycle and inspection -------------------------------------------------------------------

    def update_session(self, session_id: str) -> None:
        """Start a new session: later events carry its id and go to its own journal file."""
        session_id = _check_session(session_id)
        if session_id == self.session_id:
            return
        path = journal_path(self.output_dir, session_id)
        self.session_id, self.output_path = session_id, path
        self._session = Session(session_id, path)

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until every event recorded before this call reached the sinks; False on timeout.

        The journal is then written (handed to the kernel); log records are with the logger provider, whose
        own batch processor exports them (``Telemetry.force_flush()`` pushes them out now).
        """
        if self._writer is None:
            return True
        return self._writer.flush(timeout)

    def close(self) -> None:
        """Stop accepting events, write what is queued, stop the writer. Safe to call twice."""
        self._on = False
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> DiagnosticsCollector:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def snapshot(self) -> dict[str, Any]:
        """Counts so far (events the writer has processed; call :meth:`flush` first for exact figures)."""
        pipeline = self._pipeline
        journal = pipeline.journal if pipeline is not None else None
        data: dict[str, Any] = {
            "session_id": self.session_id,
            "enabled": self.enabled,
            "event_count": 0,
            "reasons": {},
            "near_misses": 0,
            "signals": 0,
            "output_dir": str(self.output_dir),
            "output_path": str(self.output_path),
            "queue_depth": len(self._writer.queue) if self._writer is not None else 0,
            "queue_capacity": self._writer.capacity if self._writer is not None else 0,
            "dropped": self._drops.totals(),
            "sinks": {sink: ("on" if sink in self._sinks else "off") for sink in DIAGNOSTICS_SINKS},
            "journal_error": journal.error if journal is not None else None,
        }
        if journal is not None and journal.error is not None:
            data["sinks"]["jsonl"] = "disabled"
        if self._writer is not None and not self._writer.alive and self._on:
            data["sinks"] = {sink: "writer stopped" for sink in data["sinks"]}
        if pipeline is not None:
            counts = pipeline.counts
            with counts.stats_lock:
                data["event_count"] = counts.events
                data["reasons"] = dict(counts.reasons.most_common())
                data["near_misses"] = counts.near_misses
                data["signals"] = counts.signals
        return data

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        return f"<DiagnosticsCollector session={self.session_id!r} {state} path={str(self.output_path)!r}>"


def _closer(ref: weakref.ref[DiagnosticsCollector], finalizer: weakref.finalize[Any, Any]) -> Callable[[], None]:
    """The telemetry's shutdown hook: close the collector (so later calls are no-ops) without keeping it alive."""

    def close() -> None:
        collector = ref()
        if collector is not None:
            collector.close()
        else:
            finalizer()

    return close


def _check_session(session_id: object) -> str:
    if not isinstance(session_id, str) or not session_id.strip():
        raise ConfigError("session_id", session_id, "a non-empty string")
    return session_id
