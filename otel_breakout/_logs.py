"""Standard-library logging: trace ids on every record, OTel export, and a local JSON-lines file."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry._logs import LoggerProvider

from otel_breakout._scrub import default_scrubber
from otel_breakout._settings import ConfigError

__all__ = [
    "JsonLinesFormatter",
    "check_log_file",
    "export_recovered",
    "install_export_error_dedupe",
    "install_logging",
    "install_trace_context_factory",
]

# The loggers the OTLP exporters report failed exports on (one per exporter module), and the batch
# processors' (a full queue while the collector does not answer: one warning per dropped item).
_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.sdk._shared_internal",
)

_factory_lock = threading.Lock()
_factory_installed = False


def install_trace_context_factory() -> None:
    """Give every ``LogRecord`` ``trace_id`` and ``span_id`` (hex, or ``None`` outside a span).

    A record factory rather than a filter, so that records reaching any handler, including the user's own
    formatters (``%(trace_id)s``), carry them. Installed once per process, chaining the previous factory.
    """
    global _factory_installed
    with _factory_lock:
        if _factory_installed:
            return
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            ctx = trace.get_current_span().get_span_context()
            if ctx.is_valid:
                record.trace_id = format(ctx.trace_id, "032x")
                record.span_id = format(ctx.span_id, "016x")
            else:
                record.trace_id = None
                record.span_id = None
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True


class _ExportErrorDedupe(logging.Filter):
    """Let one export failure through per interval; count the rest.

    With the collector down or black-holed, every batch of every signal logs a warning and an error, every
    few seconds, forever. One line says what is wrong; the next, an interval later, says how many more
    there were. The bot's own log stays readable.
    """

    def __init__(self, interval_s: float) -> None:
        super().__init__()
        self._interval = interval_s
        self._lock = threading.Lock()
        self._last: float | None = None
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = record.created
        with self._lock:
            if self._last is not None and now - self._last < self._interval:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        minutes = self._interval / 60
        note = f" ({suppressed} more export errors since the last report)" if suppressed else ""
        # The exporters name their endpoint, with any user:password in it (gRPC prints "user:pw@host:4317").
        record.msg = default_scrubber().text(
            f"{record.getMessage()}{note}; telemetry export is failing, the bot keeps running; further "
            f"export errors are counted and reported at most every {minutes:g} min"
        )
        record.args = None
        return True

    def recovered(self, now: float, quiet_s: float = 60.0) -> None:
        """The endpoint answers again: the next outage is reported once ``quiet_s`` passed, not a whole interval."""
        with self._lock:
            if self._last is not None:
                self._last = min(self._last, now - self._interval + quiet_s)


_dedupe_lock = threading.Lock()
_dedupe: _ExportErrorDedupe | None = None


def install_export_error_dedupe(interval_s: float = 600.0) -> None:
    """Attach the export-failure filter to every OTLP exporter logger (once per process)."""
    global _dedupe
    with _dedupe_lock:
        if _dedupe is not None:
            return
        _dedupe = _ExportErrorDedupe(interval_s)
        for name in _EXPORTER_LOGGERS:
            logging.getLogger(name).addFilter(_dedupe)


def export_recovered() -> None:
    """Called when a collector answers again after an outage, so that the next outage is not hidden for long."""
    dedupe = _dedupe
    if dedupe is not None:
        dedupe.recovered(time.time())


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace and span ids, and the exception; the
    message and the exception text scrubbed of secrets (``otel_breakout._scrub``)."""

    def format(self, record: logging.LogRecord) -> str:
        scrub = default_scrubber().text
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="microseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            data["exception"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(data, default=str).decode()


def _otel_handler_class() -> Any:
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    class BreakoutLoggingHandler(LoggingHandler):
        """Exports stdlib records as OTel log records, deferring to any other OTel handler on the root.

        Under ``opentelemetry-instrument`` the logging instrumentation attaches its own handler after our
        configurator ran; exporting every record twice would double every log line in Loki.
        """

        def emit(self, record: logging.LogRecord) -> None:
            for handler in logging.getLogger().handlers:
                if (
                    handler is not self
                    and isinstance(handler, LoggingHandler)
                    and not isinstance(handler, BreakoutLoggingHandler)
                ):
                    return
            super().emit(_scrubbed_record(record))

        def _get_attributes(self, record: logging.LogRecord) -> Any:
            # trace_id/span_id are on the record for formatters; the OTel record carries them natively.
            attributes, event_name = super()._get_attributes(record)
            attributes.pop("trace_id", None)
            attributes.pop("span_id", None)
            scrubber = default_scrubber()
            for key, value in attributes.items():
                # `extra=` fields and the exception's message and stack trace.
                attributes[key] = scrubber.value(key, value) if not key.startswith("code.") else value
            return attributes, event_name

    return BreakoutLoggingHandler


