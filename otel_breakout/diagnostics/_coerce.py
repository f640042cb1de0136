"""Make any payload JSON-safe and secret-free before it reaches a sink.

One :class:`Sanitizer` runs before every sink (journal, log records, span events, counters, capture
listeners), so a secret or a value JSON cannot hold is handled once, the same way everywhere. The rules are
documented in docs/journal.md ("Values JSON cannot hold") and docs/hostile-conditions.md ("What is
scrubbed where") because the journal is a
contract:

- secrets follow :mod:`otel_breakout._scrub`: a payload key that names a credential keeps its name and gets
  the value ``"[REDACTED]"`` (at any depth, in a ``[name, value]`` pair of a header list, and in a
  ``{"name": ..., "value": ...}`` entry); a string that is a credential becomes ``"[REDACTED]"``, one that
  holds a credential among other text has it replaced in place (also in ``repr`` text of other objects and
  in the top-level ``component``, ``stage``, ``symbol`` and ``reason`` fields);
- NaN and ±infinity become ``null`` with a sibling ``"<key>__coerced": "nan" | "inf" | "-inf"`` (in a list,
  the strings ``"nan"``, ``"inf"``, ``"-inf"``);
- lossless conversions are silent: ``Decimal`` and numpy numbers become JSON numbers, ``datetime``/``date``/
  ``time`` ISO 8601 strings, ``timedelta`` seconds, enums their value, tuples lists, sets sorted lists,
  mappings objects with string keys, paths and UUIDs strings;
- lossy ones add the sibling marker: ``"truncated"`` (strings over the limit, lists over 256 items),
  ``"bytes"`` (decoded as UTF-8 with backslash escapes), ``"bigint"`` (integers outside int64, as decimal
  text), ``"object"`` (anything else, as its ``repr``), ``"cycle"`` and ``"depth"`` (a reference cycle or
  nesting deeper than 8, replaced by ``"<cycle>"`` / ``"<depth>"``).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import orjson

from otel_breakout._scrub import DEFAULT_SECRET_KEYS, REDACTED, Scrubber, needs_scrub

__all__ = [
    "DEFAULT_SECRET_KEYS",
    "MARKER_SUFFIX",
    "REDACTED",
    "Sanitizer",
    "coerce_passed",
    "field_text",
]

MARKER_SUFFIX = "__coerced"
_MAX_DEPTH = 8
_MAX_ITEMS = 256
_MAX_KEY = 256
_MAX_FIELD = 256
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_NON_FINITE = ("nan", "inf", "-inf")
# Shorter strings hold no credential the text rules find ("pwd=x" is the shortest).
_MIN_SECRET_TEXT = 5
# Scrub this much beyond the string limit before cutting, so a cut never splits a credential from its key.
_SCRUB_SLACK = 256
# Short texts (names, stages, symbols, reasons, enum-like payload values) recur: their scrubbed form is kept,
# for at most this many of them.
_CACHED_TEXT = 64
_TEXT_CACHE_LIMIT = 16_384

Json = Any  # str | int | float | bool | None | list[Json] | dict[str, Json]


def _non_finite(number: float) -> str:
    return "nan" if number != number else ("inf" if number > 0 else "-inf")


def _safe_text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unreprable {type(value).__name__}>"


def field_text(value: object, limit: int = _MAX_FIELD) -> str | None:
    """A top-level journal field (component, stage, symbol, reason): text, at most ``limit`` characters."""
    if value is None:
        return None
    text = value if type(value) is str else _safe_text(value)
    return text if len(text) <= limit else text[:limit] + "…"


def coerce_passed(value: object) -> bool | None:
    """``passed`` is true, false or unknown; numpy booleans and 0/1 are read as such, anything else is unknown."""
    if value is True or value is False or value is None:
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        try:
            value = value.item()
        except Exception:
            return None
        if value is True or value is False:
            return value
    if type(value) in (int, float) and value in (0, 1):
        return bool(value)
    return None


class Sanitizer:
    """Turns payloads into JSON-safe, scrubbed dictionaries, and flattens them into OTel attributes."""

    __slots__ = ("_keys", "_scrub", "_texts", "max_string")

    def __init__(self, *, max_string: int = 4096, extra_secret_keys: Iterable[str] = ()) -> None:
        self.max_string = max_string
        self._scrub = Scrubber(extra_secret_keys)
        # The scrubber's key cache (key -> is it secret), read directly by the payload fast check.
        self._keys = self._scrub._keys
        # Short text -> its scrubbed form (itself when clean); read and filled without a lock from several
        # threads (dict reads and stores are atomic).
        self._texts: dict[str, str] = {}

    @property
    def scrubber(self) -> Scrubber:
        return self._scrub

    def is_secret_key(self, key: str) -> bool:
        return self._scrub.is_secret_key(key)

    def field(self, value: object) -> str | None:
        """A top-level field (component, stage, symbol, reason, a check name): text of at most 256 characters,
        scrubbed like a payload string."""
        if value is None:
            return None
        if type(value) is str:
            known = self._texts.get(value)
            if known is not None:
                return known
            text = value
        else:
            text = _safe_text(value)
        if len(text) >= _MIN_SECRET_TEXT:
            head = text[: _MAX_FIELD + _SCRUB_SLACK]
            if needs_scrub(head):
                text = self._scrub.text(head)
        if len(text) > _MAX_FIELD:
            return text[:_MAX_FIELD] + "…"
        if type(value) is str and len(value) <= _CACHED_TEXT and len(self._texts) < _TEXT_CACHE_LIMIT:
            self._texts[value] = text
        return text

    # --- payloads ---------------------------------------------------------------------------------

    def payload(self, data: dict[Any, Any]) -> dict[str, Json]:
        """``data`` itself when it is already clean (the common case, checked without copying), else a clean copy."""
        keys = self._keys
        texts = self._texts
        limit = self.max_string
        for key, value in data.items():
            if keys.get(key) is not False:  # unknown (or non-string) keys and secret keys take the slow path
                return self._dict(data, 0, set())
            kind = type(value)
            if kind is str:
                if len(value) > limit:
                    return self._dict(data, 0, set())
                if len(value) >= _MIN_SECRET_TEXT and texts.get(value) is not value:
                    if needs_scrub(value):
                        return self._dict(data, 0, set())
                    if len(value) <= _CACHED_TEXT and len(texts) < _TEXT_CACHE_LIMIT:
                        texts[value] = value
            elif kind is float:
                if value - value != 0.0:  # NaN and ±inf, without a function call
                    return self._dict(data, 0, set())
            elif kind is int:
                if not _INT_MIN <= value <= _INT_MAX:
                    return self._dict(data, 0, set())
            elif kind is not bool and value is not None:
                return self._dict(data, 0, set())
        return data

    def _key(self, key: object) -> str:
        text = key if type(key) is str else _safe_text(key)
        return text if len(text) <= _MAX_KEY else text[:_MAX_KEY] + "…"

    def _dict(self, data: Mapping[Any, Any], depth: int, active: set[int]) -> dict[str, Json]:
        out: dict[str, Json] = {}
        active.add(id(data))
        try:
            try:
                items = list(data.items())
            except Exception:
                return {"<payload>": self._text(_safe_repr(data)[:256])[0]}
            for index, (raw_key, value) in enumerate(items):
                if index >= _MAX_ITEMS:
                    out["__truncated_keys"] = len(items) - _MAX_ITEMS
                    break
                key = self._key(raw_key)
                if self.is_secret_key(key):
                    out[key] = REDACTED
                    continue
                clean, marker = self._value(value, depth + 1, active)
                out[key] = clean
                if marker is not None:
                    out[key + MARKER_SUFFIX] = marker
            # {"name": "X-MBX-APIKEY", "value": "..."}: a header or parameter list spelled as records.
            name = out.get("name", out.get("key"))
            if "value" in out and type(name) is str and self.is_secret_key(name):
                out["value"] = REDACTED
        finally:
            active.discard(id(data))
        return out

    def _text(self, text: str) -> tuple[Json, str | None]:
        limit = self.max_string
        length = len(text)
        if length >= _MIN_SECRET_TEXT:
            head = text if length <= limit + _SCRUB_SLACK else text[: limit + _SCRUB_SLACK]
            if needs_scrub(head):
                text = self._scrub.text(head)
                if text == REDACTED:
                    return REDACTED, None
        if length > limit:
            return f"{text[:limit]}…[truncated {length - limit} chars]", "truncated"
        return text, None

    def _number(self, number: float) -> tuple[Json, str | None]:
        if math.isfinite(number):
            return number, None
        return None, _non_finite(number)

    def _value(self, value: object, depth: int, active: set[int]) -> tuple[Json, str | None]:
        kind = type(value)
        if value is None or kind is bool:
            return value, None
        if kind is str:
            return self._text(value)  # type: ignore[arg-type]  # narrowed by the type check
        if kind is int:
            return self._int(value)  # type: ignore[arg-type]  # narrowed by the type check
        if kind is float:
            return self._number(value)  # type: ignore[arg-type]  # narrowed by the type check
        if depth > _MAX_DEPTH:
            return "<depth>", "depth"
        if isinstance(value, enum.Enum):
            return self._value(value.value, depth + 1, active)
        if isinstance(value, str):
            return self._text(str.__str__(value))
        if isinstance(value, bool):
            return bool(value), None
        if isinstance(value, int):
            return self._int(int(value))
        if isinstance(value, float):
            return self._number(float(value))
        if isinstance(value, Decimal):
            return self._decimal(value)
        if kind.__module__ == "numpy":
            return self._numpy(value, depth, active)
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return value.isoformat(), None
        if isinstance(value, dt.timedelta):
            return value.total_seconds(), None
        if isinstance(value, (bytes, bytearray, memoryview)):
            text, _ = self._text(bytes(value).decode("utf-8", "backslashreplace"))
            return text, "bytes"
        if isinstance(value, (PurePath, uuid.UUID)):
            return self._text(str(value))
        if id(value) in active:
            return "<cycle>", "cycle"
        if isinstance(value, Mapping):
            return self._dict(value, depth, active), None
        if isinstance(value, (list, tuple, set, frozenset)) or (
            isinstance(value, Sequence) and not isinstance(value, (bytes, str))
        ):
            return self._list(value, depth, active)
        text, _ = self._text(_safe_repr(value))
        return text, "object"

    def _int(self, number: int) -> tuple[Json, str | None]:
        if _INT_MIN <= number <= _INT_MAX:
            return number, None
        try:
            text = str(number)
        except ValueError:  # more digits than int->str conversion allows
            return f"<{number.bit_length()}-bit integer>", "bigint"
        return self._text(text)[0], "bigint"

    def _decimal(self, number: Decimal) -> tuple[Json, str | None]:
        if number.is_nan():
            return None, "nan"
        if number.is_infinite():
            return None, "-inf" if number.is_signed() else "inf"
        return self._number(float(number))  # an overflowing float comes back as inf and is marked so

    def _numpy(self, value: Any, depth: int, active: set[int]) -> tuple[Json, str | None]:
        try:
            if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
                return self._value(value.item(), depth + 1, active)
            if hasattr(value, "tolist"):
                return self._value(value.tolist(), depth + 1, active)
        except Exception:
            pass
        text, _ = self._text(_safe_repr(value))
        return text, "object"

    def _list(self, value: Iterable[Any], depth: int, active: set[int]) -> tuple[Json, str | None]:
        active.add(id(value))
        marker = None
        try:
            items = list(value)
            if isinstance(value, (set, frozenset)):
                try:
                    items.sort()
                except TypeError:
                    pass  # mixed types: iteration order, still deterministic for one process
            if len(items) > _MAX_ITEMS:
                items, marker = items[:_MAX_ITEMS], "truncated"
            out: list[Json] = []
            for item in items:
                clean, item_marker = self._value(item, depth + 1, active)
                out.append(item_marker if item_marker in _NON_FINITE else clean)
            if len(out) == 2 and type(out[0]) is str and self.is_secret_key(out[0]):
                out[1] = REDACTED  # ["X-MBX-APIKEY", "..."]: one pair of a header or parameter list
        except Exception:
            return self._text(_safe_repr(value))[0], "object"
        finally:
            active.discard(id(value))
        return out, marker

    # --- OTel attributes --------------------------------------------------------------------------

    def flatten(self, payload: Mapping[str, Json], prefix: str, out: dict[str, Any]) -> None:
        """Clean payload -> OTel attributes: nested keys joined with dots, lists of one primitive type kept."""
        for key, value in payload.items():
            name = prefix + key
            kind = type(value)
            if kind is str or kind is float or kind is int or kind is bool:
                out[name] = value
            elif kind is dict:
                self.flatten(value, name + ".", out)
            elif kind is list:
                out[name] = _attribute_list(value)
            # None has no attribute form; its "__coerced" marker, when any, says why it is missing.


def _attribute_list(items: list[Json]) -> Any:
    kinds = {type(item) for item in items}
    if len(kinds) == 1 and kinds <= {str, bool, int, float}:
        return tuple(items)
    return orjson.dumps(items).decode()
