"""Line-level rules of the report's scan: why bytes are not a JSON line, and the checks its hot loop shares.

Which decoded lines are events (versions, the seed's lines, field types) is the journal codec's rule,
:func:`otel_breakout.diagnostics._schema.decode`; the scan's hot loop checks the common line inline and defers
every other one to it.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["classify_bad_line", "is_trace_id", "strings_ok"]

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
