"""OTLP exporters that stop waiting on an endpoint known to be down, and count what they could not deliver.

The OTLP exporters retry each batch with backoff for up to their timeout (``OTEL_EXPORTER_OTLP_TIMEOUT``,
10 s): right for a blip, but against a collector that is down or black-holed every batch of every signal
then holds its batch processor for that long, the queues fill and shutdown waits behind them. Each OTLP
exporter is wrapped in a guard that shares one :class:`Endpoint` per collector address:

- while the endpoint answers, every batch goes to the exporter unchanged (the SDK's retries included);
- after a failed export the endpoint is *down*: batches are dropped at once and counted, and a probe (an
  empty export request, on its own thread, so nothing waits for it) checks it again after 1 s, then 2, 4,
  up to 10 s; the first answer brings it back and the next batch is exported as usual;
- at shutdown, once the budget is nearly spent, :meth:`ExportGuards.abort` ends retries and calls in flight
  (the exporters' own ``shutdown``) and drops the rest, counted, so the processors stop in time.

What was not delivered is counted per signal (spans, log records, metric data points) and cause, for
``Telemetry.undelivered()``, the shutdown warning and the recovery message.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_breakout._settings import Signal

__all__ = ["Endpoint", "ExportGuards", "describe_losses"]

_logger = logging.getLogger("otel_breakout.export")
_UNITS = {"traces": "spans", "logs": "log records", "metrics": "metric data points"}
_FIRST_PROBE_S = 1.0
_MAX_PROBE_S = 10.0


def describe_losses(losses: dict[str, int]) -> str:
    """``"120 spans, 3,400 log records"`` for ``{"traces": 120, "logs": 3400}`` (signals with none left out)."""
    return ", ".join(f"{n:,} {_UNITS.get(signal, signal)}" for signal, n in losses.items() if n)


class Endpoint:
    """One collector address: answering or down, when to probe it again, and what was lost, by signal and cause."""

    def __init__(self, address: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.address = address
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._backoff = _FIRST_PROBE_S
        self._probing = False
        self._probing_pid = 0
        self._aborted = False
        self._probes: list[Callable[[], bool]] = []
        self.exported: Counter[str] = Counter()
        self.lost: Counter[tuple[str, str]] = Counter()  # (signal, cause) -> items
        self.in_flight: Counter[str] = Counter()  # items handed to an exporter that has not returned yet
        self._lost_at_down: Counter[str] = Counter()

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def add_probe(self, probe: Callable[[], bool]) -> None:
        """An empty export through one of this endpoint's exporters: True when the endpoint answered."""
        self._probes.append(probe)

    def admit(self, signal: str, items: int) -> bool:
        """Whether to attempt this export now; when not, the items are counted as lost."""
        with self._lock:
            if self._aborted:
                self.lost[signal, "shutdown budget spent"] += items
                return False
            if self._down_since is None:
                self.in_flight[signal] += items
                return True
            if self._probing and self._probing_pid != os.getpid():
                self._probing = False  # forked while a probe ran: its thread did not come along
            due = self._clock() >= self._next_probe and not self._probing
            if due:
                self._probing, self._probing_pid = True, os.getpid()
            if due and not self._probes:
                # Nothing to probe with (a metrics-only endpoint): this batch is the probe.
                self.in_flight[signal] += items
                return True
            if due:
                threading.Thread(target=self._probe, name="otel-breakout-export-probe", daemon=True).start()
            self.lost[signal, "endpoint down"] += items
            return False

    def _probe(self) -> None:
        answered = False
        try:
            answered = bool(self._probes) and self._probes[0]()
        except Exception:  # a probe that raises is an endpoint that did not answer
            answered = False
        finally:
            if answered:
                self.succeeded("", 0)
            else:
                self.failed("", 0)

    def succeeded(self, signal: str, items: int) -> None:
        with self._lock:
            if signal:
                self.exported[signal] += items
                self.in_flight[signal] -= items
            self._probing = False
            if self._down_since is None:
                return
            outage = self._clock() - self._down_since
            self._down_since, self._backoff = None, _FIRST_PROBE_S
            meanwhile = {s: n - self._lost_at_down[s] for s, n in self._lost_by_signal().items()}
        from otel_breakout._logs import export_recovered

        export_recovered()
        _logger.warning(
            "telemetry endpoint %s answers again after %.0f s; not delivered meanwhile: %s",
            self.address,
            outage,
            describe_losses(meanwhile) or "nothing",
        )

    def failed(self, signal: str, items: int) -> None:
        with self._lock:
            if signal:
                self.lost[signal, "refused or unanswered"] += items
                self.in_flight[signal] -= items
            self._probing = False
            now = self._clock()
            if self._down_since is None:
                self._down_since = now
                self._lost_at_down = Counter(self._lost_by_signal())
                if signal:
                    self._lost_at_down[signal] -= items  # the batch that found it down belongs to the outage
                self._backoff = _FIRST_PROBE_S
            else:
                self._backoff = min(self._backoff * 2, _MAX_PROBE_S)
            self._next_probe = now + self._backoff

    def abort(self) -> None:
        with self._lock:
            self._aborted = True

    def _lost_by_signal(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (signal, _cause), n in self.lost.items():
            totals[signal] += n
        return dict(totals)


class _Guard:
    """Shared part of the three guarded exporters: admission, counting and a shutdown that happens once."""

    def __init__(self, inner: Any, endpoint: Endpoint, signal: Signal) -> None:
        self._inner = inner
        self._endpoint = endpoint
        self._signal = signal
        self._closed = threading.Lock()
        self._shut = False

    def _attempt(self, items: int, export: Callable[[], Any], success: Any, failure: Any) -> Any:
        if not self._endpoint.admit(self._signal, items):
            return failure
        try:
            result = export()
        except BaseException:
            self._endpoint.failed(self._signal, items)
            raise
        if result == success:
            self._endpoint.succeeded(self._signal, items)
        else:
            self._endpoint.failed(self._signal, items)
        return result

    def _shutdown_inner(self, **kwargs: Any) -> None:
        with self._closed:
            if self._shut:
                return
            self._shut = True
        self._inner.shutdown(**kwargs)


class GuardedSpanExporter(_Guard, SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result: SpanExportResult = self._attempt(
            len(spans), lambda: self._inner.export(spans), SpanExportResult.SUCCESS, SpanExportResult.FAILURE
        )
        return result

    def shutdown(self) -> None:
        self._shutdown_inner()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self._inner.force_flush(timeout_millis))


class GuardedLogExporter(_Guard, LogRecordExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        result: LogRecordExportResult = self._attempt(
            len(batch), lambda: self._inner.export(batch), LogRecordExportResult.SUCCESS, LogRecordExportResult.FAILURE
        )
        return result

    def shutdown(self) -> None:
        self._shutdown_inner()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self._inner.force_flush(timeout_millis))


def _data_points(data: MetricsData) -> int:
    return sum(
        len(metric.data.data_points)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    )


class GuardedMetricExporter(_Guard, MetricExporter):
    def __init__(self, inner: MetricExporter, endpoint: Endpoint) -> None:
        _Guard.__init__(self, inner, endpoint, "metrics")
        # The periodic reader reads these from its exporter.
        MetricExporter.__init__(
            self,
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        result: MetricExportResult = self._attempt(
            _data_points(metrics_data),
            lambda: self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs),
            MetricExportResult.SUCCESS,
            MetricExportResult.FAILURE,
        )
        return result

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._shutdown_inner(timeout_millis=timeout_millis)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return bool(self._inner.force_flush(timeout_millis=timeout_millis))


class ExportGuards:
    """The guarded OTLP exporters of one ``Telemetry``, one :class:`Endpoint` per collector address."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[str, Endpoint] = {}
        self._guards: list[_Guard] = []

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(self._endpoints.values())

    def _endpoint(self, url: str) -> Endpoint:
        parts = urlsplit(url if "://" in url else f"//{url}")
        # Credentials in a URL are never part of what gets printed.
        address = parts.hostname or url
        if parts.port is not None:
            address = f"{address}:{parts.port}"
        with self._lock:
            return self._endpoints.setdefault(address, Endpoint(address))

    def _track(self, guard: _Guard) -> None:
        with self._lock:
            self._guards.append(guard)

    def span(self, inner: SpanExporter, url: str) -> SpanExporter:
        endpoint = self._endpoint(url)
        endpoint.add_probe(lambda: inner.export([]) == SpanExportResult.SUCCESS)
        guard = GuardedSpanExporter(inner, endpoint, "traces")
        self._track(guard)
        return guard

    def log(self, inner: LogRecordExporter, url: str) -> LogRecordExporter:
        endpoint = self._endpoint(url)
        endpoint.add_probe(lambda: inner.export([]) == LogRecordExportResult.SUCCESS)
        guard = GuardedLogExporter(inner, endpoint, "logs")
        self._track(guard)
        return guard

    def metric(self, inner: MetricExporter, url: str) -> MetricExporter:
        # An empty metrics export may never reach the wire, so metrics do not probe: a real batch does.
        guard = GuardedMetricExporter(inner, self._endpoint(url))
        self._track(guard)
        return guard

    def abort(self) -> None:
        """Drop (and count) every export from now on and end retries and calls in flight: shutdown's last resort."""
        for endpoint in self.endpoints:
            endpoint.abort()
        with self._lock:
            guards = list(self._guards)
        for guard in guards:
            try:
                guard._shutdown_inner()
            except Exception:  # the exporter's own shutdown failing must not stop the others'
                _logger.debug("exporter shutdown failed", exc_info=True)

    def undelivered(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for endpoint in self.endpoints:
            for signal, n in endpoint._lost_by_signal().items():
                totals[signal] += n
        return {signal: totals[signal] for signal in ("traces", "logs", "metrics") if totals[signal]}

    def losses_by_cause(self) -> dict[str, dict[str, int]]:
        """``{cause: {signal: items}}`` over every endpoint, with exports still waiting for an answer as one cause."""
        causes: dict[str, Counter[str]] = {}
        for endpoint in self.endpoints:
            for (signal, cause), n in endpoint.lost.items():
                causes.setdefault(cause, Counter())[signal] += n
            for signal, n in endpoint.in_flight.items():
                if n > 0:
                    causes.setdefault("still waiting for an answer", Counter())[signal] += n
        return {
            cause: {s: n for s, n in counts.items() if n} for cause, counts in causes.items() if any(counts.values())
        }
