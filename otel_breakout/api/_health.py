"""``/api/metrics/health``: the resource monitor's verdict joined with the age of the last engine cycle.

A process can be perfectly healthy (CPU, memory, disk all fine) while its engine loop is stuck on a lock
or a dead exchange socket; only the cycle age shows that, so it weighs as much as the resources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from otel_breakout._internal import internal_errors_raise, log_internal_error
from otel_breakout.api._sources import MetricsSource, ResourceSource

__all__ = ["STATUS_CODES", "HealthPolicy", "assess"]

STATUS_CODES = {"ok": 200, "degraded": 200, "critical": 503}
_RANK = {"ok": 0, "degraded": 1, "critical": 2}
_SEVERITY_STATUS = {"warning": "degraded", "critical": "critical"}


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    warning_s: float
    critical_s: float
    engine_check: bool = True


def _issue(check: str, value: float, limit: float, severity: str, message: str) -> dict[str, Any]:
    return {"check": check, "value": value, "limit": limit, "severity": severity, "message": message}


def _engine(
    policy: HealthPolicy, logger: MetricsSource | None, now: float, uptime: float
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the ``engine`` block, an issue or None)."""
    if logger is None or not policy.engine_check:
        return None, None
    try:
        age = logger.last_cycle_age(now)
    except Exception as exc:
        log_internal_error("metrics logger cycle age", exc)
        if internal_errors_raise():
            raise
        message = "the metrics logger failed to report the engine cycle age; see the bot's log"
        block = {"last_cycle_age_s": None, "warning_after_s": policy.warning_s, "critical_after_s": policy.critical_s}
        return block, _issue("engine_cycle_age", math.nan, policy.warning_s, "warning", message)
    block = {"last_cycle_age_s": age, "warning_after_s": policy.warning_s, "critical_after_s": policy.critical_s}
    if age is not None and not math.isfinite(age):
        age = math.inf
    # Before the first cycle the engine gets the same allowance, counted from the API's start.
    waited = age if age is not None else uptime
    what = "the last engine cycle ended" if age is not None else "no engine cycle yet; the API started"
    for severity, limit in (("critical", policy.critical_s), ("warning", policy.warning_s)):
        if waited > limit:
            message = f"{what} {waited:.0f} s ago (limit {limit:g} s): the engine may be stalled"
            return block, _issue("engine_cycle_age", waited, limit, severity, message)
    return block, None


_Resources = tuple[str, list[dict[str, Any]], dict[str, Any], dict[str, Any]]


def _resources(monitor: ResourceSource | None) -> _Resources:
    """(status, issues, numbers, the monitor's own context such as its limits)."""
    if monitor is None:
        return "ok", [], {}, {}
    try:
        report = monitor.get_health_status()
        status = report.get("status")
        issues = [dict(issue) for issue in report.get("issues", [])]
        metrics = dict(report.get("metrics") or {})
        context = {key: report.get(key) for key in ("limits", "monitor")}
    except Exception as exc:
        # Internal details stay in the log; the client learns that the check itself failed.
        log_internal_error("resource monitor health", exc)
        if internal_errors_raise():
            raise
        message = "the resource monitor failed to report; see the bot's log"
        return "degraded", [_issue("resource_monitor", 1.0, 0.0, "warning", message)], {}, {}
    if status not in _RANK:
        message = f"the resource monitor reported an unknown status {str(status)[:40]!r}"
        return "degraded", [*issues, _issue("resource_monitor", 1.0, 0.0, "warning", message)], metrics, context
    return str(status), issues, metrics, context


def assess(
    policy: HealthPolicy,
    logger: MetricsSource | None,
    monitor: ResourceSource | None,
    *,
    now: float,
    uptime: float,
) -> dict[str, Any]:
    status, issues, metrics, context = _resources(monitor)
    engine, engine_issue = _engine(policy, logger, now, uptime)
    if engine_issue is not None:
        issues.append(engine_issue)
        if _RANK[_SEVERITY_STATUS[engine_issue["severity"]]] > _RANK[status]:
            status = _SEVERITY_STATUS[engine_issue["severity"]]
    return {
        "status": status,
        "generated_at": now,
        "uptime_s": uptime,
        "issues": issues,
        "metrics": metrics,
        "engine": engine,
        "limits": context.get("limits"),
        "monitor": context.get("monitor"),
    }
