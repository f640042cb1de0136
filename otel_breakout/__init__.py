"""First-class OpenTelemetry observability for algorithmic breakout trading bots."""

from otel_breakout._settings import (
    ApiSettings,
    BatchSettings,
    ConfigError,
    ConfigWarning,
    DiagnosticsSettings,
    MetricsSettings,
    OtlpExporterSettings,
    ReportSettings,
    ResourceSettings,
    Settings,
)
from otel_breakout._telemetry import Telemetry, configure, get_telemetry
from otel_breakout._version import __version__
from otel_breakout._views import LATENCY_BUCKETS_SECONDS
from otel_breakout.diagnostics import DiagnosticsCollector, DiagnosticsEvent
from otel_breakout.metrics import (
    MetricsLogger,
    OptimizationAction,
    ResourceLimits,
    ResourceMetrics,
    ResourceMonitor,
    Sample,
    get_metrics_logger,
    get_resource_monitor,
    take_memory_snapshot,
)
from otel_breakout.report import DiagnosticsReport, DiagnosticsReportBuilder

__all__ = [
    "LATENCY_BUCKETS_SECONDS",
    "ApiSettings",
    "BatchSettings",
    "ConfigError",
    "ConfigWarning",
    "DiagnosticsCollector",
    "DiagnosticsEvent",
    "DiagnosticsReport",
    "DiagnosticsReportBuilder",
    "DiagnosticsSettings",
    "MetricsLogger",
    "MetricsSettings",
    "OptimizationAction",
    "OtlpExporterSettings",
    "ReportSettings",
    "ResourceLimits",
    "ResourceMetrics",
    "ResourceMonitor",
    "ResourceSettings",
    "Sample",
    "Settings",
    "Telemetry",
    "__version__",
    "configure",
    "get_metrics_logger",
    "get_resource_monitor",
    "get_telemetry",
    "take_memory_snapshot",
]
