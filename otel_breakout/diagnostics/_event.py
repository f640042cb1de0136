"""The diagnostics event: the record every sink and listener sees, and its journal line (see :mod:`._schema`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from otel_breakout.diagnostics._schema import REQUIRED_FIELDS, SCHEMA_VERSION, decode, journal_line

__all__ = ["DiagnosticsEvent"]

_PROBLEMS = {
    "missing_field": f"a required field ({', '.join(REQUIRED_FIELDS)}) is missing",
    "wrong_type": "a field has the wrong type (see the journal schema)",
}


@dataclass(frozen=True, slots=True)
class DiagnosticsEvent:
    """One evaluation or occurrence, as every sink saw it (payload already coerced and scrubbed).

    The first seven fields are the seed's; ``session_id``, ``trace_id``/``span_id`` (hex, of the span current
    when it was recorded) and ``near_miss`` were added for correlation and tuning.
    """

    ts: float
    component: str
    stage: str
    symbol: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    passed: bool | None = None
    session_id: str = ""
    trace_id: str | None = None
    span_id: str | None = None
    near_miss: bool = False

    def to_json(self) -> dict[str, Any]:
        """The journal line as a dict, keys in schema order."""
        return journal_line(
            self.ts,
            self.session_id,
            self.component,
            self.stage,
            self.symbol,
            self.passed,
            self.reason,
            self.near_miss,
            self.trace_id,
            self.span_id,
            self.payload,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, legacy_session: str | None = None) -> DiagnosticsEvent:
        """Read a decoded journal line by the rule every reader applies (:func:`._schema.decode`): ``ValueError``
        for another schema major version or a malformed line. ``legacy_session`` reads the seed's lines (no
        ``v``, no ``session_id``) as events of that session."""
        fields = decode(data if type(data) is dict else dict(data), legacy_session)
        if isinstance(fields, str):
            if fields == "unknown_version":
                raise ValueError(
                    f"unsupported diagnostics schema version {data.get('v')!r} (this reader knows {SCHEMA_VERSION})"
                )
            raise ValueError(f"unreadable diagnostics line: {_PROBLEMS.get(fields, fields)}")
        _, ts, session_id, component, stage, symbol, passed, reason, near_miss, trace_id, span_id, payload = fields
        return cls(
            ts=float(ts),
            component=component,
            stage=stage,
            symbol=symbol,
            payload=payload if payload is not None else {},
            reason=reason,
            passed=passed,
            session_id=session_id,
            trace_id=trace_id,
            span_id=span_id,
            near_miss=near_miss,
        )
