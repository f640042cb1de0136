"""First-class OpenTelemetry observability for algorithmic breakout trading bots."""

from otel_breakout._settings import (
    BatchSettings,
    ConfigError,
    ConfigWarning,
    DiagnosticsSettings,
    OtlpExporterSettings,
    Settings,
)
from otel_breakout._telemetry import Telemetry, configure, get_telemetry
from otel_breakout._version import __version__
from otel_breakout._views import LATENCY_BUCKETS_SECONDS
from otel_breakout.diagnostics import DiagnosticsCollector, DiagnosticsEvent

__all__ = [
    "LATENCY_BUCKETS_SECONDS",
    "BatchSettings",
    "ConfigError",
    "ConfigWarning",
    "DiagnosticsCollector",
    "DiagnosticsEvent",
    "DiagnosticsSettings",
    "OtlpExporterSettings",
    "Settings",
    "Telemetry",
    "__version__",
    "configure",
    "get_telemetry",
]
