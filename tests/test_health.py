from __future__ import annotations

from dataclasses import replace

from otel_breakout.metrics import ResourceLimits, ResourceMetrics
from otel_breakout.metrics._health import actions_for, critical_at, find_issues, stale_issue, status_of

# A sample well inside the default limits: CPU %, memory %, used/available MiB, disk %, free GiB, threads,
# open files, connections, process CPU %, process MiB.
CALM = ResourceMetrics(1_700_000_000.0, 10.0, 40.0, 4000.0, 6000.0, 50.0, 100.0, 12, 30, 2, 5.0, 300.0)
CEILINGS: dict[str, float | None] = {"cpu_percent": 100.0, "memory_percent": 100.0, "disk_usage_percent": 100.0,
                                     "open_files": 1024.0}  # fmt: skip


def test_critical_levels() -> None:
    assert critical_at(85, 100) == 92.5
    assert critical_at(800, 1024) == 912
    assert critical_at(80, None) == 120
    assert critical_at(2000, 1024) == 3000


def test_a_calm_sample_is_ok_and_calls_for_nothing() -> None:
    issues = find_issues(CALM, ResourceLimits(), CEILINGS)
    assert issues == [] and status_of(issues) == "ok" and actions_for(issues) == set()


def test_each_exceeded_limit_is_an_issue_with_its_numbers_and_actions() -> None:
    sample = replace(CALM, memory_percent=88.0, open_files=950, disk_usage_percent=91.0)
    issues = find_issues(sample, ResourceLimits(), CEILINGS)
    by_check = {issue["check"]: issue for issue in issues}
    assert list(by_check) == ["memory_percent", "disk_usage_percent", "open_files"]  # in the checks' order
    assert by_check["memory_percent"]["severity"] == "warning"
    assert by_check["memory_percent"]["message"] == "system memory at 88.0% is above the limit of 85%"
    # Open files: critical halfway from the limit (800) to the soft rlimit (1024).
    assert by_check["open_files"]["severity"] == "critical" and by_check["open_files"]["limit"] == 800.0
    assert by_check["open_files"]["message"].endswith("(critical from 912)")
    assert status_of(issues) == "critical"
    assert actions_for(issues) == {"gc", "cache_clear", "log_cleanup"}


def test_cpu_alone_is_never_critical() -> None:
    issues = find_issues(replace(CALM, cpu_percent=100.0), ResourceLimits(), CEILINGS)
    assert [(i["check"], i["severity"]) for i in issues] == [("cpu_percent", "warning")]
    assert status_of(issues) == "degraded" and actions_for(issues) == set()


def test_a_stale_loop_is_a_warning() -> None:
    issue = stale_issue(31.04, 30.0)
    assert issue == {
        "check": "monitor",
        "value": 31.04,
        "limit": 30.0,
        "severity": "warning",
        "message": "the resource monitor has not sampled for 31.0 s",
    }
    assert status_of([issue]) == "degraded"
