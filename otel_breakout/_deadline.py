"""Blocking telemetry calls with a deadline: the caller stops waiting when its budget is spent.

The SDK's batch ``force_flush`` exports on the calling thread and ignores its timeout, and a provider's
``shutdown`` joins its worker for up to 30 s; against a collector that never answers, either stalls the
bot for as long as the exporter retries. Here the call runs on a helper thread and the caller waits for it
with a deadline. A call that overruns keeps going in the background (it still delivers what it can, and the
exporter's own timeout ends it); the next request does not start a second one beside it, it waits for the
first within its own budget.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence

from otel_breakout._internal import handle_internal_errors

__all__ = ["SingleFlight", "run_all"]


class _Call:
    __slots__ = ("done", "fn", "pid", "result", "what")

    def __init__(self, fn: Callable[[], object], what: str) -> None:
        self.fn = fn
        self.what = what
        self.result = False
        self.done = threading.Event()
        self.pid = os.getpid()  # a fork copies the call but not its thread: in the child it never ends

    def ended(self) -> bool:
        return self.done.is_set() or self.pid != os.getpid()

    def __call__(self) -> None:
        try:
            with handle_internal_errors(self.what):
                self.result = self.fn() is not False
        finally:
            self.done.set()


def _start(call: _Call, name: str) -> None:
    threading.Thread(target=call, name=name, daemon=True).start()


def run_all(
    calls: Sequence[Callable[[], object]],
    deadline: float,
    *,
    what: str,
    cut_at: float | None = None,
    cut: Callable[[], object] | None = None,
) -> bool:
    """Start every call on its own daemon thread; wait until all end or ``deadline`` (monotonic) passes.

    When they have not all ended by ``cut_at``, ``cut()`` runs once (to make them end sooner) and the wait goes
    on until ``deadline``. True when every call ended in time and none returned False or raised.
    """
    started = [_Call(fn, what) for fn in calls]
    for call in started:
        _start(call, f"otel-breakout-{what.replace(' ', '-')}")
    for until in (cut_at, deadline):
        if until is None:
            continue
        pending = [call for call in started if not call.done.is_set()]
        for call in pending:
            if not call.done.wait(max(0.0, until - time.monotonic())):
                break
        if all(call.done.is_set() for call in started):
            return all(call.result for call in started)
        if until is cut_at and cut is not None:
            with handle_internal_errors(f"{what}: cutting it short"):
                cut()
    return False


class SingleFlight:
    """Runs one blocking call at a time on a helper thread; callers wait with their own deadline."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._lock = threading.Lock()
        self._current: _Call | None = None

    @property
    def busy(self) -> bool:
        """A call (perhaps one whose caller gave up on it) is still running."""
        current = self._current
        return current is not None and not current.ended()

    def run(self, fn: Callable[[], object], timeout_s: float) -> bool:
        """Run ``fn`` unless a previous call is still stuck, and wait at most ``timeout_s`` for it.

        True when ``fn`` ran to the end in time and did not return False. With no time at all, nothing is
        started: starting work the caller will not wait for would only compete with its next cycle.
        """
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            with self._lock:
                previous = self._current
                if previous is None or previous.ended():
                    if time.monotonic() >= deadline:
                        return False
                    call = self._current = _Call(fn, self._what)
                    _start(call, f"otel-breakout-{self._what.replace(' ', '-')}")
                    break
            # An earlier call overran its caller's budget: wait for it instead of piling up a second one.
            if not previous.done.wait(max(0.0, deadline - time.monotonic())):
                return False
        return call.done.wait(max(0.0, deadline - time.monotonic())) and call.result