class _LastResort(logging.Handler):
    """Python's last-resort stderr output, kept while our handlers are the only ones a record would reach.

    With no handler anywhere, logging prints WARNING and above to stderr (``logging.lastResort``). The
    handlers ``configure()`` adds to the root (OTel export, the JSON file) would silence that, and the bot's
    own warnings would then reach only the telemetry pipeline, perhaps a dead collector. This handler hands
    such records to ``logging.lastResort`` and stands aside for any logger path that has a handler of its own
    (the user's logging), so nothing prints twice; ``logging.lastResort = None`` silences it as it would Python.
    """

    def __init__(self, ours: list[logging.Handler]) -> None:
        super().__init__(logging.WARNING)
        self._ours = ours

    def emit(self, record: logging.LogRecord) -> None:
        resort = logging.lastResort
        if resort is None or record.levelno < resort.level:
            return
        logger: logging.Logger | None = logging.Logger.manager.loggerDict.get(record.name)  # type: ignore[assignment]  # may be a PlaceHolder
        if not isinstance(logger, logging.Logger):
            logger = logging.getLogger()
        while logger is not None:
            if any(handler is not self and handler not in self._ours for handler in logger.handlers):
                return
            logger = logger.parent if logger.propagate else None
        resort.handle(_scrubbed_record(record))  # stderr is one of our sinks too: scrubbed like the others


def _scrubbed_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record itself when its message needs no scrubbing, else a copy with the scrubbed message (the
    record is shared with the other handlers, which must see it as logged)."""
    message = record.getMessage()
    clean = default_scrubber().text(message)
    if clean == message:
        return record
    copy = logging.makeLogRecord(record.__dict__)
    copy.msg, copy.args = clean, None
    return copy


def _not_from_sdk(record: logging.LogRecord) -> bool:
    return not record.name.startswith("opentelemetry")


class _LogFileHandler(logging.handlers.RotatingFileHandler):
    """The JSON-lines log file. A record it cannot write (disk full, its directory removed) is counted, and only
    the first one is reported, in one line on stderr: never a traceback per record, as ``handleError`` prints."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = 0

    def handleError(self, record: logging.LogRecord) -> None:
        self.failures += 1
        if self.failures == 1 and logging.raiseExceptions:
            error = sys.exc_info()[1]
            try:
                sys.stderr.write(
                    f"otel-breakout: cannot write the log file {self.baseFilename}: {error}; the bot keeps running, "
                    "and later records that cannot be written are counted, not reported\n"
                )
            except Exception:  # stderr gone too: nothing left to tell
                pass


def check_log_file(path: str, source: str = "OTEL_BREAKOUT_LOG_FILE") -> None:
    """Raise :class:`ConfigError` unless ``path`` can be the log file: not a directory, under a directory that
    exists or can be created, and writable (checked by opening it for append, which creates it)."""
    if os.path.isdir(path):
        raise ConfigError(source, path, "a file path, not a directory (e.g. logs/app.log)")
    directory = os.path.dirname(path)
    existing = os.path.abspath(directory or ".")
    while not os.path.lexists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(source, path, f"a file path under a directory ({existing} is a file, not a directory)")
    try:
        if directory:
            os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        os.close(fd)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(source, path, f"a file path in a writable directory ({reason})") from None


def install_logging(
    *,
    level: str,
    log_file: str | None,
    max_bytes: int,
    backups: int,
    logger_provider: LoggerProvider | None,
    log_file_source: str = "OTEL_BREAKOUT_LOG_FILE",
) -> list[logging.Handler]:
    """Attach our handlers to the root logger and return them (``Telemetry.shutdown`` removes them).

    A ``log_file`` that cannot be written raises :class:`ConfigError` naming ``log_file_source``.
    """
    install_trace_context_factory()
    install_export_error_dedupe()
    handlers: list[logging.Handler] = []
    if logger_provider is not None:
        otel_handler = _otel_handler_class()(level=logging.getLevelName(level), logger_provider=logger_provider)
        # The SDK logs its own export failures; exporting those through the failing exporter would only
        # feed the failure back into the queue.
        otel_handler.addFilter(_not_from_sdk)
        handlers.append(otel_handler)
    if log_file:
        check_log_file(log_file, log_file_source)
        file_handler = _LogFileHandler(log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)
        file_handler.setLevel(level)
        file_handler.setFormatter(JsonLinesFormatter())
        handlers.append(file_handler)
    if handlers:
        handlers.append(_LastResort(list(handlers)))
    root = logging.getLogger()
    for handler in handlers:
        root.addHandler(handler)
    # The root logger defaults to WARNING, which would silently drop the bot's INFO lines before they
    # reach our handlers; lower it, never raise it.
    if handlers and root.getEffectiveLevel() > logging.getLevelName(level):
        root.setLevel(level)
    return handlers
