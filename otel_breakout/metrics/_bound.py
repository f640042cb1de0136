"""Pre-bound handles, one per attribute set: the whole hot path of ``MetricsLogger``.

Each handle keeps its value locally (a counter's increments in a deque folded on read, a gauge's last
value, a histogram's queue in its instrument) and appends ``(ts, value, attributes)`` to the metric's
window. None of them raises into the caller: a bad value goes to ``reject``.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from opentelemetry.util.types import Attributes

from otel_breakout._reentry import ReentryGuard

__all__ = [
    "FOLD_AT",
    "AnyBound",
    "BoundCounter",
    "BoundGauge",
    "BoundHistogram",
    "BoundSignedHistogram",
    "BoundUpDownCounter",
    "Reject",
    "as_number",
]

_INF = float("inf")
_MAX = sys.float_info.max
_now = time.time
# Counter increments waiting to be folded into the total; past this the adding thread folds them.
FOLD_AT = 1024

Reject = Callable[[str, BaseException], None]


def as_number(value: object) -> float:
    """A measurement as a float: an int, a float or another numeric type (``Decimal``, numpy), never text or a
    bool (``"1.5"`` and ``True`` are bugs in the caller, not numbers); ``ValueError``/``TypeError`` otherwise.

    Finiteness is the caller's check: a gauge takes any finite value, a counter only increments >= 0.
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]  # narrowed by the type check
    if (
        kind is bool
        or value is None
        or isinstance(value, (str, bytes, bytearray, bool))
        or (kind.__module__ == "numpy" and kind.__name__.startswith("bool"))
    ):
        raise TypeError(f"a measurement must be a number, got {kind.__name__} {_short(value)}")
    try:
        return float(value)  # type: ignore[arg-type]  # anything with __float__ (Decimal, numpy, Fraction)
    except OverflowError:
        raise ValueError(f"a measurement must be a finite number, got an integer of {_digits(value)} digits") from None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _digits(value: object) -> str:
    try:
        return str(len(str(abs(value))))  # type: ignore[arg-type]  # an int that overflowed float()
    except (TypeError, ValueError):  # more digits than int->str conversion allows
        return "more than 4300"


# --- bound handles (one per attribute set) -----------------------------------------------------------


class _Bound:
    __slots__ = ("_name", "_reject", "_window", "attributes", "otel_attributes")

    # The values the kind takes, [_LOW, inf): -_MAX for any finite value (NaN and infinities fail the test),
    # and what a rejection says otherwise. The hot path tests floats inline and calls _checked() for the rest.
    _LOW = -_MAX
    _RULE = "{name}: values must be finite, got {value!r}"

    def __init__(
        self, name: str, window: deque[Any], reject: Reject, attributes: Mapping[str, str], otel: Attributes
    ) -> None:
        self._name = name
        self._window = window
        self._reject = reject
        self.attributes = attributes
        self.otel_attributes = otel

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name} {dict(self.attributes)}>"

    def _checked(self, value: object) -> float:
        """``value`` as a float the kind takes, or ``ValueError``/``TypeError`` saying what it takes."""
        v = as_number(value)
        if not self._LOW <= v < _INF:
            raise ValueError(self._RULE.format(name=self._name, value=value))
        return v


