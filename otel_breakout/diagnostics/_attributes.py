"""The OTel attribute form of a diagnostics event, shared by log records and span events."""

from __future__ import annotations

import itertools
from typing import Any

from otel_breakout.diagnostics._coerce import Sanitizer

__all__ = ["PAYLOAD_PREFIX", "otel_attributes"]

PAYLOAD_PREFIX = "breakout.diag.payload."
_MAX_ATTRIBUTES = 120


def otel_attributes(
    sanitizer: Sanitizer,
    component: str,
    stage: str,
    symbol: str | None,
    reason: str | None,
    passed: bool | None,
    near: bool,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The attributes of a log record or span event (docs/diagnostics.md, "Log records and span events").

    Lean on purpose: each attribute costs every exporter and backend on every record. The session id is
    in the journal and the trace context links the record to it; ``passed`` appears only when no failure
    reason already says it, ``near_miss`` only when true.
    """
    attributes: dict[str, Any] = {"breakout.diag.component": component, "breakout.diag.stage": stage}
    if symbol is not None:
        attributes["breakout.diag.symbol"] = symbol
    if reason is not None:
        attributes["breakout.diag.reason"] = reason
    if passed is not None and (passed or reason is None):
        attributes["breakout.diag.passed"] = passed
    if near:
        attributes["breakout.diag.near_miss"] = True
    sanitizer.flatten(payload, PAYLOAD_PREFIX, attributes)
    if len(attributes) > _MAX_ATTRIBUTES:
        # The SDK keeps 128 attributes per record or event (and warns on each record past that): keep the
        # first ones, say how many were cut.
        cut = len(attributes) - _MAX_ATTRIBUTES + 1
        attributes = dict(itertools.islice(attributes.items(), _MAX_ATTRIBUTES - 1))
        attributes["breakout.diag.payload_truncated"] = cut
    return attributes
