"""``--since`` / ``--until`` values: epoch seconds, ISO 8601, or a duration ago (``90m``, ``2h``, ``1d``)."""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone

__all__ = ["TIME_HELP", "parse_time"]

TIME_HELP = "epoch seconds, ISO 8601 (UTC unless an offset is given) or a duration ago such as 90m, 2h, 1d"
_DURATION = re.compile(r"^-?(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_time(text: str | float | datetime, *, now: float | None = None) -> float:
    """Epoch seconds for ``text``; raises :class:`ValueError` naming the accepted forms."""
    if isinstance(text, datetime):
        moment = text if text.tzinfo else text.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if not math.isfinite(text):
            raise ValueError(f"{text!r} is not a time; expected {TIME_HELP}")
        return float(text)
    value = str(text).strip()
    duration = _DURATION.match(value.lower())
    if duration:
        current = time.time() if now is None else now
        return current - float(duration.group(1)) * _UNITS[duration.group(2)]
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
        raise ValueError(f"{value!r} is not a time; expected {TIME_HELP}")
    try:
        # Python 3.10's fromisoformat does not take a trailing Z.
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time; expected {TIME_HELP}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
