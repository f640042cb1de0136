"""Locks the hot path may take from a signal handler without deadlocking.

Python runs a signal handler on the main thread between two bytecodes of whatever it interrupted. A handler
that records a metric or a diagnostics event while the interrupted code holds a plain ``Lock`` on the same
state would wait for itself forever. Two tools, each where its semantics are safe:

- an ``RLock`` where a nested critical section cannot lose or corrupt anything (the state is a few
  independent stores: the engine state, the equity peak);
- a :class:`ReentryGuard` where it could (a fold of pending increments into a total, the span-event budget):
  the nested call is *refused* without blocking and the caller defers its work (the increment stays queued)
  or counts a drop.
"""

from __future__ import annotations

import threading

__all__ = ["ReentryGuard"]


class ReentryGuard:
    """A mutual-exclusion lock that refuses, instead of deadlocking, when its holder's thread asks again.

    ``enter()`` waits for other threads as a ``Lock`` does, and returns False at once when the calling thread
    already holds it (a signal handler that interrupted the critical section); ``exit()`` only after a True.

    Built on an ``RLock`` (whose owner is recorded atomically in C) plus a depth flag set inside it: a handler
    that runs between the interrupted thread's acquire and its flag store finds the flag clear and runs its
    whole section before the interrupted one begins; one that runs after it finds the flag set and is refused.
    """

    __slots__ = ("_busy", "_lock")

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._busy = False

    def enter(self) -> bool:
        self._lock.acquire()
        if self._busy:
            self._lock.release()
            return False
        self._busy = True
        return True

    def try_enter(self) -> bool:
        """Like :meth:`enter`, but False at once whoever holds it (for collections, which must never wait for a
        recording thread: a signal handler on that thread may be waiting for the collection)."""
        if not self._lock.acquire(blocking=False):
            return False
        if self._busy:
            self._lock.release()
            return False
        self._busy = True
        return True

    def exit(self) -> None:
        self._busy = False
        self._lock.release()
