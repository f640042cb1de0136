"""How an evaluation is read: its direction and whether a failure was a near miss.

Pure functions shared by the caller thread (span-event selection), the background writer (the journal's
``direction`` and ``near_miss`` fields) and the report, which may recompute near misses with its own margin.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Literal

from otel_breakout._settings_sections import DiagnosticsSettings

__all__ = [
    "DEFAULT_NEAR_MISS_MARGIN",
    "Direction",
    "as_number",
    "infer_direction",
    "is_near_miss",
    "settle_payload",
]

Direction = Literal["min", "max"]
DEFAULT_NEAR_MISS_MARGIN = DiagnosticsSettings().near_miss_margin  # OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN's default


def as_number(value: object) -> float | None:
    """``value`` as a finite float when it is a real number (not a bool), else ``None``.

    Accepts ``int``, ``float``, ``Decimal`` and numpy scalars (anything with a numeric ``item()``), and never
    calls arbitrary ``__float__`` methods: this runs on the bot's thread.
    """
    kind = type(value)
    if kind is float:
        number: float = value  # type: ignore[assignment]  # narrowed by the type check above
    elif kind is bool or value is None:
        return None
    elif isinstance(value, (int, float, Decimal)):
        try:
            number = float(value)
        except (OverflowError, ValueError):  # a huge int, a signalling Decimal NaN
            return None
    elif kind.__module__ == "numpy" and hasattr(value, "item"):
        try:
            item = value.item()
        except Exception:
            return None
        if type(item) not in (int, float):
            return None
        number = float(item)
    else:
        return None
    return number if math.isfinite(number) else None


def infer_direction(value: object, threshold: object, passed: object) -> Direction | None:
    """``"min"`` when the outcome matches ``value >= threshold``, ``"max"`` when it matches ``value <= threshold``.

    ``None`` when it cannot be told: non-numeric values, an unknown outcome, or ``value == threshold`` (both
    directions would pass, and neither would fail).
    """
    if passed is not True and passed is not False:
        return None
    v, t = as_number(value), as_number(threshold)
    if v is None or t is None or v == t:
        return None
    if v > t:
        return "min" if passed else "max"
    return "max" if passed else "min"


def is_near_miss(value: object, threshold: object, passed: object, margin: float = DEFAULT_NEAR_MISS_MARGIN) -> bool:
    """A failed evaluation whose value lies within ``margin`` (relative) of its threshold.

    With a zero threshold the margin is absolute (``|value| <= margin``), since no relative distance exists.
    """
    if passed is not False:
        return False
    v: float | None
    t: float | None
    if type(value) is float and type(threshold) is float and threshold - threshold == 0.0:
        # The common case, on the bot's thread: plain floats and a finite threshold need no coercion (a
        # NaN or infinite value fails every comparison below, as it should).
        v, t = value, threshold
    else:
        v, t = as_number(value), as_number(threshold)
    if v is None or t is None:
        return False
    if t == 0.0:
        return abs(v) <= margin
    return abs(v - t) <= margin * abs(t)


def settle_payload(payload: dict[str, Any], passed: bool | None) -> None:
    """Fill in ``direction`` when it was omitted (or is neither ``min`` nor ``max``) by inferring it."""
    if "direction" in payload:
        given = payload["direction"]
        if given != "min" and given != "max":
            if given is not None:
                payload["direction__coerced"] = "invalid"
            payload["direction"] = infer_direction(payload.get("value"), payload.get("threshold"), passed)
