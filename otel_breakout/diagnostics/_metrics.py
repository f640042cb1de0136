"""Counting for the collector: drops by sink and cause, and the four ``breakout.diag.*`` counters."""

from __future__ import annotations

import threading
from collections import Counter

from opentelemetry.metrics import Counter as OtelCounter
from opentelemetry.metrics import Meter

from otel_breakout.catalogue import get_spec

__all__ = ["DropCounter", "Instruments"]


class DropCounter:
    """Events a sink did not get, by (sink, cause); written from any thread, reported by the writer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: Counter[tuple[str, str]] = Counter()
        self._reported: Counter[tuple[str, str]] = Counter()

    def add(self, sink: str, cause: str, count: int = 1) -> None:
        with self._lock:
            self._totals[(sink, cause)] += count

    def set_total(self, sink: str, cause: str, total: int) -> None:
        with self._lock:
            self._totals[(sink, cause)] = total

    def totals(self) -> dict[str, int]:
        with self._lock:
            return {f"{sink}:{cause}": n for (sink, cause), n in sorted(self._totals.items()) if n}

    def reinit_after_fork(self) -> None:
        self._lock = threading.Lock()

    def take_new(self) -> list[tuple[str, str, int]]:
        """The counts added since the previous call."""
        with self._lock:
            new = [(sink, cause, n - self._reported[(sink, cause)]) for (sink, cause), n in self._totals.items()]
            self._reported = Counter(self._totals)
        return [item for item in new if item[2] > 0]


class Instruments:
    """The four ``breakout.diag.*`` counters of the catalogue, fed once per batch with aggregated counts."""

    def __init__(self, meter: Meter) -> None:
        self.evaluations = _counter(meter, "breakout.diag.evaluations")
        self.reasons = _counter(meter, "breakout.diag.reasons")
        self.near_misses = _counter(meter, "breakout.diag.near_misses")
        self.dropped = _counter(meter, "breakout.diag.dropped")


def _counter(meter: Meter, name: str) -> OtelCounter:
    spec = get_spec(name)
    return meter.create_counter(spec.name, unit=spec.unit, description=spec.description)
