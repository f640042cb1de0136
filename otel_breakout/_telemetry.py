"""``configure()`` and the :class:`Telemetry` handle: providers, resource, views, exporters, logging."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import _logs as otel_logs
from opentelemetry import metrics, trace
from opentelemetry._logs import Logger, LoggerProvider, NoOpLoggerProvider
from opentelemetry.metrics import Meter, MeterProvider, NoOpMeterProvider
from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import NoOpTracerProvider, Tracer, TracerProvider

from otel_breakout._deadline import SingleFlight, run_all
from otel_breakout._exporters import build_log_exporters, build_metric_readers, build_span_exporters
from otel_breakout._internal import handle_internal_errors
from otel_breakout._log_batches import LogBatchProcessor
from otel_breakout._logs import install_logging, install_trace_context_factory
from otel_breakout._outage import ExportGuards, describe_losses
from otel_breakout._prometheus import PrometheusPullReader
from otel_breakout._resource import build_resource
from otel_breakout._settings import ConfigWarning, Settings
from otel_breakout._version import __version__
from otel_breakout._views import cardinality_limits, latency_views

__all__ = ["Telemetry", "configure", "get_telemetry"]

_logger = logging.getLogger("otel_breakout")
INSTRUMENTATION_SCOPE = "otel_breakout"
# What shutdown gets at interpreter exit: enough for a healthy collector, bounded for a dead one.
EXIT_SHUTDOWN_MILLIS = 5_000
# What our commands give it after Ctrl-C or SIGTERM: with the rest of their stop, they exit within 5 s.
STOP_SHUTDOWN_MILLIS = 3_000
# Exporters with no backend that could keep a shutdown waiting.
_LOCAL_EXPORTERS = frozenset({"console", "prometheus"})


def _sampler(settings: Settings) -> Sampler:
    name, ratio = settings.sampler, settings.sampler_arg
    root: Sampler = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": TraceIdRatioBased(ratio),
    }.get(name.removeprefix("parentbased_"), ALWAYS_ON)
    return ParentBased(root) if name.startswith("parentbased_") else root


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

        guards = ExportGuards()
        tracer_provider = SdkTracerProvider(resource=resource, sampler=_sampler(settings), shutdown_on_exit=False)
        bsp = settings.bsp
        for span_exporter in build_span_exporters(settings, guards):
            tracer_provider.add_span_processor(
                BatchSpanProcessor(
                    span_exporter,
                    max_queue_size=bsp.max_queue_size,
                    schedule_delay_millis=bsp.schedule_delay_ms,
                    max_export_batch_size=bsp.max_export_batch_size,
                    export_timeout_millis=bsp.export_timeout_ms,
                )
            )
        for span_processor in span_processors:
            tracer_provider.add_span_processor(span_processor)

        limits = cardinality_limits(settings.cardinality_limit)
        pull = PrometheusPullReader(cardinality_limits=limits) if "prometheus" in settings.metrics_exporters else None
        readers = [*build_metric_readers(settings, pull, guards), *metric_readers]
        meter_provider = SdkMeterProvider(
            metric_readers=readers, resource=resource, views=latency_views(), shutdown_on_exit=False
        )

        logger_provider = SdkLoggerProvider(resource=resource, shutdown_on_exit=False)
        blrp = settings.blrp
        for log_exporter in build_log_exporters(settings, guards):
            logger_provider.add_log_record_processor(
                LogBatchProcessor(
                    log_exporter,
                    schedule_delay_millis=blrp.schedule_delay_ms,
                    max_export_batch_size=blrp.max_export_batch_size,
                    export_timeout_millis=blrp.export_timeout_ms,
                    max_queue_size=blrp.max_queue_size,
                )
            )
        for log_processor in log_processors:
            logger_provider.add_log_record_processor(log_processor)
        telemetry = cls(
            settings,
            resource,
            tracer_provider,
            meter_provider,
            logger_provider,
            prometheus_reader=pull,
            export_guards=guards,
            local_only=not (span_processors or metric_readers or log_processors)
            and _LOCAL_EXPORTERS.issuperset(
                (*settings.traces_exporters, *settings.logs_exporters, *settings.metrics_exporters)
            ),
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


# --- the process-wide handle ----------------------------------------------------------------------

_global_lock = threading.RLock()
_global: Telemetry | None = None


def get_telemetry() -> Telemetry | None:
    """The handle built by ``configure()`` (or by ``opentelemetry-instrument``), if any."""
    return _global


def configure(
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    service_instance_id: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    traces_exporter: str | Sequence[str] | None = None,
    metrics_exporter: str | Sequence[str] | None = None,
    logs_exporter: str | Sequence[str] | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    otlp_timeout_ms: int | None = None,
    metric_export_interval_ms: int | None = None,
    sampler: str | None = None,
    sampler_arg: float | None = None,
    cardinality_limit: int | None = None,
    log_level: str | None = None,
    log_file: str | None = None,
    sdk_disabled: bool | None = None,
    strict: bool | None = None,
    environ: Mapping[str, str] | None = None,
    _auto_instrumentation_version: str | None = None,
) -> Telemetry:
    """Set up traces, metrics and logs for the process from arguments > ``OTEL_*`` environment > defaults.

    Idempotent: a second call returns the first handle and warns if it asked for something different.
    Inside a process already set up by ``opentelemetry-instrument`` it adopts those providers instead of
    building a second set. Opens no network listener: the Prometheus text is served by the API.
    """
    arguments: dict[str, Any] = {
        "service_name": service_name,
        "service_version": service_version,
        "service_instance_id": service_instance_id,
        "resource_attributes": resource_attributes,
        "traces_exporter": traces_exporter,
        "metrics_exporter": metrics_exporter,
        "logs_exporter": logs_exporter,
        "otlp_endpoint": otlp_endpoint,
        "otlp_protocol": otlp_protocol,
        "otlp_headers": otlp_headers,
        "otlp_timeout_ms": otlp_timeout_ms,
        "metric_export_interval_ms": metric_export_interval_ms,
        "sampler": sampler,
        "sampler_arg": sampler_arg,
        "cardinality_limit": cardinality_limit,
        "log_level": log_level,
        "log_file": log_file,
        "sdk_disabled": sdk_disabled,
        "strict": strict,
    }
    global _global
    with _global_lock:
        if _global is not None:
            # A bare configure() just asks for the handle; only a call that asks for something is compared.
            if environ is not None or any(value is not None for value in arguments.values()):
                _warn_on_conflict(_global.settings, Settings.from_env(environ, **arguments))
            return _global
        settings = Settings.from_env(environ, **arguments)
        telemetry = _adopt_installed(settings) or Telemetry.create(
            settings, auto_instrumentation_version=_auto_instrumentation_version
        )
        if telemetry._owns_providers and telemetry.enabled:
            trace.set_tracer_provider(telemetry.tracer_provider)
            metrics.set_meter_provider(telemetry.meter_provider)
            otel_logs.set_logger_provider(telemetry.logger_provider)
        telemetry.install_logging()
        atexit.register(telemetry.shutdown, EXIT_SHUTDOWN_MILLIS)
        _global = telemetry
        return telemetry


def _warn_on_conflict(first: Settings, again: Settings) -> None:
    fields = [name for name in Settings.__dataclass_fields__ if not name.startswith("_")]
    differing = [name for name in fields if getattr(first, name) != getattr(again, name)]
    if differing:
        warnings.warn(
            ConfigWarning(
                "configure() was already called; the first configuration stays and these differences are "
                "ignored: " + ", ".join(differing)
            ),
            stacklevel=3,
        )


def _adopt_installed(settings: Settings) -> Telemetry | None:
    """Wrap providers that ``opentelemetry-instrument`` (the stock configurator) already installed."""
    tracer_provider = trace.get_tracer_provider()
    meter_provider = metrics.get_meter_provider()
    if settings.sdk_disabled or not isinstance(tracer_provider, SdkTracerProvider):
        return None
    if not isinstance(meter_provider, SdkMeterProvider):
        return None
    install_trace_context_factory()
    readers = getattr(meter_provider, "_metric_readers", ())
    pull = next((r for r in readers if isinstance(r, PrometheusPullReader)), None)
    _logger.info("adopting the OpenTelemetry providers already installed (opentelemetry-instrument?)")
    return Telemetry(
        settings,
        tracer_provider.resource,
        tracer_provider,
        meter_provider,
        otel_logs.get_logger_provider(),
        prometheus_reader=pull,
        owns_providers=False,
    )


def _reset_for_tests() -> None:
    """Forget the process-wide handle (the OTel global providers themselves cannot be reset)."""
    global _global
    with _global_lock:
        _global = None
