"""First-class OpenTelemetry observability for algorithmic breakout trading bots."""

from otel_breakout._settings import (
    BatchSettings,
    ConfigError,
    ConfigWarning,
    OtlpExporterSettings,
    ReportSettings,
    Settings,
)
from otel_breakout._telemetry import Telemetry, configure, get_telemetry
from otel_breakout._version import __version__
from otel_breakout._views import LATENCY_BUCKETS_SECONDS
from otel_breakout.report import DiagnosticsReport, DiagnosticsReportBuilder

__all__ = [
    "LATENCY_BUCKETS_SECONDS",
    "BatchSettings",
    "ConfigError",
    "ConfigWarning",
    "DiagnosticsReport",
    "DiagnosticsReportBuilder",
    "OtlpExporterSettings",
    "ReportSettings",
    "Settings",
    "Telemetry",
    "__version__",
    "configure",
    "get_telemetry",
]
