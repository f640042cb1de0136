"""The diagnostics event and its journal form (one JSON object per line, the schema the report reads)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JOURNAL_FIELDS", "SCHEMA_VERSION", "DiagnosticsEvent"]

SCHEMA_VERSION = 1
# The keys of a journal line, in the order they are written (the documented journal schema).
JOURNAL_FIELDS: tuple[str, ...] = (
    "v",
    "ts",
    "session_id",
    "component",
    "stage",
    "symbol",
    "passed",
    "reason",
    "near_miss",
    "trace_id",
    "span_id",
    "payload",
)


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
        return {
            "v": SCHEMA_VERSION,
            "ts": self.ts,
            "session_id": self.session_id,
            "component": self.component,
            "stage": self.stage,
            "symbol": self.symbol,
            "passed": self.passed,
            "reason": self.reason,
            "near_miss": self.near_miss,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "payload": self.payload,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DiagnosticsEvent:
        """Read a decoded journal line; ``ValueError`` for another schema major version or a malformed line."""
        version = data.get("v")
        if type(version) is not int or version != SCHEMA_VERSION:
            raise ValueError(f"unsupported diagnostics schema version {version!r} (this reader knows {SCHEMA_VERSION})")
        try:
            ts = data["ts"]
            component, stage = data["component"], data["stage"]
        except KeyError as exc:
            raise ValueError(f"diagnostics line without {exc.args[0]!r}") from None
        payload = data.get("payload")
        passed = data.get("passed")
        if type(ts) not in (int, float) or type(component) is not str or type(stage) is not str:
            raise ValueError("diagnostics line with a malformed ts, component or stage")
        if not isinstance(payload, dict) or passed not in (True, False, None):
            raise ValueError("diagnostics line with a malformed payload or passed")
        return cls(
            ts=float(ts),
            component=component,
            stage=stage,
            symbol=_optional_text(data.get("symbol")),
            payload=payload,
            reason=_optional_text(data.get("reason")),
            passed=passed,
            session_id=str(data.get("session_id") or ""),
            trace_id=_optional_text(data.get("trace_id")),
            span_id=_optional_text(data.get("span_id")),
            near_miss=data.get("near_miss") is True,
        )


def _optional_text(value: object) -> str | None:
    return value if type(value) is str else None
