"""Engine, trading and resource metrics: ``MetricsLogger``, ``ResourceMonitor`` and memory snapshots."""

from otel_breakout._flush import FlushBeforeCollect, flush_histograms
from otel_breakout.catalogue import UnknownMetricError
from otel_breakout.metrics._actions import OptimizationAction
from otel_breakout.metrics._bound import BoundCounter, BoundGauge, BoundHistogram, BoundUpDownCounter
from otel_breakout.metrics._cleanup import CleanupResult, clean_log_dir
from otel_breakout.metrics._instruments import MetricAttributeError
from otel_breakout.metrics._logger import MetricsLogger, get_metrics_logger
from otel_breakout.metrics._monitor import ResourceMonitor, get_resource_monitor
from otel_breakout.metrics._resources import ResourceLimits, ResourceMetrics
from otel_breakout.metrics._snapshot import take_memory_snapshot
from otel_breakout.metrics._timer import Timer
from otel_breakout.metrics._window import Sample

__all__ = [
    "BoundCounter",
    "BoundGauge",
    "BoundHistogram",
    "BoundUpDownCounter",
    "CleanupResult",
    "FlushBeforeCollect",
    "MetricAttributeError",
    "MetricsLogger",
    "OptimizationAction",
    "ResourceLimits",
    "ResourceMetrics",
    "ResourceMonitor",
    "Sample",
    "Timer",
    "UnknownMetricError",
    "clean_log_dir",
    "flush_histograms",
    "get_metrics_logger",
    "get_resource_monitor",
    "take_memory_snapshot",
]
