"""What the API reads, as typing Protocols: the metrics part's classes satisfy them structurally.

Keeping the API on these (public in :mod:`otel_breakout.api`) rather than on the concrete classes lets a
bot hand in its own logger or monitor, and keeps the import of the API light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["MetricsSource", "ResourceSource", "SampleLike", "SnapshotTaker"]


class SampleLike(Protocol):
    """One point of a rolling window: ``otel_breakout.metrics.Sample``."""

    @property
    def ts(self) -> float: ...

    @property
    def value(self) -> float: ...

    @property
    def attributes(self) -> Mapping[str, str]: ...


@runtime_checkable
class MetricsSource(Protocol):
    """The part of ``MetricsLogger`` the API uses."""

    def series(self, name: str) -> list[Any]: ...

    def all(self) -> dict[str, list[Any]]: ...

    def summary(self) -> dict[str, Any]: ...

    def names(self) -> list[str]: ...

    def last_cycle_age(self, now: float | None = None) -> float | None: ...


@runtime_checkable
class ResourceSource(Protocol):
    """The part of ``ResourceMonitor`` the API uses (called from Starlette's thread pool: they may block)."""

    def get_current_metrics(self) -> Any: ...

    def get_metrics_summary(self, minutes: int = ...) -> dict[str, Any]: ...

    def get_health_status(self) -> dict[str, Any]: ...


class SnapshotTaker(Protocol):
    """``take_memory_snapshot``: a JSON-ready dict, written to ``path`` when one is given."""

    def __call__(self, path: Any = None, *, top: int = 25) -> dict[str, Any]: ...
