"""One resource sample from psutil: the seed's ``ResourceMetrics`` (its ``ResourceLimits`` live with the settings).

CPU figures come from our own ``cpu_times()`` deltas rather than ``psutil.cpu_percent()``, whose state
is process-global: a bot calling ``psutil.cpu_percent()`` itself would otherwise skew our readings and
we theirs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import psutil

# The limits are the ResourceSettings fields the OTEL_BREAKOUT_RESOURCE_MAX_* variables declare; re-exported here,
# beside the samples they are compared with.
from otel_breakout._settings_sections import ResourceLimits

__all__ = ["MIB", "ResourceLimits", "ResourceMetrics", "ResourceSampler", "mount_point"]

_logger = logging.getLogger("otel_breakout.metrics")
MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True, slots=True)
class ResourceMetrics:
    """One sample. System-wide: CPU, memory, disk. This process: threads, files, connections, ``process_*``."""

    timestamp: float
    cpu_percent: float
    memory_percent: float
    memory_used_mb: float
    memory_available_mb: float
    disk_usage_percent: float
    disk_free_gb: float
    active_threads: int
    open_files: int
    network_connections: int
    # Not in the seed: this process's own CPU (% of all cores available to it) and resident memory.
    process_cpu_percent: float = 0.0
    process_memory_mb: float = 0.0


def mount_point(path: str) -> str:
    """The mount point of the filesystem holding ``path`` (the ``system.filesystem.mountpoint`` attribute)."""
    current = os.path.realpath(path)
    while not os.path.ismount(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def _busy_and_total(times: Any) -> tuple[float, float]:
    # As psutil.cpu_percent computes them: guest time is already part of user/nice on Linux.
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return total - times.idle - getattr(times, "iowait", 0.0), total


class ResourceSampler:
    """Takes :class:`ResourceMetrics` samples; CPU figures are averages since the previous sample."""

    def __init__(self, disk_path: str = ".") -> None:
        self.disk_path = disk_path
        self._process = psutil.Process()
        self._lock = threading.Lock()
        try:
            self._cpus = len(self._process.cpu_affinity())
        except (AttributeError, psutil.Error):  # not on macOS
            self._cpus = psutil.cpu_count() or 1
        self._failed: set[str] = set()
        self._last = self._cpu_state()
        self._cpu = (0.0, 0.0)

    def _cpu_state(self) -> tuple[float, tuple[float, float], float]:
        proc = self._process.cpu_times()
        return time.monotonic(), _busy_and_total(psutil.cpu_times()), proc.user + proc.system

    def _cpu_percents(self) -> tuple[float, float]:
        with self._lock:
            now = self._cpu_state()
            then, self._last = self._last, now
            wall = now[0] - then[0]
            if wall < 0.01:
                # Too short to measure: keep the previous figures rather than report noise.
                self._last = then
                return self._cpu
            busy = now[1][0] - then[1][0]
            total = now[1][1] - then[1][1]
            system = 100.0 * min(1.0, max(0.0, busy / total)) if total > 0 else 0.0
            process = 100.0 * min(1.0, max(0.0, (now[2] - then[2]) / (wall * self._cpus)))
            self._cpu = (system, process)
            return self._cpu

    def _read(self, what: str, default: Any, fn: Any) -> Any:
        try:
            return fn()
        except (psutil.Error, OSError, AttributeError) as exc:
            if what not in self._failed:  # once per field: a platform without it would flood the log
                self._failed.add(what)
                _logger.warning("resource monitor cannot read %s: %s", what, exc)
            return default

    def rss_mb(self) -> float:
        return float(self._read("memory", 0, lambda: self._process.memory_info().rss)) / MIB

    def sample(self) -> ResourceMetrics:
        proc = self._process
        system_cpu, process_cpu = self._cpu_percents()
        memory = psutil.virtual_memory()
        disk = self._read("disk usage", None, lambda: psutil.disk_usage(self.disk_path))
        with proc.oneshot():
            rss = self._read("memory", 0, lambda: proc.memory_info().rss)
            threads = self._read("threads", 0, proc.num_threads)
            files = self._read("open files", 0, proc.num_fds if hasattr(proc, "num_fds") else proc.num_handles)
        connections = getattr(proc, "net_connections", None) or proc.connections  # psutil < 6 has connections()
        return ResourceMetrics(
            timestamp=time.time(),
            cpu_percent=system_cpu,
            memory_percent=float(memory.percent),
            memory_used_mb=memory.used / MIB,
            memory_available_mb=memory.available / MIB,
            disk_usage_percent=float(disk.percent) if disk is not None else 0.0,
            disk_free_gb=disk.free / GIB if disk is not None else 0.0,
            active_threads=int(threads),
            open_files=int(files),
            network_connections=len(self._read("network connections", [], lambda: connections(kind="inet"))),
            process_cpu_percent=process_cpu,
            process_memory_mb=rss / MIB,
        )
