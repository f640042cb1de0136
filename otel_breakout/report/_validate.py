"""Line-level rules: why a line is not an event, and the full field checks the hot loop defers to.

Seed-format lines, as the original system wrote them (``ts``, ``component``, ``stage``, ``symbol``,
``payload``, ``reason``, ``passed``, and no ``v`` or ``session_id``), are read as events of schema 1: their
session is the one their file name carries (``diag_<session>_<epoch>.jsonl``, see :func:`legacy_session`)
and they have no trace. A line without ``v`` in a file whose name carries no session is still skipped.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

__all__ = ["LEGACY_FIELDS", "classify_bad_line", "fields_slow", "is_trace_id", "legacy_session", "strings_ok"]

_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def is_trace_id(text: str) -> bool:
    """32 lowercase hex digits, not all zero (the W3C invalid trace id)."""
    return _TRACE_ID.fullmatch(text) is not None and text != "0" * 32


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NonFinite(name)


def classify_bad_line(line: bytes, message: str, unterminated: bool) -> str | None:
    """The skip cause of a line orjson refused (``None``: a blank line, not worth reporting)."""
    if not line.strip():
        return None
    if unterminated:
        return "truncated"
    if "depth limit" in message or "recursion" in message:
        return "too_deep"
    if "infinity" in message or "NaN" in message:
        return "nan_or_infinity"
    if b"NaN" in line or b"Infinity" in line:
        try:
            json.loads(line, parse_constant=_reject_constant)
        except _NonFinite:
            return "nan_or_infinity"
        except (ValueError, RecursionError):
            pass
    return "not_json"


_FIELDS = ("v", "ts", "session_id", "component", "stage", "symbol", "passed", "reason", "trace_id", "payload")
_REQUIRED = ("v", "ts", "session_id", "component", "stage")
# The seed's DiagnosticsEvent, as its collector wrote it: these keys, no schema version, no session id.
LEGACY_FIELDS = ("ts", "component", "stage", "symbol", "payload", "reason", "passed")
_LEGACY_REQUIRED = ("ts", "component", "stage")
# diag_<session>_<epoch>[.<n>].jsonl[.gz], the name the seed's collector and ours give a journal.
_JOURNAL_NAME = re.compile(r"^diag_(?P<session>.+)_\d+(?:\.\d+)?\.jsonl(?:\.gz)?$")


def legacy_session(path: str) -> str | None:
    """The session a journal's file name carries (``diag_A_BTC_USDT_1755640800.jsonl`` -> ``A_BTC_USDT``)."""
    match = _JOURNAL_NAME.match(os.path.basename(path))
    return match.group("session") if match else None


def strings_ok(key: tuple[Any, ...]) -> bool:
    """Session, component and stage are strings; symbol and reason strings or null (shape key order)."""
    sid, comp, stage, sym, _, reason, _ = key
    return (
        type(sid) is str
        and type(comp) is str
        and type(stage) is str
        and (type(sym) is str or sym is None)
        and (type(reason) is str or reason is None)
    )


def fields_slow(obj: Any, legacy: str | None = None) -> tuple[Any, ...] | str:
    """The fields of an event, or the cause to skip it. Optional fields may be absent. ``legacy`` is the
    session of seed-format lines (no ``v``, no ``session_id``) in this file; None when its name carries none."""
    if type(obj) is not dict:
        return "not_an_object"
    if legacy is not None and "v" not in obj and "session_id" not in obj:
        if any(name not in obj for name in _LEGACY_REQUIRED):
            return "missing_field"
        obj = {**obj, "v": 1, "session_id": legacy, "trace_id": None}
    for name in _REQUIRED:
        if name not in obj:
            return "missing_field"
    v = obj["v"]
    if type(v) is float and 1.0 <= v < 2.0:
        pass  # a minor version of schema 1
    elif type(v) is int or type(v) is float:
        if v != 1:
            return "unknown_version"
    else:
        return "wrong_type"
    fields = tuple(obj.get(name) for name in _FIELDS)
    _, ts, sid, comp, stage, sym, passed, reason, tid, payload = fields
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
    return fields
