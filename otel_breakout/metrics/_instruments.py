"""Catalogue instruments with local aggregation: the hot path adds to a pre-bound cell, the SDK reads it later.

The OTel SDK's synchronous ``Counter.add`` hashes the attribute dict, looks up the stream and takes
locks on every call (~10 us here). Counters, up-down counters and gauges therefore keep their value in a
pre-bound cell (one per attribute set) and report it through an *observable* instrument when a reader
collects: cumulative for counters, the last value for gauges, exactly the OTel semantics. Histograms
have no observable form, so a measurement is queued with its context and replayed into a real SDK
``Histogram`` (advisory buckets, exemplars) at the start of the next collection (``otel_breakout._flush``
says who calls the replay); when no reader collects and the queue is full, measurements go straight to the
SDK instead, so nothing is lost and memory stays bounded.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from types import MappingProxyType
from typing import Any, TypeVar

from opentelemetry.context import Context, get_current
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation
from opentelemetry.util.types import Attributes

from otel_breakout._flush import register_flush
from otel_breakout._reentry import ReentryGuard
from otel_breakout._scrub import default_scrubber
from otel_breakout.catalogue import MetricSpec, bucket_boundaries
from otel_breakout.metrics._bound import (
    AnyBound,
    BoundCounter,
    BoundGauge,
    BoundHistogram,
    BoundSignedHistogram,
    BoundUpDownCounter,
    Reject,
)

__all__ = [
    "OVERFLOW",
    "PENDING_LIMIT",
    "Instrument",
    "MetricAttributeError",
    "SymbolPolicy",
]

# Measurements waiting for the next collection, per histogram; past this they are recorded directly.
PENDING_LIMIT = 4096
OVERFLOW = MappingProxyType({"otel.metric.overflow": "true"})
_OVERFLOW_OTEL: Attributes = {"otel.metric.overflow": True}
_B = TypeVar("_B", bound=AnyBound)


class MetricAttributeError(ValueError):
    """Attributes a catalogue metric does not take (unknown key, missing key, value outside its set)."""


class SymbolPolicy:
    """The opt-in ``symbol`` attribute: off by default; when on, at most ``limit`` distinct symbols."""

    OTHER = "_other"

    def __init__(self, enabled: bool, limit: int) -> None:
        self.enabled = enabled
        self.limit = limit
        self._seen: set[str] = set()
        # An RLock: a signal handler re-entering only adds to a set whose bound it checks again.
        self._lock = threading.RLock()

    def fold(self, symbol: str) -> str:
        if symbol in self._seen:
            return symbol
        with self._lock:
            if len(self._seen) < self.limit:
                self._seen.add(symbol)
                return symbol
        return self.OTHER


# --- one catalogue metric ----------------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, Enum):
        value = value.value if isinstance(value.value, str) else value.name
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    raise MetricAttributeError(f"attribute values must be str, int, bool or an Enum, got {type(value).__name__}")


class Instrument:
    """One catalogue metric inside one ``MetricsLogger``: its cells, its window and its OTel instrument."""

    def __init__(
        self,
        spec: MetricSpec,
        meter: Meter,
        *,
        window: int,
        cardinality_limit: int,
        symbols: SymbolPolicy,
        reject: Reject,
        before_collect: Callable[[], None] | None = None,
        observe: bool = True,
    ) -> None:
        self.spec = spec
        self.window: deque[Any] = deque(maxlen=window)
        self._limit = cardinality_limit
        self._symbols = symbols
        self._reject = reject
        self._before_collect = before_collect
        # An RLock: a signal handler binding a new attribute set while this thread binds another must not wait
        # for itself (see cell() for why a nested section loses nothing).
        self._lock = threading.RLock()
        # Held while this thread records straight into the SDK, whose locks are not re-entrant.
        self._direct = ReentryGuard()
        # Keyed by the caller's attributes as given (fast path), and by the canonical sorted set.
        self._by_raw: dict[tuple[tuple[str, object], ...], AnyBound] = {}
        self._by_canonical: dict[tuple[tuple[str, str], ...], AnyBound] = {}
        self.cells: list[AnyBound] = []
        self._required = frozenset(a for a in spec.attributes if not (spec.signed and a == "outcome"))
        self._allowed = frozenset(spec.attributes) | frozenset(spec.optional_attributes)
        self._pending: deque[tuple[float, Attributes, Context]] = deque()
        self._histogram: Histogram | None = None
        if spec.kind == "histogram":
            self._histogram = meter.create_histogram(
                spec.name,
                spec.unit,
                spec.description,
                explicit_bucket_boundaries_advisory=bucket_boundaries(spec),
            )
            register_flush(self)
        elif observe:
            create = {
                "counter": meter.create_observable_counter,
                "updown_counter": meter.create_observable_up_down_counter,
                "gauge": meter.create_observable_gauge,
            }[spec.kind]
            create(spec.name, [self._observe], spec.unit, spec.description)

    # --- binding (slow path, raises) ---------------------------------------------------------------

    def canonical(self, attributes: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
        """Validate and normalise attributes; raises :class:`MetricAttributeError` with what is allowed."""
        spec = self.spec
        out: dict[str, str] = {}
        for key, raw in attributes.items():
            if key not in self._allowed or (spec.signed and key == "outcome"):
                why = "it is set from the sign of the value" if key == "outcome" else "it is not in the catalogue"
                allowed = ", ".join(sorted(self._required | set(spec.optional_attributes))) or "none"
                raise MetricAttributeError(f"{spec.name} does not take attribute {key!r} ({why}); allowed: {allowed}")
            if key in spec.optional_attributes and not self._symbols.enabled:
                continue  # opt-in attribute, not opted in: dropped so the same code runs either way
            # Free-form values (a strategy name) become labels on the unauthenticated /api/metrics: scrubbed
            # like every other sink (bind time only: the hot path reuses the cell).
            value = default_scrubber().text(_text(raw))
            closed = spec.allowed_values(key)
            if closed is not None:
                match = next((c for c in closed if c.casefold() == value.casefold()), None)
                if match is None:
                    raise MetricAttributeError(f"{spec.name}: {key}={value!r} is not one of {', '.join(closed)}")
                value = match
            if key == "symbol":
                value = self._symbols.fold(value)
            out[key] = value
        missing = self._required - out.keys()
        if missing:
            raise MetricAttributeError(f"{spec.name} needs attribute(s) {', '.join(sorted(missing))}")
        return tuple(sorted(out.items()))

    def bind(self, attributes: Mapping[str, object]) -> AnyBound:
        return self.cell(self.canonical(attributes))

    def bind_as(self, kind: type[_B], **attributes: object) -> _B:
        """:meth:`bind`, for a caller that knows the handle's kind (engine and trading helpers)."""
        cell = self.bind(attributes)
        if not isinstance(cell, kind):
            raise TypeError(f"{self.spec.name} is a {self.spec.kind}, not a {kind.__name__}")
        return cell

    def cell(self, key: tuple[tuple[str, str], ...]) -> AnyBound:
        """The cell for an attribute set in canonical form (sorted pairs), which the caller has validated."""
        cell = self._by_canonical.get(key)
        if cell is not None:
            return cell
        with self._lock:
            cell = self._by_canonical.get(key)
            if cell is None:
                # The overflow set counts towards the limit, as the OTel specification asks.
                if len(self._by_canonical) >= self._limit - 1:
                    cell = self._overflow()
                else:
                    cell = self._adopt(key, self._new(MappingProxyType(dict(key)), dict(key)))
        return cell

    def _adopt(self, key: tuple[tuple[str, str], ...], cell: AnyBound) -> AnyBound:
        # setdefault, then publish: a signal handler that created the same set between our lookup and here
        # keeps its cell (already holding its value) and ours is never observed.
        kept = self._by_canonical.setdefault(key, cell)
        if kept is cell:
            self.cells.append(cell)
        return kept

    def _overflow(self) -> AnyBound:
        key = (("otel.metric.overflow", "true"),)
        cell = self._by_canonical.get(key)
        if cell is None:
            cell = self._adopt(key, self._new(OVERFLOW, _OVERFLOW_OTEL))
        return cell

    def _new(self, attributes: Mapping[str, str], otel: Attributes) -> AnyBound:
        args = (self.spec.name, self.window, self._reject, attributes, otel)
        cell: AnyBound
        kind = self.spec.kind
        if kind == "counter":
            cell = BoundCounter(*args)
        elif kind == "updown_counter":
            cell = BoundUpDownCounter(*args)
        elif kind == "gauge":
            cell = BoundGauge(*args)
        elif self.spec.signed:
            cell = BoundSignedHistogram(*args, defer=self.defer)
        else:
            cell = BoundHistogram(*args, defer=self.defer)
        return cell

    # --- the generic record() path ---------------------------------------------------------------

    def record(self, value: float, attributes: dict[str, object]) -> AnyBound:
        """Apply ``value`` to the cell for ``attributes`` and return the cell (raises on bad attributes)."""
        key = tuple(attributes.items())
        try:
            cell = self._by_raw.get(key)
        except TypeError:  # an unhashable value: the slow path explains what is allowed
            cell = None
        if cell is None:
            cell = self.bind(attributes)
            # Bounded: callers passing ever-new raw sets (folded into overflow) take the slow path.
            if len(self._by_raw) < 4 * self._limit:
                self._by_raw[key] = cell
        cell.apply(value)
        return cell

    # --- reading (summaries) ------------------------------------------------------------------------

    def totals(self) -> list[tuple[Mapping[str, str], float]]:
        """Lifetime totals (counters) or last values (gauges) by attribute set; nothing for histograms."""
        out: list[tuple[Mapping[str, str], float]] = []
        for cell in self.cells:
            if isinstance(cell, BoundCounter):
                out.append((cell.attributes, cell.total))
            elif isinstance(cell, BoundGauge) and cell.value is not None:
                out.append((cell.attributes, cell.value))
        return out

    def recent(self) -> list[float]:
        """The values in the rolling window, oldest first."""
        return [value for _, value, _ in list(self.window)]

    # --- collection ---------------------------------------------------------------------------------

    def defer(self, value: float, attributes: Attributes) -> None:
        if len(self._pending) < PENDING_LIMIT:
            # The context travels with the value, so exemplars still point at the span that measured it.
            self._pending.append((value, attributes, get_current()))
            return
        direct = self._direct
        if not direct.enter():
            # A signal handler interrupted this thread inside the SDK's record, which holds the same
            # aggregation lock: queue past the limit (by what one handler records) rather than wait forever.
            self._pending.append((value, attributes, get_current()))
            return
        try:
            assert self._histogram is not None
            self._histogram.record(value, attributes)
        finally:
            direct.exit()

    def flush(self) -> int:
        """Replay queued histogram measurements into the SDK; returns how many."""
        histogram, pending = self._histogram, self._pending
        if histogram is None or not pending:
            return 0
        direct = self._direct
        if not direct.try_enter():
            # Another record is inside the SDK (maybe interrupted by the signal handler that asked for this
            # collection): the values wait for the next collection instead of this one waiting for it.
            return 0
        done = 0
        pop = pending.popleft
        try:
            while True:
                try:
                    value, attributes, context = pop()
                except IndexError:
                    return done
                histogram.record(value, attributes, context=context)
                done += 1
        finally:
            direct.exit()

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._before_collect is not None:
            self._before_collect()
        if self.spec.kind == "gauge":
            return [Observation(c.value, c.otel_attributes) for c in self.cells if isinstance(c, BoundGauge)
                    and c.value is not None]  # fmt: skip
        return [Observation(c.observed_total(), c.otel_attributes) for c in self.cells if isinstance(c, BoundCounter)]
