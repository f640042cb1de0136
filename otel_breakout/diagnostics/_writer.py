"""The bounded queue between the bot's threads and the background writer thread.

Callers :meth:`Writer.put` plain tuples on a ``deque`` (atomic under the GIL, no lock, no wake-up per event)
after checking its length against the bound; the writer wakes every flush interval, or early when the queue
passes half its capacity, and drains it in batches through the :class:`Pipeline`. A stop that times out (at
interpreter exit the thread would die with the rest) takes what is still queued away and counts it as
dropped (``all:shutdown``) with one warning, so no event is lost silently.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import deque
from typing import Any

from otel_breakout._internal import handle_internal_errors
from otel_breakout.diagnostics._pipeline import FLUSH, Pipeline

__all__ = ["Writer"]

_logger = logging.getLogger("otel_breakout.diagnostics")
_BATCH = 4096
_live: weakref.WeakSet[Writer] = weakref.WeakSet()


class Writer:
    """Owns the queue and the thread; ``stop()`` drains what is queued before it returns."""

    def __init__(self, pipeline: Pipeline, *, capacity: int, interval_s: float) -> None:
        self.queue: deque[tuple[Any, ...]] = deque()
        self.capacity = capacity
        self.high_water = max(1, capacity // 2)
        self.kicked = False
        self.pipeline = pipeline
        self._interval = interval_s
        self._wake = threading.Event()
        self._closing = False
        self._stopped = False
        self._abandoned = False
        self._thread = self._start()
        _live.add(self)

    def _start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="otel-breakout-diagnostics", daemon=True)
        thread.start()
        return thread

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def put(self, item: tuple[Any, ...]) -> bool:
        """Queue one item (the bot's thread); False when the queue is full and it was counted as dropped."""
        queue = self.queue
        if len(queue) >= self.capacity:
            self.pipeline.drops.add("queue", "full")
            return False
        queue.append(item)
        if len(queue) > self.high_water and not self.kicked:
            self.kick()
        return True

    def kick(self) -> None:
        """Wake the writer before its interval ends (the queue is filling up)."""
        self.kicked = True
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            self.kicked = False
            with handle_internal_errors("diagnostics writer"):
                self._drain()
            if self._closing and not self.queue:
                if self._abandoned and self.pipeline.journal is not None:
                    self.pipeline.journal.close()  # stop() timed out and left the closing to this thread
                return

    def _drain(self) -> None:
        queue = self.queue
        popleft = queue.popleft
        while queue:
            batch: list[tuple[Any, ...]] = []
            append = batch.append
            try:
                for _ in range(min(len(queue), _BATCH)):
                    append(popleft())
            except IndexError:  # a stop that timed out took the rest away
                pass
            self.pipeline.process(batch)
        self.pipeline.process(())  # publish drop counts even when nothing was queued

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued before this call reached the sinks; False on timeout."""
        if self._stopped or threading.current_thread() is self._thread or not self._thread.is_alive():
            return not self.queue
        done = threading.Event()
        self.queue.append((FLUSH, done))  # markers bypass the bound: a flush is never dropped
        self._wake.set()
        return done.wait(timeout)

    def stop(self, timeout: float) -> None:
        """Drain, stop the thread and close the journal. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._closing = True
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._abandon(timeout)
        if not self._thread.is_alive() and self.pipeline.journal is not None:
            self.pipeline.journal.close()

    def _abandon(self, timeout: float) -> None:
        """The writer did not finish in time: take the items still queued (newest first, so what it writes stays
        a prefix) and count them, for they would die with the thread at exit."""
        self._abandoned = True
        pop = self.queue.pop
        lost = 0
        while True:
            try:
                item = pop()
            except IndexError:
                break
            if item[0] != FLUSH:
                lost += 1
        if lost:
            self.pipeline.drops.add("all", "shutdown", lost)
            _logger.warning(
                "diagnostics writer did not finish within %.1f s of stopping: %d queued events dropped "
                "(counted as all:shutdown); a batch it was writing may be cut short at exit",
                timeout,
                lost,
            )

    def _after_fork_in_child(self) -> None:
        # The child has no writer thread, and every lock may have been held by a thread that no longer
        # exists. Events queued before the fork belong to the parent, which writes them.
        self.queue.clear()
        self.kicked = False
        self._wake = threading.Event()
        self.pipeline.reinit_after_fork()
        if not self._stopped:
            self._thread = self._start()


def _after_fork_in_child() -> None:
    for writer in list(_live):
        writer._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
