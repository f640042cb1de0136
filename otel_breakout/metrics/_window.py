"""The rolling window behind ``MetricsLogger.series()`` and ``summary()``: recent raw measurements.

Each metric keeps a ``deque(maxlen=N)`` of ``(ts, value, attributes)`` tuples; appending is atomic and
costs tens of nanoseconds, so the hot path stores plain tuples and :class:`Sample` objects are only
built when somebody asks for them.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Row", "Sample", "Window", "describe"]

Row = tuple[float, float, Mapping[str, str]]
Window = deque[Row]


@dataclass(frozen=True, slots=True)
class Sample:
    """One recorded measurement: Unix time, value, and the attributes it was recorded with."""

    ts: float
    value: float
    attributes: Mapping[str, str]

    def as_dict(self) -> dict[str, object]:
        return {"ts": self.ts, "value": self.value, "attributes": dict(self.attributes)}


def _percentile(ordered: list[float], q: float) -> float:
    # Nearest rank: always one of the recorded values, never an interpolation between two of them.
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def describe(values: Iterable[float]) -> dict[str, float | int | None]:
    """Count, sum, mean, min, max, p50, p95, p99 and last of ``values`` (None for an empty window)."""
    items = list(values)
    if not items:
        return {"count": 0, "sum": 0.0, "mean": None, "min": None, "max": None, "p50": None, "p95": None,
                "p99": None, "last": None}  # fmt: skip
    ordered = sorted(items)
    total = math.fsum(items)
    return {
        "count": len(items),
        "sum": total,
        "mean": total / len(items),
        "min": ordered[0],
        "max": ordered[-1],
        "p50": _percentile(ordered, 0.50),
        "p95": _percentile(ordered, 0.95),
        "p99": _percentile(ordered, 0.99),
        "last": items[-1],
    }
