"""Histogram measurements held for the next collection, handed to the SDK before a metric reader collects.

``MetricsLogger`` queues a histogram measurement on the bot's thread and replays it into the SDK's
``Histogram`` later (see ``metrics/_instruments.py``): that replay must happen before a reader reads the
SDK's aggregations, or the collection misses it. So every reader otel-breakout builds (the Prometheus pull
reader, the periodic push readers ``configure()`` builds, the pytest plugin's reader) calls
:func:`flush_histograms` at the start of each ``collect()``. A reader built elsewhere gets the same
guarantee by mixing in :class:`FlushBeforeCollect`, or by calling :func:`flush_histograms` before it
collects.

As a fallback for a reader that does neither, each ``MetricsLogger`` also flushes from its first observable
callback. That relies on the SDK running callbacks before it reads synchronous instruments (every SDK to
date does); with one that does not, those values would arrive one collection late, never lost.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from typing import Protocol

from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader

from otel_breakout._internal import internal_errors_raise, log_internal_error

__all__ = ["FlushBeforeCollect", "PeriodicFlushingReader", "flush_histograms", "register_flush"]


class _Flushable(Protocol):
    def flush(self) -> int: ...


# Weak: a queue lives as long as the MetricsLogger that owns it, not as long as the process. Keyed by a
# sequence number so that queues flush in the order they were created: the SDK lists a reader's metrics in
# the order they were first measured, and the exposition must not depend on hash order.
_queues: weakref.WeakValueDictionary[int, _Flushable] = weakref.WeakValueDictionary()
_numbers = itertools.count()
# An RLock: a signal handler that scrapes while this thread registers a queue must not wait for itself.
_lock = threading.RLock()


def register_flush(queue: _Flushable) -> None:
    """Have :func:`flush_histograms` flush ``queue`` (held weakly) from now on."""
    with _lock:
        _queues[next(_numbers)] = queue


def flush_histograms() -> int:
    """Replay every histogram measurement otel-breakout holds for the next collection into the OTel SDK, now.

    Returns how many measurements it replayed. Call it just before collecting from a metric reader that
    otel-breakout did not build (or mix :class:`FlushBeforeCollect` into that reader's class); the readers
    otel-breakout builds call it themselves. It never raises: a failure is logged and the collection goes on.
    """
    with _lock:
        queues = list(_queues.values())
    done = 0
    for queue in queues:
        try:
            done += queue.flush()
        except Exception as exc:
            log_internal_error("flushing histograms before a collection", exc)
            if internal_errors_raise():
                raise
    return done


class FlushBeforeCollect(MetricReader):
    """A ``MetricReader`` mixin that calls :func:`flush_histograms` at the start of every ``collect()``.

    List it before the reader it extends, so that its ``collect()`` runs first::

        class FlushingPrometheusReader(FlushBeforeCollect, PrometheusMetricReader):
            pass

    Every SDK path to a collection (a pull reader's scrape, a periodic reader's tick, ``force_flush()``,
    ``shutdown()``, ``InMemoryMetricReader.get_metrics_data()``) goes through ``collect()``.
    """

    # The SDK marks collect() final so that a subclass cannot skip its bookkeeping (the collect callback, the
    # timing, the hand-off to _receive_metrics); this override adds a step in front and then runs all of it.
    def collect(self, timeout_millis: float = 10_000) -> None:  # type: ignore[misc]  # see above
        flush_histograms()
        super().collect(timeout_millis=timeout_millis)


class PeriodicFlushingReader(FlushBeforeCollect, PeriodicExportingMetricReader):
    """The SDK's periodic exporting reader, flushing queued histogram measurements before each collection."""
