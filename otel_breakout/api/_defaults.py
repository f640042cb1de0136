"""The metrics part's process-wide objects, for callers that hand ``create_app`` nothing of their own."""

from __future__ import annotations

from otel_breakout.api._sources import MetricsSource, ResourceSource, SnapshotTaker
from otel_breakout.metrics import get_metrics_logger, get_resource_monitor, take_memory_snapshot

__all__ = ["default_logger", "default_monitor", "default_snapshot"]


def default_logger() -> MetricsSource:
    return get_metrics_logger()


def default_monitor() -> ResourceSource:
    """The process-wide monitor; it is not started here (the API starts no threads of its own)."""
    return get_resource_monitor()


def default_snapshot() -> SnapshotTaker:
    return take_memory_snapshot
