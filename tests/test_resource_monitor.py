from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
import pytest

from otel_breakout import Settings
from otel_breakout.metrics import (
    OptimizationAction,
    ResourceLimits,
    ResourceMetrics,
    ResourceMonitor,
    _monitor,
    get_resource_monitor,
)
from otel_breakout.metrics._health import critical_at
from otel_breakout.testing import TelemetryCapture, capture_telemetry

MIB = 1024 * 1024
# Limits a shared, busy machine cannot cross: system CPU, memory and disk at 100 % are never "above".
QUIET = ResourceLimits(max_cpu_percent=100, max_memory_percent=100, max_disk_percent=100)


class Clock:
    """A monotonic clock the test steps by hand: cooldowns become deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / MIB


def test_sample_has_the_seed_fields_with_sane_values(capture: TelemetryCapture) -> None:
    monitor = ResourceMonitor(capture.telemetry)
    assert monitor.get_current_metrics() is None
    first = monitor.run_once()
    busy_until = time.process_time() + 0.05  # some CPU between the two samples (several clock ticks)
    while time.process_time() < busy_until:
        pass
    metrics = monitor.run_once()
    assert monitor.get_current_metrics() is metrics
    assert list(ResourceMetrics.__dataclass_fields__)[:10] == [
        "timestamp", "cpu_percent", "memory_percent", "memory_used_mb", "memory_available_mb",
        "disk_usage_percent", "disk_free_gb", "active_threads", "open_files", "network_connections",
    ]  # fmt: skip
    assert 0 <= metrics.cpu_percent <= 100 and 0 < metrics.process_cpu_percent <= 100
    assert 0 < metrics.memory_percent < 100 and metrics.memory_used_mb > 0 and metrics.memory_available_mb > 0
    assert 0 < metrics.disk_usage_percent < 100 and metrics.disk_free_gb > 0
    assert metrics.active_threads >= threading.active_count()  # OS threads include native ones
    assert abs(metrics.open_files - psutil.Process().num_fds()) <= 2
    assert metrics.process_memory_mb == pytest.approx(_rss_mb(), rel=0.2)
    assert metrics.timestamp >= first.timestamp
    assert monitor.metrics_history == [first, metrics]


def test_semantic_convention_instruments(capture: TelemetryCapture, tmp_path: Path) -> None:
    monitor = ResourceMonitor(capture.telemetry, settings=Settings.from_env(
        {"OTEL_BREAKOUT_RESOURCE_DISK_PATH": str(tmp_path)}))  # fmt: skip
    metrics = monitor.run_once()
    points = {name: capture.metric_points(name) for name in (
        "process.cpu.utilization", "process.memory.usage", "process.thread.count",
        "process.open_file_descriptor.count", "breakout.process.network.connections", "system.cpu.utilization",
        "system.memory.utilization", "system.filesystem.utilization")}  # fmt: skip
    empty: frozenset[tuple[str, Any]] = frozenset()
    assert 0 <= points["process.cpu.utilization"][empty] <= 1
    assert points["process.memory.usage"][empty] == round(metrics.process_memory_mb * MIB)
    assert points["process.thread.count"][empty] == metrics.active_threads
    assert points["process.open_file_descriptor.count"][empty] == metrics.open_files
    assert points["breakout.process.network.connections"][empty] == metrics.network_connections
    assert 0 <= points["system.cpu.utilization"][empty] <= 1
    assert points["system.memory.utilization"] == {
        frozenset({("system.memory.state", "used")}): pytest.approx(metrics.memory_percent / 100)
    }
    ((attributes, value),) = points["system.filesystem.utilization"].items()
    mountpoint = dict(attributes)["system.filesystem.mountpoint"]
    assert os.path.ismount(mountpoint) and str(tmp_path.resolve()).startswith(mountpoint)
    assert value == pytest.approx(metrics.disk_usage_percent / 100)
    kinds = {name: type(capture.metrics()[name].data).__name__ for name in points}
    assert kinds["process.memory.usage"] == "Sum" and kinds["process.cpu.utilization"] == "Gauge"


def test_a_scrape_between_samples_reuses_the_latest(capture: TelemetryCapture) -> None:
    clock = Clock()
    monitor = ResourceMonitor(capture.telemetry, clock=clock)
    capture.metrics()  # no sample yet: the collection takes one
    first = monitor.get_current_metrics()
    assert first is not None and monitor.metrics_history == []  # on-demand samples stay out of the history
    capture.metrics()
    assert monitor.get_current_metrics() is first
    clock.now += 10 * monitor.interval_s
    capture.metrics()
    assert monitor.get_current_metrics() is not first


@pytest.mark.slow
def test_limits_breached_for_real(capture: TelemetryCapture, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    baseline = ResourceMonitor(capture.telemetry, clock=clock).run_once()
    # Limits just above what this process uses now, so the allocations below cross them for real.
    memory_limit = baseline.process_memory_mb + 16
    thread_limit = baseline.active_threads + 2
    file_limit = baseline.open_files + 5
    limits = replace(QUIET, max_memory_mb=memory_limit, max_threads=thread_limit, max_open_files=file_limit)
    monitor = ResourceMonitor(capture.telemetry, limits=limits, clock=clock, meter=_meter(capture))
    cache: dict[str, bytearray] = {}

    def clear_cache() -> int:
        dropped = len(cache)
        cache.clear()
        return dropped

    monitor.register_cache("prices", clear_cache)
    assert monitor.get_health_status()["status"] == "ok"

    # Memory: halfway between the limit and the critical level (1.5x), so a warning.
    target = (memory_limit + critical_at(memory_limit, None)) / 2
    cache["block"] = bytearray(b"\x01") * int((target - _rss_mb()) * MIB)
    # Threads: past 1.5x the limit, so critical.
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, name=f"leaky-worker-{i}") for i in range(thread_limit + 2)]
    files = []
    try:
        for thread in threads:
            thread.start()
        files = [open(os.devnull, "rb") for _ in range(10)]  # held open on purpose
        with caplog.at_level(logging.WARNING, "otel_breakout.metrics"):
            metrics = monitor.run_once()
        health = monitor.get_health_status()
        assert metrics.open_files > file_limit and metrics.active_threads > 1.5 * thread_limit
        issues = {issue["check"]: issue for issue in health["issues"]}
        assert set(issues) == {"process_memory_mb", "active_threads", "open_files"}
        assert issues["process_memory_mb"]["severity"] == "warning"
        assert issues["active_threads"]["severity"] == "critical"
        assert issues["open_files"]["severity"] == "warning"
        assert issues["open_files"]["value"] == metrics.open_files and issues["open_files"]["limit"] == file_limit
        assert "threads at" in issues["active_threads"]["message"]
        assert health["status"] == "critical"
        json.dumps(health)

        # Actions ran once each, by priority, with a record, a counter and a log line.
        actions = monitor.optimization_history
        assert [a.action_type for a in actions] == ["gc", "cache_clear", "thread_warning"]
        assert [a.priority for a in actions] == sorted(a.priority for a in actions)
        assert all(isinstance(a, OptimizationAction) and a.executed for a in actions)
        assert actions[1].details == {"prices": 1} and cache == {}
        assert f"leaky-worker x{thread_limit + 2}" in actions[2].description
        assert monitor.optimization_count == 3 and monitor.last_optimization == actions[-1].timestamp
        counted = capture.metric_points("breakout.resource.actions")
        # Every action has a series from the start (at 0), so the first one shows as an increase.
        assert counted == {frozenset({("action", a)}): int(a != "log_cleanup")
                           for a in ("gc", "cache_clear", "log_cleanup", "thread_warning")}  # fmt: skip
        logged = [r.getMessage() for r in caplog.records if r.name == "otel_breakout.metrics"]
        assert [m.split(":")[0] for m in logged] == [
            "resource monitor gc",
            "resource monitor cache_clear",
            "resource monitor thread_warning",
        ]

        # Freeing the cache brought memory back under its limit; threads and files are still over, but
        # nothing runs again until the cooldown has passed.
        monitor.run_once()
        health = monitor.get_health_status()
        assert {i["check"] for i in health["issues"]} == {"active_threads", "open_files"}
        assert monitor.optimization_count == 3
        clock.now += monitor.cooldowns["gc"] - 1
        monitor.run_once()
        assert monitor.optimization_count == 3
        clock.now += 2
        monitor.run_once()
        assert [a.action_type for a in monitor.optimization_history[3:]] == ["gc", "thread_warning"]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for handle in files:
            handle.close()
    # Everything released: the next sample is healthy again.
    monitor.run_once()
    assert monitor.get_health_status()["status"] == "ok"


def _meter(capture: TelemetryCapture) -> Any:
    # A second monitor in one Telemetry needs its own instrumentation scope: same names, separate streams.
    return capture.telemetry.get_meter("otel_breakout.test")


def test_disk_limit_cleans_the_log_dir_only(capture: TelemetryCapture, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    old = time.time() - 10 * 86400
    for name in ("app.log.3", "diag_S_1.jsonl", "notes.txt"):
        (logs / name).write_text("x" * 100)
        os.utime(logs / name, (old, old))
    (logs / "app.log").write_text("current")
    settings = Settings.from_env({
        "OTEL_BREAKOUT_RESOURCE_LOG_DIR": str(logs),
        "OTEL_BREAKOUT_RESOURCE_DISK_PATH": str(tmp_path),
    })  # fmt: skip
    # Any real disk is above 1 %: breached for real.
    monitor = ResourceMonitor(capture.telemetry, settings=settings, limits=replace(QUIET, max_disk_percent=1))
    monitor.run_once()
    (action,) = monitor.optimization_history
    assert action.action_type == "log_cleanup" and action.executed
    assert action.details["deleted"] == 2 and action.details["freed_bytes"] == 200
    assert sorted(p.name for p in logs.iterdir()) == ["app.log", "notes.txt"]
    counted = {k: v for k, v in capture.metric_points("breakout.resource.actions").items() if v}
    assert counted == {frozenset({("action", "log_cleanup")}): 1}
    issues = {issue["check"]: issue for issue in monitor.get_health_status()["issues"]}
    assert issues["disk_usage_percent"]["limit"] == 1.0


def test_without_a_log_dir_or_caches_those_actions_do_not_run(capture: TelemetryCapture) -> None:
    limits = replace(QUIET, max_disk_percent=1, max_memory_mb=1)
    monitor = ResourceMonitor(capture.telemetry, limits=limits)
    monitor.run_once()
    assert [a.action_type for a in monitor.optimization_history] == ["gc"]


def test_auto_optimize_off_reports_without_acting(capture: TelemetryCapture) -> None:
    settings = Settings.from_env({"OTEL_BREAKOUT_RESOURCE_AUTO_OPTIMIZE": "false",
                                  "OTEL_BREAKOUT_RESOURCE_MAX_MEMORY_MB": "1"})  # fmt: skip
    monitor = ResourceMonitor(capture.telemetry, settings=settings)
    monitor.run_once()
    assert monitor.optimization_history == [] and monitor.optimization_count == 0
    assert monitor.get_health_status()["status"] == "critical"  # far above 1.5x a 1 MiB limit


def test_a_failing_cache_callback_is_recorded_not_raised(capture: TelemetryCapture) -> None:
    monitor = ResourceMonitor(capture.telemetry, limits=replace(QUIET, max_memory_mb=1))

    def broken() -> None:
        raise RuntimeError("cache is locked")

    monitor.register_cache("broken", broken)
    monitor.run_once()
    gc_action, cache_action = monitor.optimization_history
    assert gc_action.executed and not cache_action.executed
    assert "every cache callback failed" in cache_action.description
    assert monitor.optimization_count == 1
    monitor.register_cache("fine", lambda: 3)
    monitor.cooldowns["cache_clear"] = 0
    monitor.run_once()
    last = monitor.optimization_history[-1]
    assert last.executed and last.details == {"broken": "failed: RuntimeError", "fine": 3}
    monitor.unregister_cache("broken")


def test_summary_over_minutes(capture: TelemetryCapture) -> None:
    monitor = ResourceMonitor(capture.telemetry)
    empty = monitor.get_metrics_summary(5)
    assert empty["samples"] == 0 and empty["cpu_percent"]["avg"] is None
    samples = [monitor.run_once() for _ in range(3)]
    summary = monitor.get_metrics_summary(minutes=1)
    assert summary["samples"] == 3
    threads = [s.active_threads for s in samples]
    assert summary["active_threads"] == {"avg": sum(threads) / 3, "min": min(threads), "max": max(threads),
                                         "last": threads[-1]}  # fmt: skip
    assert summary["from"] == samples[0].timestamp and summary["to"] == samples[-1].timestamp
    json.dumps(summary)
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="minutes"):
            monitor.get_metrics_summary(bad)


def test_history_is_bounded(capture: TelemetryCapture) -> None:
    monitor = ResourceMonitor(capture.telemetry, settings=Settings.from_env({"OTEL_BREAKOUT_RESOURCE_HISTORY": "3"}))
    for _ in range(5):
        monitor.run_once()
    assert len(monitor.metrics_history) == 3


@pytest.mark.slow
def test_loop_starts_stops_and_reports_staleness(capture: TelemetryCapture) -> None:
    settings = Settings.from_env({"OTEL_BREAKOUT_RESOURCE_INTERVAL": "0.02"})
    monitor = ResourceMonitor(capture.telemetry, settings=settings)
    monitor.start()
    monitor.start()  # idempotent
    try:
        deadline = time.monotonic() + 10
        while len(monitor.metrics_history) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(monitor.metrics_history) >= 3
        assert [t.name for t in threading.enumerate()].count("otel-breakout-resource-monitor") == 1
    finally:
        monitor.stop()
    assert not monitor.running
    count = len(monitor.metrics_history)
    # Its thread is gone, so nothing can sample any more: no need to watch the history for a while.
    assert "otel-breakout-resource-monitor" not in [t.name for t in threading.enumerate()]
    assert len(monitor.metrics_history) == count

    clock = Clock()
    slow = ResourceMonitor(capture.telemetry, clock=clock, meter=_meter(capture), limits=QUIET,
                           settings=Settings.from_env({"OTEL_BREAKOUT_RESOURCE_INTERVAL": "3600"}))  # fmt: skip
    slow.start()
    try:
        deadline = time.monotonic() + 10
        while not slow.metrics_history and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slow.get_health_status()["issues"] == []
        clock.now += 3 * 3600 + 1
        (issue,) = slow.get_health_status()["issues"]
        assert issue["check"] == "monitor" and issue["severity"] == "warning"
    finally:
        capture.telemetry.shutdown()  # the shutdown hook stops the loop
    assert not slow.running


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        ResourceMonitor(capture_telemetry().telemetry, cooldowns={"reboot": 1})


def test_one_monitor_per_meter_provider(capture: TelemetryCapture) -> None:
    ResourceMonitor(capture.telemetry)
    with pytest.raises(RuntimeError, match="already reports"):
        ResourceMonitor(capture.telemetry)


def test_get_resource_monitor_is_one_per_process() -> None:
    _monitor._reset_for_tests()
    try:
        first = get_resource_monitor()
        assert get_resource_monitor() is first and not first.running
    finally:
        _monitor._reset_for_tests()


def test_a_busy_host_degrades_health_but_never_makes_it_critical(capture: TelemetryCapture) -> None:
    monitor = ResourceMonitor(capture.telemetry, limits=replace(QUIET, max_cpu_percent=1))
    sample = replace(monitor.run_once(), cpu_percent=100.0)
    (issue,) = [i for i in monitor.issues(sample) if i["check"] == "cpu_percent"]
    assert issue["severity"] == "warning"
    memory = replace(sample, memory_percent=100.0)
    monitor.limits = replace(QUIET, max_cpu_percent=1, max_memory_percent=50)
    severities = {i["check"]: i["severity"] for i in monitor.issues(memory)}
    assert severities == {"cpu_percent": "warning", "memory_percent": "critical"}
