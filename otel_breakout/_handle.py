"""The :class:`Telemetry` handle: its providers and resource, accessors, and flush and shutdown within a budget."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from opentelemetry._logs import Logger, LoggerProvider, NoOpLoggerProvider
from opentelemetry.metrics import Meter, MeterProvider, NoOpMeterProvider
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import NoOpTracerProvider, Tracer, TracerProvider

from otel_breakout._deadline import SingleFlight, run_all
from otel_breakout._internal import handle_internal_errors
from otel_breakout._logs import install_logging
from otel_breakout._outage import ExportGuards, describe_losses
from otel_breakout._prometheus import PrometheusPullReader
from otel_breakout._providers import build_providers
from otel_breakout._resource import build_resource
from otel_breakout._settings import Settings
from otel_breakout._version import __version__

__all__ = ["EXIT_SHUTDOWN_MILLIS", "INSTRUMENTATION_SCOPE", "STOP_SHUTDOWN_MILLIS", "Telemetry"]

_logger = logging.getLogger("otel_breakout")
INSTRUMENTATION_SCOPE = "otel_breakout"
# What shutdown gets at interpreter exit: enough for a healthy collector, bounded for a dead one.
EXIT_SHUTDOWN_MILLIS = 5_000
# What our commands give it after Ctrl-C or SIGTERM: with the rest of their stop, they exit within 5 s.
STOP_SHUTDOWN_MILLIS = 3_000


class Telemetry:
    """The handle ``configure()`` returns: the three providers, the resource, and the pull reader.

    Components (the diagnostics collector, the metrics logger, the resource monitor, the API) take a
    ``Telemetry`` so that tests can build isolated ones with :meth:`create` instead of touching globals.
    """

    def __init__(
        self,
        settings: Settings,
        resource: Resource,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        logger_provider: LoggerProvider,
        *,
        prometheus_reader: PrometheusPullReader | None = None,
        owns_providers: bool = True,
        export_guards: ExportGuards | None = None,
        local_only: bool = False,
    ) -> None:
        self.settings = settings
        self.resource = resource
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.logger_provider = logger_provider
        self.prometheus_reader = prometheus_reader
        self._owns_providers = owns_providers
        self._handlers: list[logging.Handler] = []
        self._hooks: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        self._shutdown = False
        self._guards = export_guards if export_guards is not None else ExportGuards()
        # Nothing to wait on but this process (no push exporter, no processor or reader from outside): shutdown
        # runs in the caller's thread, which keeps configure() + shutdown() cheap for tests and tools.
        self._local_only = local_only
        self._flusher = SingleFlight("telemetry flush")

    # --- construction -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        settings: Settings | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        span_processors: Sequence[SpanProcessor] = (),
        metric_readers: Sequence[MetricReader] = (),
        log_processors: Sequence[LogRecordProcessor] = (),
        auto_instrumentation_version: str | None = None,
    ) -> Telemetry:
        """Build providers without installing them globally (tests, embedding, several bots per process).

        Extra processors and readers (for example the SDK's in-memory exporters) are added after the ones
        the settings ask for. The handle shuts its providers down at interpreter exit, within
        ``EXIT_SHUTDOWN_MILLIS`` (the SDK's own exit hooks, unbounded, are not registered).
        """
        settings = settings if settings is not None else Settings.from_env(environ)
        resource = build_resource(settings, auto_instrumentation_version=auto_instrumentation_version)
        if settings.sdk_disabled:
            no_ops = (NoOpTracerProvider(), NoOpMeterProvider(), NoOpLoggerProvider())
            return cls(settings, resource, *no_ops, local_only=True)
        built = build_providers(
            settings,
            resource,
            span_processors=span_processors,
            metric_readers=metric_readers,
            log_processors=log_processors,
        )
        telemetry = cls(
            settings,
            resource,
            built.tracer_provider,
            built.meter_provider,
            built.logger_provider,
            prometheus_reader=built.prometheus_reader,
            export_guards=built.guards,
            local_only=built.local_only,
        )
        atexit.register(telemetry.shutdown, EXIT_SHUTDOWN_MILLIS)
        return telemetry

    # --- properties and accessors -----------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """False under ``OTEL_SDK_DISABLED=true``: every provider is a no-op."""
        return not self.settings.sdk_disabled

    @property
    def is_shutdown(self) -> bool:
        return self._shutdown

    @property
    def exports_logs(self) -> bool:
        """True when log records go somewhere (an exporter or an extra processor)."""
        return self.enabled and (bool(self.settings.logs_exporters) or _has_log_processors(self.logger_provider))

    def get_tracer(self, name: str = INSTRUMENTATION_SCOPE, version: str | None = __version__) -> Tracer:
        return self.tracer_provider.get_tracer(name, version)

    def get_meter(self, name: str = INSTRUMENTATION_SCOPE, version: str | None = __version__) -> Meter:
        return self.meter_provider.get_meter(name, version)

    def get_logger(self, name: str = INSTRUMENTATION_SCOPE, version: str | None = __version__) -> Logger:
        return self.logger_provider.get_logger(name, version)

    def prometheus_text(self, *, openmetrics: bool = False) -> bytes:
        """The pull reader's current exposition (empty when Prometheus is not among the metrics exporters)."""
        if self.prometheus_reader is None or self._shutdown:
            return b""
        return self.prometheus_reader.render(openmetrics=openmetrics)

    # --- lifecycle --------------------------------------------------------------------------------

    def add_shutdown_hook(self, hook: Callable[[], object]) -> None:
        """Run ``hook`` at shutdown before the providers flush (last added runs first)."""
        with self._lock:
            self._hooks.append(hook)

    def install_logging(self) -> None:
        """Attach the stdlib logging handlers the settings ask for (``configure()`` does this for you)."""
        if not self.enabled:
            return
        export = self.logger_provider if self.settings.logs_exporters and self._owns_providers else None
        self._handlers = install_logging(
            level=self.settings.log_level,
            log_file=self.settings.log_file,
            max_bytes=self.settings.log_file_max_bytes,
            backups=self.settings.log_file_backups,
            logger_provider=export,
            log_file_source=self.settings.sources.get("OTEL_BREAKOUT_LOG_FILE", "OTEL_BREAKOUT_LOG_FILE"),
        )

    def undelivered(self) -> dict[str, int]:
        """Spans, log records and metric data points the OTLP exporters could not deliver, by signal, since start.

        ``{"traces": 120, "logs": 3400}``: dropped while the collector was down (checked again every few
        seconds), lost in exports that failed, or left when shutdown's budget ran out. Empty when nothing was
        lost. Items the SDK's batch queues dropped when full are not included (its own warning reports them).
        """
        return self._guards.undelivered()

    def _flush(self, providers: tuple[object, ...], timeout_millis: int, what: str) -> bool:
        budget_ms = max(0, int(timeout_millis))

        def flush() -> bool:
            deadline = time.monotonic() + budget_ms / 1000
            ok = True
            for provider in providers:
                flush = getattr(provider, "force_flush", None)
                if flush is not None:
                    with handle_internal_errors(what):
                        left = max(0, int((deadline - time.monotonic()) * 1000))
                        ok = bool(flush(left)) and ok
            return ok

        # The SDK's batch force_flush exports on the calling thread and ignores its timeout: against a collector
        # that never answers it would hold the caller for the exporter's whole retry budget.
        return self._flusher.run(flush, budget_ms / 1000)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything pending now; False when that did not finish within ``timeout_millis``.

        The wait is bounded whatever the backend does; a flush that overruns goes on in the background.
        """
        providers = (self.tracer_provider, self.logger_provider, self.meter_provider)
        return self._flush(providers, timeout_millis, "force_flush")

    def export_pending(self, timeout_millis: int = 1000) -> bool:
        """Export the spans and log records waiting in the batch processors now (metrics keep their schedule).

        CPython runs one thread at a time: a batch export that starts in the middle of an engine cycle steals
        that cycle's time. A paced bot calls this in its idle time, after the cycle, so the export happens
        while nothing waits for it. Returns within ``timeout_millis`` whatever the backend does (a dead or
        black-holed collector included); False when the export did not finish in that time, in which case it
        goes on in the background and the next call waits for it rather than starting another. With no time
        at all (0), nothing is started.
        """
        return self._flush((self.tracer_provider, self.logger_provider), timeout_millis, "export_pending")

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        """Run shutdown hooks, flush and stop every signal within ``timeout_millis``. Safe to call twice.

        The budget covers the hooks and all three providers (stopped side by side), whatever the backend does.
        Near its end, exports still waiting on a collector that does not answer are cut short and what they
        held is counted as undelivered (see :meth:`undelivered`), so the call returns on time.
        """
        deadline = time.monotonic() + max(0, timeout_millis) / 1000
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
            hooks, self._hooks = self._hooks[::-1], []
        # The exit hook holds the handle (and its providers) alive; once shut down it has nothing left to do.
        atexit.unregister(self.shutdown)
        for hook in hooks:
            with handle_internal_errors("shutdown hook"):
                hook()
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
            with handle_internal_errors("closing a log handler"):
                handler.close()
        if not self._owns_providers:
            self.force_flush(int(max(0.0, deadline - time.monotonic()) * 1000))
            return
        meter_provider = self.meter_provider

        def stop_meters() -> None:
            stop = getattr(meter_provider, "shutdown", None)
            if stop is not None:
                stop(timeout_millis=max(0.0, deadline - time.monotonic()) * 1000)

        stops = [stop_meters]
        for provider in (self.tracer_provider, self.logger_provider):
            stop = getattr(provider, "shutdown", None)
            if stop is not None:
                stops.append(stop)
        if self._local_only:
            for stop in stops:
                with handle_internal_errors("provider shutdown"):
                    stop()
            return
        # The last fifth of the budget (at most a second) is kept to cut short what still waits on the collector.
        cut_at = deadline - min(1.0, max(0.0, deadline - time.monotonic()) / 5)
        if not run_all(stops, deadline, what="provider shutdown", cut_at=cut_at, cut=self._guards.abort):
            _logger.warning("telemetry shutdown did not finish within %d ms; the bot exits anyway", timeout_millis)
        self._report_losses()

    def _report_losses(self) -> None:
        causes = self._guards.losses_by_cause()
        if not causes:
            return
        where = ", ".join(endpoint.address for endpoint in self._guards.endpoints)
        detail = "; ".join(f"{cause}: {describe_losses(losses)}" for cause, losses in sorted(causes.items()))
        _logger.warning("telemetry not delivered to %s: %s", where, detail)

    def __repr__(self) -> str:
        state = "disabled" if not self.enabled else ("shut down" if self._shutdown else "running")
        return f"<Telemetry service={self.settings.service_name!r} {state}>"


def _has_log_processors(provider: LoggerProvider) -> bool:
    multi = getattr(provider, "_multi_log_record_processor", None)
    return bool(getattr(multi, "_log_record_processors", ()))
