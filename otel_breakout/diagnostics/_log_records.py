"""Diagnostics events as OTel log records: severity, body and attributes, emitted with the event's trace context."""

from __future__ import annotations

from typing import Any

from opentelemetry._logs import Logger, LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import Logger as SdkLogger
from opentelemetry.sdk._logs import LogRecordLimits

from otel_breakout._log_batches import prepared_record
from otel_breakout.diagnostics._attributes import otel_attributes
from otel_breakout.diagnostics._coerce import Sanitizer

__all__ = ["EventLogs"]

_INFO, _DEBUG = SeverityNumber.INFO, SeverityNumber.DEBUG


class EventLogs:
    """Formats clean events (scrubbed, JSON-safe payloads) as log records and emits them through one logger.

    Through an SDK logger the records go out prepared (``otel_breakout._log_batches``): their attributes are
    final as built here, so the SDK does not clean them again and our batch processor does not copy them.
    """

    __slots__ = ("_limits", "logger", "sanitizer")

    def __init__(self, logger: Logger, sanitizer: Sanitizer) -> None:
        self.logger = logger
        self.sanitizer = sanitizer
        # The limits the SDK logger applies (its provider's, read from the environment unless given in code).
        self._limits: LogRecordLimits | None = None
        if isinstance(logger, SdkLogger):
            limits = getattr(logger, "_log_record_limits", None)
            self._limits = limits if isinstance(limits, LogRecordLimits) else LogRecordLimits()

    def live(self) -> bool:
        """Whether the logger would emit anything now (checked once per batch)."""
        enabled = getattr(self.logger, "enabled", None)
        if enabled is None:
            return True
        try:
            return bool(enabled(severity_number=SeverityNumber.INFO))
        except TypeError:  # an older API without the keyword
            return True

    def emit(
        self,
        ts: float,
        context: Context,
        component: str,
        stage: str,
        symbol: str | None,
        payload: dict[str, Any],
        reason: str | None,
        passed: bool | None,
        near: bool,
        signal: bool,
        check: str,
    ) -> None:
        attributes = otel_attributes(self.sanitizer, component, stage, symbol, reason, passed, near, payload)
        who = symbol if symbol is not None else "-"
        severity, severity_text = _INFO, "INFO"
        if signal:
            body = f"{who} signal from {stage}"
        elif passed is False:
            label = reason if reason is not None else f"{component}/{stage}"
            body = f"{who} failed {label} (near miss)" if near else f"{who} failed {label}"
        else:
            body = f"{who} passed {component}/{stage}/{check}"
            severity, severity_text = _DEBUG, "DEBUG"
        record = LogRecord(
            timestamp=int(ts * 1e9),
            context=context,
            severity_number=severity,
            severity_text=severity_text,
            body=body,
            attributes=attributes,
        )
        logger = self.logger
        if self._limits is not None:
            assert isinstance(logger, SdkLogger)  # _limits is set for SDK loggers only
            prepared = prepared_record(record, logger.resource, logger.instrumentation_scope, self._limits)
            # The SDK logger emits a ReadWriteLogRecord as it is (it checks for one); its signature names the API type.
            logger.emit(prepared)  # type: ignore[arg-type]
        else:
            logger.emit(record)
