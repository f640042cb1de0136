"""The metrics part's process-wide objects, for callers that hand ``create_app`` nothing of their own."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from otel_breakout.api._sources import MetricsSource, ResourceSource, SnapshotTaker

__all__ = ["DefaultSources", "default_sources"]


@dataclass
class DefaultSources:
    metrics_logger: MetricsSource | None = None
    resource_monitor: ResourceSource | None = None
    snapshot: SnapshotTaker | None = None
    _started: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for monitor in self._started:
            monitor.stop()
        self._started.clear()


def default_sources(*, start_monitor: bool = False) -> DefaultSources:
    try:
        metrics: Any = importlib.import_module("otel_breakout.metrics")
    except ImportError:
        return DefaultSources()
    sources = DefaultSources(metrics.get_metrics_logger(), None, metrics.take_memory_snapshot)
    if start_monitor:
        monitor = metrics.ResourceMonitor()
        monitor.start()
        sources.resource_monitor = monitor
        sources._started.append(monitor)
    return sources
