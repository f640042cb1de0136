"""Counting for the collector: drops by sink and cause, and the four ``breakout.diag.*`` counters."""

from __future__ import annotations

from collections import Counter, deque

from opentelemetry.metrics import Counter as OtelCounter
from opentelemetry.metrics import Meter

from otel_breakout._reentry import ReentryGuard
from otel_breakout.catalogue import get_spec

__all__ = ["DropCounter", "Instruments"]


class DropCounter:
    """Events a sink did not get, by (sink, cause); written from any thread, reported by the writer.

    ``add()`` appends to a deque (atomic, never waits), so a drop counted from a signal handler that
    interrupted another ``add()`` or a report cannot deadlock; the additions are folded into the totals by
    whoever reads them, under a :class:`ReentryGuard`, and by the adding thread past ``_FOLD_AT`` pending.
    """

    _FOLD_AT = 1024

    def __init__(self) -> None:
        self._pending: deque[tuple[str, str, int]] = deque()
        self._guard = ReentryGuard()
        self._totals: Counter[tuple[str, str]] = Counter()
        self._reported: Counter[tuple[str, str]] = Counter()

    def add(self, sink: str, cause: str, count: int = 1) -> None:
        pending = self._pending
        pending.append((sink, cause, count))
        if len(pending) > self._FOLD_AT and self._guard.enter():
            try:
                self._fold()
            finally:
                self._guard.exit()

    def _fold(self) -> Counter[tuple[str, str]]:
        """Under the guard: move the pending additions into the totals."""
        pop = self._pending.popleft
        totals = self._totals
        while True:
            try:
                sink, cause, count = pop()
            except IndexError:
                return totals
            totals[(sink, cause)] += count

    def _current(self) -> tuple[Counter[tuple[str, str]], bool]:
        """(totals, whether the guard is held and must be released); a re-entered read gets a copy."""
        if self._guard.enter():
            return self._fold(), True
        totals = Counter(self._totals)
        for sink, cause, count in tuple(self._pending):
            totals[(sink, cause)] += count
        return totals, False

    def set_total(self, sink: str, cause: str, total: int) -> None:
        self._guard.enter()  # the writer thread: never a signal handler, so never refused
        try:
            self._fold()[(sink, cause)] = total
        finally:
            self._guard.exit()

    def totals(self) -> dict[str, int]:
        totals, held = self._current()
        try:
            return {f"{sink}:{cause}": n for (sink, cause), n in sorted(totals.items()) if n}
        finally:
            if held:
                self._guard.exit()

    def reinit_after_fork(self) -> None:
        self._guard = ReentryGuard()

    def take_new(self) -> list[tuple[str, str, int]]:
        """The counts added since the previous call (the writer thread)."""
        totals, held = self._current()
        try:
            new = [(sink, cause, n - self._reported[(sink, cause)]) for (sink, cause), n in totals.items()]
            if held:
                self._reported = Counter(totals)
        finally:
            if held:
                self._guard.exit()
        return [item for item in new if item[2] > 0] if held else []


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
