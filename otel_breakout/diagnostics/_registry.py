"""Which collectors serve which :class:`Telemetry`, and who listens: the hook ``otel_breakout.testing`` uses.

A capture registers a listener for its own ``Telemetry``; every collector bound to that ``Telemetry`` then
hands it each event (after scrubbing), and the capture can flush those collectors before reading.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otel_breakout.diagnostics._collector import DiagnosticsCollector
    from otel_breakout.diagnostics._event import DiagnosticsEvent

__all__ = ["add_listener", "bind", "collectors_for", "listeners_for"]

_lock = threading.Lock()
_listeners: weakref.WeakKeyDictionary[Any, list[Callable[[DiagnosticsEvent], None]]] = weakref.WeakKeyDictionary()
_collectors: weakref.WeakKeyDictionary[Any, weakref.WeakSet[DiagnosticsCollector]] = weakref.WeakKeyDictionary()


def listeners_for(telemetry: object) -> list[Callable[[DiagnosticsEvent], None]]:
    """The (shared, live) listener list of ``telemetry``; a collector keeps a reference to it."""
    with _lock:
        return _listeners.setdefault(telemetry, [])


def add_listener(telemetry: object, listener: Callable[[DiagnosticsEvent], None]) -> None:
    listeners_for(telemetry).append(listener)


def bind(telemetry: object, collector: DiagnosticsCollector) -> None:
    with _lock:
        _collectors.setdefault(telemetry, weakref.WeakSet()).add(collector)


def collectors_for(telemetry: object) -> list[DiagnosticsCollector]:
    with _lock:
        return list(_collectors.get(telemetry, ()))