class BoundCounter(_Bound):
    """A monotonic counter for one attribute set: ``add(value=1)``, never raises into the caller."""

    __slots__ = ("_fold_guard", "_folded", "_observed", "_pending")
    _LOW = 0.0  # also refuses NaN, which would poison the cumulative total for good
    _RULE = "{name} is a counter: increments must be finite and >= 0, got {value!r}"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # `total += v` is a read-modify-write that threads could interleave. Instead of a lock per add,
        # increments go to a deque (append is atomic) and are folded into the total when it is read.
        self._pending: deque[float] = deque()
        self._folded = 0.0
        # A guard, not a Lock: an add() from a signal handler that interrupted a fold must not wait for it.
        self._fold_guard = ReentryGuard()
        self._observed = 0.0

    def add(self, value: float = 1.0) -> None:
        try:
            v = value if type(value) is float and self._LOW <= value < _INF else self._checked(value)
            pending = self._pending
            pending.append(v)
            if len(pending) > FOLD_AT:
                self._fold()
            self._window.append((_now(), v, self.attributes))
        except Exception as exc:
            self._reject(self._name, exc)

    def _fold(self, wait: bool = True) -> float:
        guard = self._fold_guard
        if not (guard.enter() if wait else guard.try_enter()):
            # Re-entered on the thread that is folding (a signal handler), or (not waiting) folded elsewhere:
            # the increments stay queued for the next fold, and this reader gets what is visible now.
            return self._folded + sum(tuple(self._pending))
        try:
            pop = self._pending.popleft
            total = self._folded
            try:
                while True:
                    total += pop()
            except IndexError:
                pass
            self._folded = total
            return total
        finally:
            guard.exit()

    @property
    def total(self) -> float:
        """The cumulative value (every add so far)."""
        return self._fold()

    def observed_total(self) -> float:
        """The total for a collection, which never waits for a fold in progress on another thread.

        Without the fold, increments that fold has taken but not yet added are missing; a counter must not
        go down between collections (Prometheus would read a reset), so the value never falls below the last
        one reported. The next collection has them.
        """
        total = self._fold(wait=False)
        if type(self) is BoundCounter:
            if total < self._observed:
                return self._observed
            self._observed = total
        return total

    apply = add  # the kind's one operation, under one name for the generic record() path


class BoundUpDownCounter(BoundCounter):
    """An additive value that may go down, for one attribute set: ``add(value)`` with any finite value."""

    __slots__ = ()
    _LOW = -_MAX
    _RULE = "{name}: increments must be finite, got {value!r}"


class BoundGauge(_Bound):
    """The last value for one attribute set: ``set(value)``, never raises into the caller."""

    __slots__ = ("value",)
    _RULE = "{name} is a gauge: values must be finite, got {value!r}"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.value: float | None = None

    def set(self, value: float) -> None:
        try:
            v = value if type(value) is float and self._LOW <= value < _INF else self._checked(value)
            self.value = v  # a single reference store: atomic, no lock needed
            self._window.append((_now(), v, self.attributes))
        except Exception as exc:
            self._reject(self._name, exc)

    apply = set


class BoundHistogram(_Bound):
    """A histogram for one attribute set: ``record(value)`` with a finite value >= 0."""

    __slots__ = ("_defer",)
    _LOW = 0.0
    _RULE = "{name} is a histogram: values must be finite and >= 0, got {value!r}"

    def __init__(self, *args: Any, defer: Callable[[float, Attributes], None]) -> None:
        super().__init__(*args)
        self._defer = defer

    def record(self, value: float) -> None:
        try:
            v = value if type(value) is float and self._LOW <= value < _INF else self._checked(value)
            self._defer(v, self.otel_attributes)
            self._window.append((_now(), v, self.attributes))
        except Exception as exc:
            self._reject(self._name, exc)

    apply = record


class BoundSignedHistogram(BoundHistogram):
    """A signed histogram (trade PnL): records ``abs(value)`` with ``outcome`` win, loss or breakeven."""

    __slots__ = ("_by_outcome",)
    _LOW = -_MAX
    _RULE = _Bound._RULE

    def __init__(self, *args: Any, defer: Callable[[float, Attributes], None]) -> None:
        super().__init__(*args, defer=defer)
        base = dict(self.attributes)
        self._by_outcome = {
            outcome: (MappingProxyType({**base, "outcome": outcome}), {**base, "outcome": outcome})
            for outcome in ("win", "loss", "breakeven")
        }

    def record(self, value: float) -> None:
        try:
            v = value if type(value) is float and self._LOW <= value < _INF else self._checked(value)
            attributes, otel = self._by_outcome["win" if v > 0 else "loss" if v < 0 else "breakeven"]
            self._defer(abs(v), otel)
            # The window keeps the sign: summaries report net PnL and win rate from it.
            self._window.append((_now(), v, attributes))
        except Exception as exc:
            self._reject(self._name, exc)

    apply = record


AnyBound = BoundCounter | BoundGauge | BoundHistogram
