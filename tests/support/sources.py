"""Sources for the API tests: the real monitor made calm, and stand-ins where a test needs what the real
classes cannot do on purpose (fail on cue, serve names outside the catalogue, report a fixed status)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from otel_breakout.metrics import ResourceMetrics


@dataclass(frozen=True, slots=True)
class Sample:
    ts: float
    value: float
    attributes: Mapping[str, str] = field(default_factory=dict)


class ListLogger:
    """Keeps every sample it is given; ``last_cycle_end`` drives ``last_cycle_age``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.data: dict[str, list[Sample]] = {}
        self.last_cycle_end: float | None = None

    def record(self, name: str, value: float, ts: float | None = None, **attributes: str) -> None:
        self.data.setdefault(name, []).append(Sample(self.clock() if ts is None else ts, value, attributes))

    def series(self, name: str) -> list[Any]:
        return list(self.data.get(name, []))

    def all(self) -> dict[str, list[Any]]:
        return {name: list(samples) for name, samples in self.data.items()}

    def summary(self) -> dict[str, Any]:
        cycles = self.data.get("breakout.engine.cycle.duration", [])
        return {
            "engine": {"cycles": len(cycles)},
            "trading": {"trades": len(self.data.get("breakout.trade.pnl", []))},
            "scanner": {"scans": 0},
        }

    def names(self) -> list[str]:
        return sorted(self.data)

    def last_cycle_age(self, now: float | None = None) -> float | None:
        if self.last_cycle_end is None:
            return None
        return (self.clock() if now is None else now) - self.last_cycle_end


class FixedMonitor:
    """Reports the status and issues it was given."""

    def __init__(self, status: str = "ok", issues: list[dict[str, Any]] | None = None) -> None:
        self.status = status
        self.issues = issues or []
        self.current = ResourceMetrics(1000.0, 12.5, 40.0, 512.0, 1024.0, 55.0, 100.0, 9, 20, 3)

    def get_current_metrics(self) -> Any:
        return self.current

    def get_metrics_summary(self, minutes: int = 5) -> dict[str, Any]:
        return {"minutes": minutes, "cpu_percent": {"avg": 12.5, "max": 20.0}}

    def get_health_status(self) -> dict[str, Any]:
        return {"status": self.status, "issues": list(self.issues), "metrics": {"cpu_percent": 12.5}}


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def calm_monitor(telemetry: Any) -> Any:
    """A real ResourceMonitor that finds nothing wrong on any machine and takes no corrective action."""
    from otel_breakout import Settings
    from otel_breakout.metrics import ResourceLimits, ResourceMonitor

    limits = ResourceLimits(
        max_cpu_percent=100.0,
        max_memory_percent=100.0,
        max_memory_mb=1e9,
        max_disk_percent=100.0,
        max_threads=1_000_000,
        max_open_files=1_000_000,
    )
    settings = Settings.from_env({"OTEL_BREAKOUT_RESOURCE_AUTO_OPTIMIZE": "false"})
    return ResourceMonitor(telemetry, settings=settings, limits=limits)
