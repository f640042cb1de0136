"""The journal line's one codec: its fields and versions, how a line is written, and the rule every reader applies.

The collector writes lines with :func:`journal_line` (and :func:`encode`); the report, ``DiagnosticsEvent.from_json``
and the test corpora read them with :func:`decode`. A reader's hot loop may check the common line inline (the
report's scan does), provided it accepts exactly what :func:`decode` accepts; tests hold it to that.

Versions: schema 1 (``"v": 1``, or a float ``1.x`` from a writer of a later minor version, whose extra keys a
reader ignores) and the seed's lines (:data:`LEGACY_FIELDS`: no ``v``, no ``session_id``), which read as schema
1 when the journal's file name gives their session. Any other ``v`` is another major version: skipped.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = [
    "JOURNAL_FIELDS",
    "LEGACY_FIELDS",
    "OTHER",
    "REQUIRED_FIELDS",
    "SCHEMA_VERSION",
    "condition_payload",
    "decode",
    "encode",
    "filter_payload",
    "journal_line",
    "merge_extra",
    "signal_payload",
]

SCHEMA_VERSION = 1
# The keys of a journal line, in the order they are written.
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
# The seed's DiagnosticsEvent, as its collector wrote it: these keys, no schema version, no session id.
LEGACY_FIELDS: tuple[str, ...] = ("ts", "component", "stage", "symbol", "payload", "reason", "passed")
# The label that bounded tables and counters fold the rest into: reasons past OTEL_BREAKOUT_DIAG_MAX_REASONS
# in the counters and snapshot(), sessions, symbols and strategies past the report's caps.
OTHER = "(other)"

REQUIRED_FIELDS: tuple[str, ...] = ("v", "ts", "session_id", "component", "stage")
_LEGACY_REQUIRED = ("ts", "component", "stage")
_DUMPS = orjson.dumps
_NEWLINE = orjson.OPT_APPEND_NEWLINE


def journal_line(
    ts: float,
    session_id: str,
    component: str,
    stage: str,
    symbol: str | None,
    passed: bool | None,
    reason: str | None,
    near_miss: bool,
    trace_id: str | None,
    span_id: str | None,
    payload: Any,
) -> dict[str, Any]:
    """A journal line as a dict, keys in :data:`JOURNAL_FIELDS` order (the order is part of the contract)."""
    return {
        "v": SCHEMA_VERSION,
        "ts": ts,
        "session_id": session_id,
        "component": component,
        "stage": stage,
        "symbol": symbol,
        "passed": passed,
        "reason": reason,
        "near_miss": near_miss,
        "trace_id": trace_id,
        "span_id": span_id,
        "payload": payload,
    }


def filter_payload(name: Any, value: Any, threshold: Any, direction: Any, candle_ts: Any, close: Any) -> dict[Any, Any]:
    """``record_filter``'s payload: ``filter``, ``value``, ``threshold``, ``direction``, then ``candle_ts`` and
    ``close`` when given."""
    payload = {"filter": name, "value": value, "threshold": threshold, "direction": direction}
    if candle_ts is not None:
        payload["candle_ts"] = candle_ts
    if close is not None:
        payload["close"] = close
    return payload


def condition_payload(
    strategy: Any, condition: Any, value: Any, threshold: Any, direction: Any, candle_ts: Any, close: Any
) -> dict[Any, Any]:
    """``record_signal_condition``'s payload: ``candle_ts`` always (null when not given), ``close`` when given."""
    payload = {
        "strategy": strategy,
        "condition": condition,
        "value": value,
        "threshold": threshold,
        "direction": direction,
        "candle_ts": candle_ts,
    }
    if close is not None:
        payload["close"] = close
    return payload


def signal_payload(strategy: Any) -> dict[Any, Any]:
    """``record_signal``'s payload."""
    return {"strategy": strategy, "signal": True}


def merge_extra(payload: dict[Any, Any], extra: Any) -> dict[Any, Any]:
    """Add the caller's ``extra`` fields to a payload built from a ``record_*()`` call's arguments; one that would
    overwrite a field the payload already has is kept as ``extra_<key>``. Returns ``payload``."""
    if extra:
        reserved = payload.keys() & extra.keys()
        for key, value in extra.items():
            payload[f"extra_{key}" if key in reserved else key] = value
    return payload


def encode(line: dict[str, Any]) -> bytes:
    """The bytes of one line, newline-terminated (the payload must be JSON-safe: the collector coerced it)."""
    return _DUMPS(line, option=_NEWLINE)


def decode(obj: Any, legacy_session: str | None = None) -> tuple[Any, ...] | str:
    """A decoded line's fields in :data:`JOURNAL_FIELDS` order, or why it is not an event (a skip cause:
    ``not_an_object``, ``missing_field``, ``unknown_version``, ``wrong_type``).

    Required: ``v``, ``ts``, ``session_id``, ``component``, ``stage``; the others may be absent (null). A null
    payload reads as null (the report) and a ``near_miss`` other than ``true`` as false: readers recompute it.
    ``span_id`` is informational: anything but a string reads as null. ``legacy_session`` is the session of the
    seed's lines (no ``v``, no ``session_id``) in this journal, from its file name; None when it gives none,
    and such lines are then ``missing_field``.
    """
    if type(obj) is not dict:
        return "not_an_object"
    if legacy_session is not None and "v" not in obj and "session_id" not in obj:
        if any(name not in obj for name in _LEGACY_REQUIRED):
            return "missing_field"
        obj = {**obj, "v": SCHEMA_VERSION, "session_id": legacy_session, "trace_id": None, "span_id": None}
    for name in REQUIRED_FIELDS:
        if name not in obj:
            return "missing_field"
    v = obj["v"]
    if type(v) is float and SCHEMA_VERSION <= v < SCHEMA_VERSION + 1:
        pass  # a minor version of schema 1
    elif type(v) is int or type(v) is float:
        if v != SCHEMA_VERSION:
            return "unknown_version"
    else:
        return "wrong_type"
    get = obj.get
    ts, sid, comp, stage = obj["ts"], obj["session_id"], obj["component"], obj["stage"]
    sym, passed, reason, tid, payload = get("symbol"), get("passed"), get("reason"), get("trace_id"), get("payload")
    if not (
        type(sid) is str
        and type(comp) is str
        and type(stage) is str
        and (type(ts) is float or type(ts) is int)
        and (type(sym) is str or sym is None)
        and (passed is False or passed is True or passed is None)
        and (type(reason) is str or reason is None)
        and (type(tid) is str or tid is None)
        and (type(payload) is dict or payload is None)
    ):
        return "wrong_type"
    span = get("span_id")
    return (v, ts, sid, comp, stage, sym, passed, reason, get("near_miss") is True, tid,
            span if type(span) is str else None, payload)  # fmt: skip
