"""``configure()`` and the process-wide :class:`Telemetry` (built, or adopted from ``opentelemetry-instrument``)."""

from __future__ import annotations

import atexit
import logging
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import _logs as otel_logs
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from otel_breakout._handle import EXIT_SHUTDOWN_MILLIS, INSTRUMENTATION_SCOPE, STOP_SHUTDOWN_MILLIS, Telemetry
from otel_breakout._logs import install_trace_context_factory
from otel_breakout._prometheus import PrometheusPullReader
from otel_breakout._settings import ConfigWarning, Settings
from otel_breakout._variables import CONFIGURE_ARGUMENTS

# The handle's names are imported from here by most of the package, with configure().
__all__ = [
    "EXIT_SHUTDOWN_MILLIS",
    "INSTRUMENTATION_SCOPE",
    "STOP_SHUTDOWN_MILLIS",
    "Telemetry",
    "configure",
    "get_telemetry",
]

_logger = logging.getLogger("otel_breakout")

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
    # The keywords are the settings' declared arguments (a test holds the signature to CONFIGURE_ARGUMENTS).
    arguments: dict[str, Any] = {name: value for name, value in locals().items() if name in CONFIGURE_ARGUMENTS}
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
