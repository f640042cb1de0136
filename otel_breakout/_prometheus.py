"""The Prometheus pull reader: metrics collected on demand and rendered as exposition text.

``configure()`` opens no listener; the text is served by the API (``/api/metrics``) or read with
``Telemetry.prometheus_text()``. Each reader keeps its own state, so several ``Telemetry`` handles
(tests, several bots in one process) never mix their series.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import AggregationTemporality, CardinalityLimits, MetricReader, MetricsData

from otel_breakout._exposition import IDENTITY_ATTRIBUTES, ExpositionWriter
from otel_breakout._flush import FlushBeforeCollect
from otel_breakout._reentry import ReentryGuard
from otel_breakout._views import INSTRUMENT_KINDS

__all__ = ["PrometheusPullReader"]

_CUMULATIVE = AggregationTemporality.CUMULATIVE
# Fast enough for a scrape every 5 s, and most of the gain of level 9 on exposition text.
_GZIP_LEVEL = 6


class PrometheusPullReader(FlushBeforeCollect, MetricReader):
    """A pull reader whose renders coalesce: concurrent scrapes share one collection and one rendering.

    Each collection starts by handing queued histogram measurements to the SDK (:class:`FlushBeforeCollect`).

    A caller always gets data collected after it arrived (it never receives a collection that was
    already under way), so coalescing costs no freshness; it only stops a burst of scrapes (an HA pair
    of Prometheus servers, a dashboard refreshing) from running the SDK collection once per request.

    ``resource_labels``: resource attributes copied onto every series (default: the bot's identity,
    :data:`otel_breakout.catalogue.IDENTITY_ATTRIBUTES`); ``()`` leaves them on ``target_info`` only.
    """

    def __init__(
        self,
        *,
        cardinality_limits: CardinalityLimits | None = None,
        target_info: bool = True,
        scope_labels: bool = True,
        resource_labels: Sequence[str] = IDENTITY_ATTRIBUTES,
    ) -> None:
        super().__init__(
            # Prometheus has no delta: every kind cumulative, whatever a preference elsewhere says.
            preferred_temporality={kind: _CUMULATIVE for kind in INSTRUMENT_KINDS},
            cardinality_limits=cardinality_limits,
        )
        self._writer = ExpositionWriter(
            target_info=target_info, scope_labels=scope_labels, resource_labels=resource_labels
        )
        self._cond = threading.Condition()
        self._started = 0  # collections begun
        self._finished = 0  # number of the last collection that completed
        self._running = False
        self._received: MetricsData | None = None
        self._data: MetricsData | None = None
        # (openmetrics, gzipped) -> (collection number, body): one rendering per format per collection.
        self._rendered: dict[tuple[bool, bool], tuple[int, bytes]] = {}
        self._write = ReentryGuard()
        # The thread running the current collection: a render it makes from a signal handler must not wait
        # for the collection it interrupted (see _collect_fresh).
        self._collector_thread: int | None = None

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        self._received = metrics_data

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        with self._cond:
            self._data = None
            self._rendered.clear()

    def render(self, *, openmetrics: bool = False, gzipped: bool = False) -> bytes:
        """The exposition of a collection made after this call began (gzip-compressed when asked)."""
        number, data = self._collect_fresh()
        key = (openmetrics, gzipped)
        guard = self._write
        if not guard.enter():
            # A signal handler interrupted this thread's rendering: the writer's caches are mid-update, so a
            # writer of its own renders the same data.
            return self._format(ExpositionWriter(), data, openmetrics, gzipped)
        try:
            cached = self._rendered.get(key)
            if cached is not None and cached[0] >= number:
                return cached[1]
            body = self._format(self._writer, data, openmetrics, gzipped)
            self._rendered[key] = (number, body)
            return body
        finally:
            guard.exit()

    def _format(self, writer: ExpositionWriter, data: MetricsData | None, openmetrics: bool, gzipped: bool) -> bytes:
        body = writer.write(data, openmetrics=openmetrics)
        return gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0) if gzipped else body

    def _collect_fresh(self) -> tuple[int, MetricsData | None]:
        me = threading.get_ident()
        with self._cond:  # a Condition over an RLock: a signal handler may take it again
            if self._running and self._collector_thread == me:
                # Re-entered from a signal handler while this very thread collects: the SDK's collection
                # lock is not re-entrant and the collection cannot finish before the handler returns, so
                # the last finished collection it is (stale by one scrape, never a deadlock).
                return self._finished, self._data
            needed = self._started + 1
            while self._finished < needed:
                if not self._running:
                    # The thread first, then the flag: a handler between the two finds no collection running.
                    self._collector_thread = me
                    self._running = True
                    self._started += 1
                    number = self._started
                    break
                self._cond.wait()
            else:
                return self._finished, self._data
        try:
            self._received = None
            self.collect()
        except BaseException:
            # Not marked finished: waiters run a collection of their own rather than get nothing.
            with self._cond:
                self._running = False
                self._cond.notify_all()
            raise
        with self._cond:
            data, self._received = self._received, None
            self._running = False
            if number > self._finished:
                self._finished = number
                self._data = data
            self._cond.notify_all()
        return number, data
