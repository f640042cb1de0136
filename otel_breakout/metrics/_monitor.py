"""``ResourceMonitor``: samples psutil on a background thread, reports OTel semantic-convention metrics,
judges health against limits and runs corrective actions by priority, each with a cooldown."""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from typing import Any, cast

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Counter, Meter, Observation

from otel_breakout._internal import handle_internal_errors, internal_errors_raise, log_internal_error
from otel_breakout._settings import ResourceSettings, Settings
from otel_breakout._telemetry import INSTRUMENTATION_SCOPE, Telemetry, get_telemetry
from otel_breakout._version import __version__
from otel_breakout.catalogue import create_instrument, get_spec
from otel_breakout.metrics._actions import (
    PRIORITIES,
    OptimizationAction,
    clean_log_dir,
    thread_report,
    validate_patterns,
)
from otel_breakout.metrics._provider import claim_instruments, release_instruments
from otel_breakout.metrics._resources import MIB, ResourceLimits, ResourceMetrics, ResourceSampler, mount_point

__all__ = ["ResourceMonitor", "get_resource_monitor"]

_logger = logging.getLogger("otel_breakout.metrics")

# check name -> (ResourceMetrics field, ResourceLimits field, label, unit, actions it triggers)
_CHECKS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("cpu_percent", "max_cpu_percent", "system CPU", "%", ()),
    ("memory_percent", "max_memory_percent", "system memory", "%", ("gc", "cache_clear")),
    ("process_memory_mb", "max_memory_mb", "process memory", " MiB", ("gc", "cache_clear")),
    ("disk_usage_percent", "max_disk_percent", "disk", "%", ("log_cleanup",)),
    ("active_threads", "max_threads", "threads", "", ("thread_warning",)),
    # Leaked file objects are closed by their finalizers, which a collection runs.
    ("open_files", "max_open_files", "open files", "", ("gc",)),
)


