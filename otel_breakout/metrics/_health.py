"""The resource monitor's health verdicts: which limits a sample exceeds, how badly, and what that calls for."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from otel_breakout.metrics._resources import ResourceLimits, ResourceMetrics

__all__ = ["CHECKS", "Check", "actions_for", "ceilings", "critical_at", "find_issues", "stale_issue", "status_of"]


@dataclass(frozen=True, slots=True)
class Check:
    """One limit: the sample field it reads, the limit field, how to say it, and the actions it triggers."""

    name: str  # a ResourceMetrics field, and the issue's "check"
    limit: str  # a ResourceLimits field
    label: str
    unit: str
    actions: tuple[str, ...]


CHECKS = (
    Check("cpu_percent", "max_cpu_percent", "system CPU", "%", ()),
    Check("memory_percent", "max_memory_percent", "system memory", "%", ("gc", "cache_clear")),
    Check("process_memory_mb", "max_memory_mb", "process memory", " MiB", ("gc", "cache_clear")),
    Check("disk_usage_percent", "max_disk_percent", "disk", "%", ("log_cleanup",)),
    Check("active_threads", "max_threads", "threads", "", ("thread_warning",)),
    # Leaked file objects are closed by their finalizers, which a collection runs.
    Check("open_files", "max_open_files", "open files", "", ("gc",)),
)


def _open_files_ceiling() -> float | None:
    """The soft RLIMIT_NOFILE: past it, opening a file fails, so it is the ceiling for ``open_files``."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else float(soft)


def ceilings() -> dict[str, float | None]:
    """The hard ceiling of each check that has one (percentages at 100, open files at the soft rlimit)."""
    return {"cpu_percent": 100.0, "memory_percent": 100.0, "disk_usage_percent": 100.0,
            "open_files": _open_files_ceiling()}  # fmt: skip


def critical_at(limit: float, ceiling: float | None) -> float:
    """Warning above the limit; critical halfway from the limit to the hard ceiling (or at 1.5x the limit)."""
    if ceiling is not None and ceiling > limit:
        return limit + (ceiling - limit) / 2
    return limit * 1.5


def find_issues(
    metrics: ResourceMetrics, limits: ResourceLimits, ceiling: dict[str, float | None]
) -> list[dict[str, Any]]:
    """Every limit ``metrics`` exceeds, with the numbers behind it."""
    found: list[dict[str, Any]] = []
    for check in CHECKS:
        value = float(getattr(metrics, check.name))
        limit = float(getattr(limits, check.limit))
        if value <= limit:
            continue
        critical = critical_at(limit, ceiling.get(check.name))
        # A busy host slows the bot but does not stop it: CPU alone never makes health critical (503),
        # which would have a load balancer or supervisor kill a working bot on one busy sample.
        severity = "critical" if value >= critical and check.name != "cpu_percent" else "warning"
        unit = check.unit
        found.append({
            "check": check.name,
            "value": round(value, 3),
            "limit": limit,
            "severity": severity,
            "message": f"{check.label} at {value:.1f}{unit} is above the limit of {limit:g}{unit}"
            + (f" (critical from {critical:g}{unit})" if severity == "critical" else ""),
        })  # fmt: skip
    return found


def stale_issue(age: float, limit: float) -> dict[str, Any]:
    """The issue of a running monitor whose loop has not sampled for ``age`` seconds (past ``limit``)."""
    return {
        "check": "monitor",
        "value": round(age, 3),
        "limit": limit,
        "severity": "warning",
        "message": f"the resource monitor has not sampled for {age:.1f} s",
    }


def status_of(issues: Iterable[dict[str, Any]]) -> str:
    """``critical`` if any issue is, ``degraded`` if there is any issue, else ``ok``."""
    severities = {issue["severity"] for issue in issues}
    return "critical" if "critical" in severities else "degraded" if severities else "ok"


def actions_for(issues: Iterable[dict[str, Any]]) -> set[str]:
    """The corrective actions the limits behind ``issues`` call for."""
    exceeded = {issue["check"] for issue in issues}
    return {action for check in CHECKS if check.name in exceeded for action in check.actions}
