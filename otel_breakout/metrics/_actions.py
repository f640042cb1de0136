"""The resource monitor's corrective actions: run by priority, each with a cooldown, counted and kept in a history."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import cast

from opentelemetry.metrics import Counter as OtelCounter
from opentelemetry.metrics import Meter, NoOpCounter

from otel_breakout._settings import ResourceSettings
from otel_breakout.catalogue import create_instrument
from otel_breakout.metrics._cleanup import clean_log_dir, validate_patterns
from otel_breakout.metrics._resources import MIB, ResourceLimits, ResourceMetrics, ResourceSampler

__all__ = ["PRIORITIES", "CorrectiveActions", "OptimizationAction", "thread_report"]

_logger = logging.getLogger("otel_breakout.metrics")

# Lower runs first: freeing memory in place is cheapest, deleting files is irreversible, a warning is last.
PRIORITIES = {"gc": 1, "cache_clear": 2, "log_cleanup": 3, "thread_warning": 4}

_Outcome = tuple[str, dict[str, float | int | str]]


@dataclass(frozen=True, slots=True)
class OptimizationAction:
    """One corrective action the monitor ran (or tried to: ``executed`` is False when it failed)."""

    action_type: str
    description: str
    priority: int
    executed: bool
    timestamp: float
    # What it achieved: objects collected, caches cleared, files and bytes deleted, thread counts.
    details: dict[str, float | int | str] = field(default_factory=dict)


def _family(name: str) -> str:
    # "ThreadPoolExecutor-0_3" and "Thread-12 (worker)" group by their stem, so a leak shows as one big group.
    stem = name.split(" (", 1)[0]
    return stem.rstrip("0123456789_-") or stem


def thread_report(top: int = 5) -> tuple[int, list[tuple[str, int]]]:
    """Python threads, and the most common thread-name families among them."""
    threads = threading.enumerate()
    families: Iterator[str] = (_family(t.name) for t in threads)
    return len(threads), Counter(families).most_common(top)


class CorrectiveActions:
    """Runs the actions exceeded limits call for, by priority, each at most once per its cooldown.

    ``cooldowns`` overrides the configured cooldown per action; ``clock`` (monotonic seconds) drives them.
    """

    def __init__(
        self,
        config: ResourceSettings,
        sampler: ResourceSampler,
        *,
        cooldowns: Mapping[str, float] | None,
        clock: Callable[[], float],
    ) -> None:
        self.log_patterns = validate_patterns(config.log_patterns)
        unknown = set(cooldowns or {}) - set(PRIORITIES)
        if unknown:
            raise ValueError(f"unknown action(s) {', '.join(sorted(unknown))}; actions: {', '.join(PRIORITIES)}")
        self.cooldowns = {action: config.cooldown_s for action in PRIORITIES} | dict(cooldowns or {})
        self._config = config
        self._sampler = sampler
        self._clock = clock
        self.history: deque[OptimizationAction] = deque(maxlen=100)
        self.count = 0
        self.last: float | None = None
        # Counted nowhere until instrument(): the monitor claims its meter only once its settings are checked.
        self.counter: OtelCounter = NoOpCounter("breakout.resource.actions")
        self._last_run: dict[str, float] = {}
        self._caches: dict[str, Callable[[], object]] = {}
        self._caches_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def instrument(self, meter: Meter) -> None:
        """Count executed actions in ``breakout.resource.actions`` on ``meter``."""
        self.counter = cast(OtelCounter, create_instrument(meter, "breakout.resource.actions"))
        # Every action's series exists from the start at 0, so `increase()` sees the first action happen.
        for action in PRIORITIES:
            self.counter.add(0, {"action": action})

    # --- caches the memory action may clear ---------------------------------------------------------

    def register_cache(self, name: str, clear: Callable[[], object]) -> None:
        with self._caches_lock:
            self._caches[name] = clear

    def unregister_cache(self, name: str) -> None:
        with self._caches_lock:
            self._caches.pop(name, None)

    # --- running --------------------------------------------------------------------------------------

    def run(self, wanted: Iterable[str], metrics: ResourceMetrics, limits: ResourceLimits) -> list[OptimizationAction]:
        """Run, by priority, the ``wanted`` actions that can act and are not cooling down."""
        wanted = set(wanted)
        if "cache_clear" in wanted and not self._caches:
            wanted.discard("cache_clear")
        if "log_cleanup" in wanted and not self._config.log_dir:
            wanted.discard("log_cleanup")
        done: list[OptimizationAction] = []
        # One pass at a time: a manual run_once() beside the loop must not run an action twice.
        with self._run_lock:
            for action in sorted(wanted, key=PRIORITIES.__getitem__):
                now = self._clock()
                last = self._last_run.get(action)
                if last is not None and now - last < self.cooldowns[action]:
                    continue
                self._last_run[action] = now
                done.append(self._execute(action, metrics, limits))
        return done

    def _execute(self, action: str, metrics: ResourceMetrics, limits: ResourceLimits) -> OptimizationAction:
        try:
            description, details = self._do(action, metrics, limits)
            executed = True
        except Exception as exc:
            description, details, executed = f"{action} failed: {exc}", {"error": type(exc).__name__}, False
        record = OptimizationAction(action, description, PRIORITIES[action], executed, time.time(), details)
        self.history.append(record)
        if executed:
            self.count += 1
            self.last = record.timestamp
            self.counter.add(1, {"action": action})
        _logger.warning("resource monitor %s: %s", action, description, extra={"resource_action": action})
        return record

    def _do(self, action: str, metrics: ResourceMetrics, limits: ResourceLimits) -> _Outcome:
        if action == "gc":
            return self._gc(metrics)
        if action == "cache_clear":
            return self._cache_clear()
        if action == "log_cleanup":
            return self._log_cleanup(metrics)
        return self._thread_warning(metrics, limits)

    # --- the actions ------------------------------------------------------------------------------------

    def _gc(self, metrics: ResourceMetrics) -> _Outcome:
        before = metrics.process_memory_mb
        collected = gc.collect()
        after = self._sampler.rss_mb()
        text = f"gc.collect() found {collected} unreachable objects; RSS {before:.1f} -> {after:.1f} MiB"
        return text, {"collected": collected, "rss_before_mb": round(before, 3), "rss_after_mb": round(after, 3)}

    def _cache_clear(self) -> _Outcome:
        with self._caches_lock:
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

    def _log_cleanup(self, metrics: ResourceMetrics) -> _Outcome:
        config = self._config
        assert config.log_dir is not None
        result = clean_log_dir(config.log_dir, max_age_s=config.log_max_age_s, patterns=self.log_patterns)
        text = (
            f"deleted {result.deleted} log files older than {config.log_max_age_s:g} s in "
            f"{config.log_dir} ({result.freed_bytes / MIB:.1f} MiB); disk at {metrics.disk_usage_percent:.1f}%"
        )
        return text, asdict(result)

    def _thread_warning(self, metrics: ResourceMetrics, limits: ResourceLimits) -> _Outcome:
        python_threads, families = thread_report()
        top = ", ".join(f"{name} x{count}" for name, count in families)
        text = (
            f"{metrics.active_threads} threads, limit {limits.max_threads}; "
            f"{python_threads} Python threads, most common: {top}"
        )
        return text, {"threads": metrics.active_threads, "python_threads": python_threads, "top": top}