def _open_files_ceiling() -> float | None:
    """The soft RLIMIT_NOFILE: past it, opening a file fails, so it is the ceiling for ``open_files``."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else float(soft)


def critical_at(limit: float, ceiling: float | None) -> float:
    """Warning above the limit; critical halfway from the limit to the hard ceiling (or at 1.5x the limit)."""
    if ceiling is not None and ceiling > limit:
        return limit + (ceiling - limit) / 2
    return limit * 1.5


class ResourceMonitor:
    """The seed's resource monitor on OTel: ``start()``, ``stop()``, ``get_health_status()`` and friends.

    ``clock`` (monotonic seconds) drives cooldowns and staleness, so tests can step time. Register caches
    the memory action may clear with :meth:`register_cache`.
    """

    def __init__(
        self,
        telemetry: Telemetry | None = None,
        *,
        settings: Settings | None = None,
        meter: Meter | None = None,
        limits: ResourceLimits | None = None,
        cooldowns: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        telemetry = telemetry if telemetry is not None else (get_telemetry() if meter is None else None)
        if settings is None:
            settings = telemetry.settings if telemetry is not None else Settings.from_env()
        config: ResourceSettings = settings.resources
        self.config = config
        self.limits = limits if limits is not None else ResourceLimits.from_settings(config)
        self.interval_s = config.interval_s
        self.auto_optimize = config.auto_optimize
        self.log_patterns = validate_patterns(config.log_patterns)
        unknown = set(cooldowns or {}) - set(PRIORITIES)
        if unknown:
            raise ValueError(f"unknown action(s) {', '.join(sorted(unknown))}; actions: {', '.join(PRIORITIES)}")
        self.cooldowns = {action: config.cooldown_s for action in PRIORITIES} | dict(cooldowns or {})
        self._clock = clock
        self._sampler = ResourceSampler(config.disk_path)
        self._history: deque[ResourceMetrics] = deque(maxlen=config.history)
        self._actions: deque[OptimizationAction] = deque(maxlen=100)
        self._latest: ResourceMetrics | None = None
        self._latest_at = -math.inf
        self._loop_at = -math.inf
        self._last_run: dict[str, float] = {}
        self._caches: dict[str, Callable[[], object]] = {}
        self._lock = threading.Lock()
        self._optimize_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hooked = False
        self._telemetry = telemetry
        self.optimization_count = 0
        self.last_optimization: float | None = None
        self._ceilings = {"cpu_percent": 100.0, "memory_percent": 100.0, "disk_usage_percent": 100.0,
                          "open_files": _open_files_ceiling()}  # fmt: skip
        if meter is not None:
            claim_instruments(meter, "ResourceMonitor")
        elif telemetry is not None:
            claim_instruments(telemetry.meter_provider, "ResourceMonitor")
            meter = telemetry.get_meter()
        else:
            claim_instruments(metrics.get_meter_provider(), "ResourceMonitor")
            meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__)
        self._action_counter = cast(Counter, create_instrument(meter, "breakout.resource.actions"))
        # Every action's series exists from the start at 0, so `increase()` sees the first action happen.
        for action in PRIORITIES:
            self._action_counter.add(0, {"action": action})
        self._register_instruments(meter, mount_point(config.disk_path))

    # --- lifecycle --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the background loop (idempotent); it stops with ``stop()`` or at telemetry shutdown."""
        with self._lock:
            if self.running:
                return
            self._stop.clear()
            self._loop_at = self._clock()  # staleness counts from the start, not from "never"
            self._thread = threading.Thread(
                target=self._monitor_loop, name="otel-breakout-resource-monitor", daemon=True
            )
            self._thread.start()
            if self._telemetry is not None and not self._hooked:
                self._telemetry.add_shutdown_hook(self.stop)
                self._hooked = True

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _monitor_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            with handle_internal_errors("resource monitor"):
                self.run_once()
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def run_once(self) -> ResourceMetrics:
        """One iteration of the loop: sample, keep it in the history, run the actions the limits call for."""
        metrics = self._collect_metrics()
        self._loop_at = self._latest_at
        self._history.append(metrics)
        if self.auto_optimize:
            self._check_and_optimize(metrics)
        return metrics

    def _collect_metrics(self) -> ResourceMetrics:
        metrics = self._sampler.sample()
        self._latest, self._latest_at = metrics, self._clock()
        return metrics

    # --- reading --------------------------------------------------------------------------------------

    @property
    def metrics_history(self) -> list[ResourceMetrics]:
        """The bounded sample history, oldest first (a copy)."""
        return list(self._history)

    @property
    def optimization_history(self) -> list[OptimizationAction]:
        """The last 100 actions, oldest first (a copy)."""
        return list(self._actions)

    def get_current_metrics(self) -> ResourceMetrics | None:
        """The latest sample (None before the first)."""
        return self._latest

    def _fresh(self) -> ResourceMetrics:
        # Collection (a scrape) between loop samples reuses the latest unless it is older than one interval.
        if self._latest is None or self._clock() - self._latest_at > max(self.interval_s, 1.0):
            return self._collect_metrics()
        return self._latest

    def get_metrics_summary(self, minutes: float = 5.0) -> dict[str, Any]:
        """Average, min, max and last of every field over the samples of the last ``minutes``."""
        if not (isinstance(minutes, (int, float)) and 0 < minutes < math.inf):
            raise ValueError(f"minutes must be a positive number, got {minutes!r}")
        since = time.time() - minutes * 60.0
        samples = [m for m in list(self._history) if m.timestamp >= since]
        fields = [name for name in ResourceMetrics.__dataclass_fields__ if name != "timestamp"]
        summary: dict[str, Any] = {
            "minutes": minutes,
            "samples": len(samples),
            "from": samples[0].timestamp if samples else None,
            "to": samples[-1].timestamp if samples else None,
        }
        for name in fields:
            values = [float(getattr(m, name)) for m in samples]
            summary[name] = {
                "avg": sum(values) / len(values) if values else None,
                "min": min(values, default=None),
                "max": max(values, default=None),
                "last": values[-1] if values else None,
            }
        summary["optimization_count"] = self.optimization_count
        summary["last_optimization"] = self.last_optimization
        return summary

    def issues(self, metrics: ResourceMetrics) -> list[dict[str, Any]]:
        """Every limit ``metrics`` exceeds, with the numbers behind it."""
        found: list[dict[str, Any]] = []
        for check, limit_name, label, unit, _ in _CHECKS:
            value = float(getattr(metrics, check))
            limit = float(getattr(self.limits, limit_name))
            if value <= limit:
                continue
            critical = critical_at(limit, self._ceilings.get(check))
            # A busy host slows the bot but does not stop it: CPU alone never makes health critical (503),
            # which would have a load balancer or supervisor kill a working bot on one busy sample.
            severity = "critical" if value >= critical and check != "cpu_percent" else "warning"
            found.append({
                "check": check,
                "value": round(value, 3),
                "limit": limit,
                "severity": severity,
                "message": f"{label} at {value:.1f}{unit} is above the limit of {limit:g}{unit}"
                + (f" (critical from {critical:g}{unit})" if severity == "critical" else ""),
            })  # fmt: skip
        return found

    def get_health_status(self) -> dict[str, Any]:
        """``{"status": "ok"|"degraded"|"critical", "issues": [...], "metrics": {...}, ...}``."""
        metrics = self._fresh()
        issues = self.issues(metrics)
        age = self._clock() - self._loop_at
        if self.running and age > 3 * self.interval_s:
            issues.append({
                "check": "monitor",
                "value": round(age, 3),
                "limit": 3 * self.interval_s,
                "severity": "warning",
                "message": f"the resource monitor has not sampled for {age:.1f} s",
            })  # fmt: skip
        severities = {issue["severity"] for issue in issues}
        status = "critical" if "critical" in severities else "degraded" if severities else "ok"
        return {
            "status": status,
            "timestamp": metrics.timestamp,
            "issues": issues,
            "metrics": asdict(metrics),
            "limits": asdict(self.limits),
            "monitor": {
                "running": self.running,
                "interval_s": self.interval_s,
                "samples": len(self._history),
                "optimization_count": self.optimization_count,
                "last_optimization": self.last_optimization,
                "recent_actions": [asdict(a) for a in list(self._actions)[-5:]],
            },
        }

    # --- corrective actions -----------------------------------------------------------------------

    def register_cache(self, name: str, clear: Callable[[], object]) -> None:
        """A cache the memory action may clear; ``clear()`` may return how many entries it dropped."""
        with self._lock:
            self._caches[name] = clear

    def unregister_cache(self, name: str) -> None:
        with self._lock:
            self._caches.pop(name, None)

    def _check_and_optimize(self, metrics: ResourceMetrics) -> list[OptimizationAction]:
        """Run, by priority, the actions the exceeded limits call for that are not cooling down."""
        exceeded = {issue["check"] for issue in self.issues(metrics)}
        wanted = {action for check, *_, actions in _CHECKS if check in exceeded for action in actions}
        if "cache_clear" in wanted and not self._caches:
            wanted.discard("cache_clear")
        if "log_cleanup" in wanted and not self.config.log_dir:
            wanted.discard("log_cleanup")
        done: list[OptimizationAction] = []
        # One pass at a time: a manual run_once() beside the loop must not run an action twice.
        with self._optimize_lock:
            for action in sorted(wanted, key=PRIORITIES.__getitem__):
                now = self._clock()
                last = self._last_run.get(action)
                if last is not None and now - last < self.cooldowns[action]:
                    continue
                self._last_run[action] = now
                done.append(self._execute_optimization(action, metrics))
        return done

    def _execute_optimization(self, action: str, metrics: ResourceMetrics) -> OptimizationAction:
        try:
            description, details = getattr(self, f"_do_{action}")(metrics)
            executed = True
        except Exception as exc:
            description, details, executed = f"{action} failed: {exc}", {"error": type(exc).__name__}, False
        record = OptimizationAction(action, description, PRIORITIES[action], executed, time.time(), details)
        self._actions.append(record)
        if executed:
            self.optimization_count += 1
            self.last_optimization = record.timestamp
            self._action_counter.add(1, {"action": action})
        _logger.warning("resource monitor %s: %s", action, description, extra={"resource_action": action})
        return record

    def _do_gc(self, metrics: ResourceMetrics) -> tuple[str, dict[str, float | int | str]]:
        before = metrics.process_memory_mb
        collected = gc.collect()
        after = self._sampler.rss_mb()
        text = f"gc.collect() found {collected} unreachable objects; RSS {before:.1f} -> {after:.1f} MiB"
        return text, {"collected": collected, "rss_before_mb": round(before, 3), "rss_after_mb": round(after, 3)}

    def _do_cache_clear(self, metrics: ResourceMetrics) -> tuple[str, dict[str, float | int | str]]:
        with self._lock:
            caches = dict(self._caches)
        cleared: dict[str, float | int | str] = {}
        for name, clear in caches.items():
            try:
                result = clear()
                cleared[name] = int(result) if isinstance(result, (int, float)) and not isinstance(result, bool) else 0
            except Exception as exc:
                cleared[name] = f"failed: {type(exc).__name__}"
        failed = [n for n, v in cleared.items() if isinstance(v, str)]
        if failed and len(failed) == len(cleared):
            raise RuntimeError(f"every cache callback failed ({', '.join(failed)})")
        parts = ", ".join(f"{n}: {v}" for n, v in cleared.items())
        return f"cleared {len(cleared) - len(failed)} of {len(cleared)} caches ({parts})", cleared

    def _do_log_cleanup(self, metrics: ResourceMetrics) -> tuple[str, dict[str, float | int | str]]:
        assert self.config.log_dir is not None
        result = clean_log_dir(self.config.log_dir, max_age_s=self.config.log_max_age_s, patterns=self.log_patterns)
        text = (
            f"deleted {result.deleted} log files older than {self.config.log_max_age_s:g} s in "
            f"{self.config.log_dir} ({result.freed_bytes / MIB:.1f} MiB); disk at {metrics.disk_usage_percent:.1f}%"
        )
        return text, asdict(result)

    def _do_thread_warning(self, metrics: ResourceMetrics) -> tuple[str, dict[str, float | int | str]]:
        python_threads, families = thread_report()
        top = ", ".join(f"{name} x{count}" for name, count in families)
        text = (
            f"{metrics.active_threads} threads, limit {self.limits.max_threads}; "
            f"{python_threads} Python threads, most common: {top}"
        )
        return text, {"threads": metrics.active_threads, "python_threads": python_threads, "top": top}

    # --- OTel instruments -------------------------------------------------------------------------

    def _register_instruments(self, meter: Meter, mountpoint: str) -> None:
        def gauge(name: str, read: Callable[[ResourceMetrics], float], attrs: Mapping[str, str] | None = None) -> None:
            spec = get_spec(name)

            def callback(options: CallbackOptions) -> Iterable[Observation]:
                try:
                    return [Observation(read(self._fresh()), attrs)]
                except Exception as exc:
                    log_internal_error(f"observing {name}", exc)
                    if internal_errors_raise():
                        raise
                    return []

            create = meter.create_observable_gauge if spec.kind == "gauge" else meter.create_observable_up_down_counter
            create(spec.name, [callback], spec.unit, spec.description)

        gauge("process.cpu.utilization", lambda m: m.process_cpu_percent / 100.0)
        gauge("process.memory.usage", lambda m: round(m.process_memory_mb * MIB))
        gauge("process.thread.count", lambda m: m.active_threads)
        gauge("process.open_file_descriptor.count", lambda m: m.open_files)
        gauge("breakout.process.network.connections", lambda m: m.network_connections)
        gauge("system.cpu.utilization", lambda m: m.cpu_percent / 100.0)
        gauge("system.memory.utilization", lambda m: m.memory_percent / 100.0, {"system.memory.state": "used"})
        gauge(
            "system.filesystem.utilization",
            lambda m: m.disk_usage_percent / 100.0,
            {"system.filesystem.mountpoint": mountpoint},
        )


_global: ResourceMonitor | None = None
_global_lock = threading.Lock()


def get_resource_monitor() -> ResourceMonitor:
    """The process-wide monitor (not started: call ``start()``), on the ``configure()`` handle if any."""
    global _global
    if _global is None:
        with _global_lock:
            if _global is None:
                _global = ResourceMonitor()
    return _global


def _reset_for_tests() -> None:
    """Forget the process-wide monitor, stopping it first."""
    global _global
    with _global_lock:
        if _global is not None:
            _global.stop()
        _global = None
        release_instruments(metrics.get_meter_provider(), "ResourceMonitor")
