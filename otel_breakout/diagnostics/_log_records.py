"""Diagnostics events as OTel log records: severity, body and attributes, emitted with the event's trace context."""

from __future__ import annotations

from typing import Any

from opentelemetry._logs import Logger, LogRecord, SeverityNumber
from opentelemetry.context import Context

from otel_breakout.diagnostics._attributes import otel_attributes
from otel_breakout.diagnostics._coerce import Sanitizer

__all__ = ["EventLogs"]

_INFO, _DEBUG = SeverityNumber.INFO, SeverityNumber.DEBUG


class EventLogs:
    """Formats clean events (scrubbed, JSON-safe payloads) as log records and emits them through one logger."""

    __slots__ = ("logger", "sanitizer")

    def __init__(self, logger: Logger, sanitizer: Sanitizer) -> None:
        self.logger = logger
        self.sanitizer = sanitizer

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
        self.logger.emit(
            LogRecord(
                timestamp=int(ts * 1e9),
                context=context,
                severity_number=severity,
                severity_text=severity_text,
                body=body,
                attributes=attributes,
            )
        )
