"""First-class OpenTelemetry observability for algorithmic breakout trading bots."""

from otel_breakout._settings import (
    ApiSettings,
    BatchSettings,
    ConfigError,
    ConfigWarning,
    OtlpExporterSettings,
    Settings,
)
from otel_breakout._telemetry import Telemetry, configure, get_telemetry
from otel_breakout._version import __version__
from otel_breakout._views import LATENCY_BUCKETS_SECONDS

__all__ = [
    "LATENCY_BUCKETS_SECONDS",
    "ApiSettings",
    "BatchSettings",
    "ConfigError",
    "ConfigWarning",
    "OtlpExporterSettings",
    "Settings",
    "Telemetry",
    "__version__",
    "configure",
    "get_telemetry",
]
