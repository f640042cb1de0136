"""Make any payload JSON-safe and secret-free before it reaches a sink.

One :class:`Sanitizer` runs before every sink (journal, log records, span events, capture listeners), so a
secret or a value JSON cannot hold is handled once, the same way everywhere. The rules are documented in
the README ("Values JSON cannot hold") because the journal is a contract:

- a payload key matching a secret pattern keeps its name and gets the value ``"[REDACTED]"``; so do string
  values that carry a private-key block or an HTTP ``Bearer``/``Basic`` credential;
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
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import orjson

__all__ = [
    "DEFAULT_SECRET_KEYS",
    "MARKER_SUFFIX",
    "REDACTED",
    "Sanitizer",
    "coerce_passed",
    "field_text",
    "looks_secret",
]

REDACTED = "[REDACTED]"
MARKER_SUFFIX = "__coerced"
# Substrings (regular expressions, case-insensitive) of payload keys whose values never leave the process.
DEFAULT_SECRET_KEYS: tuple[str, ...] = (
    r"api[-_ .]?key",
    r"secret",
    r"passw(?:or)?d",
    r"passphrase",
    r"token",
    r"authori[sz]ation",
    r"private[-_ .]?key",
    r"cookie",
    r"session",
    r"credential",
    r"signature",
)
_MAX_DEPTH = 8
_MAX_ITEMS = 256
_MAX_KEY = 256
_MAX_FIELD = 256
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_KEY_CACHE_LIMIT = 4096
_NON_FINITE = ("nan", "inf", "-inf")

Json = Any  # str | int | float | bool | None | list[Json] | dict[str, Json]


def looks_secret(text: str) -> bool:
    """Credentials that give themselves away whatever key they sit under."""
    return "PRIVATE KEY" in text or text.startswith(("Bearer ", "bearer ", "Basic ", "basic "))


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

    __slots__ = ("_keys", "_secret", "max_string")

    def __init__(self, *, max_string: int = 4096, extra_secret_keys: Iterable[str] = ()) -> None:
        self.max_string = max_string
        patterns = (*DEFAULT_SECRET_KEYS, *extra_secret_keys)
        self._secret = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        # key -> is it a secret key; read without a lock from several threads (dict reads are atomic).
        self._keys: dict[str, bool] = {}

    def is_secret_key(self, key: str) -> bool:
        known = self._keys.get(key)
        if known is None:
            known = self._secret.search(key) is not None
            if len(self._keys) < _KEY_CACHE_LIMIT:
                self._keys[key] = known
        return known

    # --- payloads ---------------------------------------------------------------------------------

    def payload(self, data: dict[Any, Any]) -> dict[str, Json]:
        """``data`` itself when it is already clean (the common case, checked without copying), else a clean copy."""
        keys = self._keys
        limit = self.max_string
        for key, value in data.items():
            if keys.get(key) is not False:  # unknown (or non-string) keys and secret keys take the slow path
                return self._dict(data, 0, set())
            kind = type(value)
            if kind is str:
                if len(value) > limit or (len(value) > 12 and looks_secret(value)):
                    return self._dict(data, 0, set())
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
                return {"<payload>": REDACTED if looks_secret(_safe_repr(data)) else _safe_repr(data)[:256]}
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
        finally:
            active.discard(id(data))
        return out

    def _text(self, text: str) -> tuple[Json, str | None]:
        if len(text) > 12 and looks_secret(text):
            return REDACTED, None
        limit = self.max_string
        if len(text) > limit:
            return f"{text[:limit]}…[truncated {len(text) - limit} chars]", "truncated"
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
