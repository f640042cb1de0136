"""``ResourceMonitor``: the sampling loop, and the seed's questions about health, history and actions.

It samples psutil on a background thread; health verdicts live in ``_health.py``, the corrective actions
(by priority, each with a cooldown) in ``_actions.py``, the OTel semantic-convention callbacks in
``_observe.py``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from opentelemetry.metrics import Meter

from otel_breakout._internal import handle_internal_errors
from otel_breakout._settings import ResourceSettings, Settings
from otel_breakout._telemetry import Telemetry
from otel_breakout.metrics._actions import CorrectiveActions, OptimizationAction
from otel_breakout.metrics._health import actions_for, ceilings, find_issues, stale_issue, status_of
from otel_breakout.metrics._observe import register_resource_instruments
from otel_breakout.metrics._provider import ProcessWide, claim_meter, resolve
from otel_breakout.metrics._resources import ResourceLimits, ResourceMetrics, ResourceSampler, mount_point

__all__ = ["ResourceMonitor", "get_resource_monitor"]


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
        telemetry, settings = resolve(telemetry, meter, settings)
        config: ResourceSettings = settings.resources
        self.config = config
        self.limits = limits if limits is not None else ResourceLimits.from_settings(config)
        self.interval_s = config.interval_s
        self.auto_optimize = config.auto_optimize
        self._clock = clock
        self._sampler = ResourceSampler(config.disk_path)
        self._actions = CorrectiveActions(config, self._sampler, cooldowns=cooldowns, clock=clock)
        self.log_patterns = self._actions.log_patterns
        self._history: deque[ResourceMetrics] = deque(maxlen=config.history)
        self._latest: ResourceMetrics | None = None
        self._latest_at = -math.inf
        self._loop_at = -math.inf
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hooked = False
        self._telemetry = telemetry
        self._ceilings = ceilings()
        meter = claim_meter("ResourceMonitor", telemetry, meter)
        self._actions.instrument(meter)
        register_resource_instruments(meter, self._fresh, mount_point(config.disk_path))

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
        return list(self._actions.history)

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
        return find_issues(metrics, self.limits, self._ceilings)

    def get_health_status(self) -> dict[str, Any]:
        """``{"status": "ok"|"degraded"|"critical", "issues": [...], "metrics": {...}, ...}``."""
        metrics = self._fresh()
        issues = self.issues(metrics)
        age = self._clock() - self._loop_at
        if self.running and age > 3 * self.interval_s:
            issues.append(stale_issue(age, 3 * self.interval_s))
        return {
            "status": status_of(issues),
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
                "recent_actions": [asdict(a) for a in list(self._actions.history)[-5:]],
            },
        }

    # --- corrective actions (run by _actions.py) ----------------------------------------------------

    @property
    def cooldowns(self) -> dict[str, float]:
        """Seconds between two runs of each action (a mutable mapping: change an entry to retune it)."""
        return self._actions.cooldowns

    @cooldowns.setter
    def cooldowns(self, value: dict[str, float]) -> None:
        self._actions.cooldowns = value

    @property
    def optimization_count(self) -> int:
        """Actions executed so far."""
        return self._actions.count

    @property
    def last_optimization(self) -> float | None:
        """Unix time of the last executed action (None before the first)."""
        return self._actions.last

    def register_cache(self, name: str, clear: Callable[[], object]) -> None:
        """A cache the memory action may clear; ``clear()`` may return how many entries it dropped."""
        self._actions.register_cache(name, clear)

    def unregister_cache(self, name: str) -> None:
        self._actions.unregister_cache(name)

    def _check_and_optimize(self, metrics: ResourceMetrics) -> list[OptimizationAction]:
        """Run, by priority, the actions the exceeded limits call for that are not cooling down."""
        return self._actions.run(actions_for(self.issues(metrics)), metrics, self.limits)


_process_wide = ProcessWide(ResourceMonitor, "ResourceMonitor", stop=ResourceMonitor.stop)


def get_resource_monitor() -> ResourceMonitor:
    """The process-wide monitor (not started: call ``start()``), on the ``configure()`` handle if any."""
    return _process_wide.get()


def _reset_for_tests() -> None:
    """Forget the process-wide monitor, stopping it first."""
    _process_wide.reset()
