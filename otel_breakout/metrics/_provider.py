"""Where ``MetricsLogger`` and ``ResourceMonitor`` report: their telemetry, settings and claimed meter.

One reporter of each kind per meter provider (a second would silently report nothing), and the
process-wide instances that ``get_metrics_logger()`` and ``get_resource_monitor()`` return.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from opentelemetry import metrics
from opentelemetry.metrics import Meter

from otel_breakout._settings import Settings
from otel_breakout._telemetry import INSTRUMENTATION_SCOPE, Telemetry, get_telemetry
from otel_breakout._version import __version__

__all__ = ["ProcessWide", "claim_instruments", "claim_meter", "release_instruments", "resolve"]

_T = TypeVar("_T")

_claims: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_claims_lock = threading.Lock()


def claim_instruments(owner: Any, component: str) -> None:
    """Refuse a second ``component`` on one meter provider (or meter).

    The SDK hands a second registration of the same observable instrument the first one, without its
    callbacks, so a second MetricsLogger on one provider would silently report nothing.
    """
    with _claims_lock:
        try:
            claimed = _claims.setdefault(owner, set())
        except TypeError:  # not weak-referenceable: nothing to check against
            return
        if component in claimed:
            raise RuntimeError(
                f"a {component} already reports on this meter provider, and a second one would report nothing; "
                f"reuse it (get_{'metrics_logger' if component == 'MetricsLogger' else 'resource_monitor'}()) "
                "or pass a meter with another instrumentation scope"
            )
        claimed.add(component)


def release_instruments(owner: Any, component: str) -> None:
    """Forget a claim (tests that reset the process-wide logger)."""
    with _claims_lock:
        _claims.get(owner, set()).discard(component)


def resolve(
    telemetry: Telemetry | None, meter: Meter | None, settings: Settings | None
) -> tuple[Telemetry | None, Settings]:
    """The telemetry a component reports through (the ``configure()`` handle unless a meter is given) and its
    settings (those given, else the telemetry's, else the environment's)."""
    telemetry = telemetry if telemetry is not None else (get_telemetry() if meter is None else None)
    if settings is None:
        settings = telemetry.settings if telemetry is not None else Settings.from_env()
    return telemetry, settings


def claim_meter(component: str, telemetry: Telemetry | None, meter: Meter | None) -> Meter:
    """The meter ``component`` creates its instruments on, claimed for it (see :func:`claim_instruments`)."""
    if meter is not None:
        claim_instruments(meter, component)
        return meter
    if telemetry is not None:
        claim_instruments(telemetry.meter_provider, component)
        return telemetry.get_meter()
    # Without a Telemetry the global provider is used: the one `opentelemetry-instrument` installed, or the
    # API's proxy, which switches to the real provider whenever one is set.
    claim_instruments(metrics.get_meter_provider(), component)
    return metrics.get_meter(INSTRUMENTATION_SCOPE, __version__)


class ProcessWide(Generic[_T]):
    """The process-wide instance of a component, built on the global meter provider at first use."""

    def __init__(self, factory: Callable[[], _T], component: str, stop: Callable[[_T], object] | None = None) -> None:
        self._factory = factory
        self._component = component
        self._stop = stop
        self._instance: _T | None = None
        self._lock = threading.Lock()

    def get(self) -> _T:
        instance = self._instance
        if instance is None:
            with self._lock:
                instance = self._instance
                if instance is None:
                    instance = self._instance = self._factory()
        return instance

    def reset(self) -> None:
        """Forget the instance (stopping it first, when a ``stop`` was given); its instruments stay registered
        on the provider it used."""
        with self._lock:
            if self._instance is not None and self._stop is not None:
                self._stop(self._instance)
            self._instance = None
            release_instruments(metrics.get_meter_provider(), self._component)
