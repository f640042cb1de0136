"""The engine's state machine and cycle bookkeeping behind ``MetricsLogger``'s engine helpers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import cast

from opentelemetry.metrics import CallbackOptions, Observation

from otel_breakout.metrics._bound import BoundCounter, BoundGauge, BoundHistogram, Reject, as_number
from otel_breakout.metrics._instruments import Instrument, MetricAttributeError

__all__ = ["CYCLE", "STATE", "EngineBook"]

STATE = "breakout.engine.state"
CYCLE = "breakout.engine.cycle.duration"


class EngineBook:
    """One-hot engine state with its transitions, and per-cycle bookkeeping: duration, count, last-cycle
    timestamp and cycles since the last signal. Like every handle, nothing here raises into the bot."""

    def __init__(
        self,
        states: tuple[str, ...],
        instruments: Mapping[str, Instrument],
        reject: Reject,
    ) -> None:
        self.states = states
        self._reject = reject
        # Pre-bound so that each helper is a few attribute stores. An RLock: a helper called from a signal
        # handler that interrupted another one must not wait for itself, and each section is a few
        # independent stores that a nested one cannot corrupt.
        self._lock = threading.RLock()
        self._state: str | None = None
        self._state_names = {s.casefold(): s for s in states}
        self._state_window = instruments[STATE].window
        self._state_attrs = {s: MappingProxyType({"state": s}) for s in states}
        transitions = instruments["breakout.engine.state.transitions"]
        self._transitions: dict[tuple[str, str], BoundCounter] = {
            (a, b): cast(BoundCounter, transitions.cell((("from_state", a), ("to_state", b))))
            for a in states
            for b in states
            if a != b
        }
        self._cycle_duration = instruments[CYCLE].bind_as(BoundHistogram)
        self._cycles = instruments["breakout.engine.cycles"].bind_as(BoundCounter)
        self._last_cycle = instruments["breakout.engine.last_cycle.timestamp"].bind_as(BoundGauge)
        self._since_signal = instruments["breakout.engine.cycles_since_signal"].bind_as(BoundGauge)
        self._cycles_since_signal = 0
        self._last_cycle_ts: float | None = None

    # --- state ----------------------------------------------------------------------------------------

    def set_state(self, state: str | Enum) -> None:
        try:
            if isinstance(state, Enum):
                state = state.value if isinstance(state.value, str) else state.name
            new = self._state_names.get(str(state).casefold())
            if new is None:
                raise MetricAttributeError(f"{state!r} is not an engine state ({', '.join(self.states)})")
            with self._lock:
                old, self._state = self._state, new
            if old == new:
                return
            self._state_window.append((time.time(), 1.0, self._state_attrs[new]))
            if old is not None:
                self._transitions[(old, new)].add(1.0)
        except Exception as exc:
            self._reject(STATE, exc)

    def record_state(self, value: float, attributes: dict[str, object]) -> None:
        """``record(STATE, 1, state=...)``: the seed's way to set the state."""
        state = attributes.get("state")
        if value != 1 or not isinstance(state, (str, Enum)) or len(attributes) != 1:
            raise MetricAttributeError(f"{STATE} is one-hot: record(name, 1, state=STATE), or use set_state()")
        self.set_state(state)

    @property
    def state(self) -> str | None:
        return self._state

    def observe_state(self, options: CallbackOptions) -> list[Observation]:
        current = self._state
        if current is None:
            return []
        # Derived from one variable at collection time, so a scrape never sees zero or two states at 1.
        return [Observation(1.0 if s == current else 0.0, {"state": s}) for s in self.states]

    # --- cycles ---------------------------------------------------------------------------------------

    def end_cycle(self, duration_s: float, now: float | None = None) -> None:
        try:
            duration = as_number(duration_s)
            if not 0.0 <= duration < math.inf:
                raise ValueError(f"a cycle duration must be finite and >= 0 seconds, got {duration_s!r}")
        except Exception as exc:
            self._reject(CYCLE, exc)
            return
        self._cycle_duration.record(duration)
        self._cycles.add(1.0)
        ts = time.time() if now is None else now
        with self._lock:
            self._cycles_since_signal += 1
            since = self._cycles_since_signal
            self._last_cycle_ts = ts
        self._last_cycle.set(ts)
        self._since_signal.set(since)

    def record_cycle(self, value: float, attributes: dict[str, object]) -> None:
        """``record(CYCLE, seconds)`` (or the seed's ``engine_cycle_time``): a cycle's duration means a cycle
        ended, so cycles, last-cycle age and cycles-since-signal stay right too."""
        if attributes:
            raise MetricAttributeError(f"{CYCLE} takes no attributes")
        self.end_cycle(value)

    def signalled(self) -> None:
        """A strategy signalled: the cycles-since-signal count starts again from 0."""
        with self._lock:
            self._cycles_since_signal = 0
        self._since_signal.set(0.0)

    @property
    def cycles_since_signal(self) -> int:
        return self._cycles_since_signal

    def last_cycle_age(self, now: float | None = None) -> float | None:
        last = self._last_cycle_ts
        if last is None:
            return None
        return max(0.0, (time.time() if now is None else now) - last)
