"""Telemetry must never crash the bot: one guard for every callback and background step."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = [
    "guarded",
    "handle_internal_errors",
    "internal_errors_raise",
    "log_internal_error",
    "log_rejected_value",
    "set_internal_errors_raise",
]

_logger = logging.getLogger("otel_breakout")
_P = ParamSpec("_P")
_R = TypeVar("_R")

# Tests flip this so that a bug in a guarded path fails the test instead of being logged and swallowed.
_raise = False
# One log line per distinct failure site per minute: a broken exporter must not flood the bot's log.
_last_logged: dict[str, float] = {}
_INTERVAL_S = 60.0


def set_internal_errors_raise(value: bool) -> bool:
    """Make guarded failures re-raise (for tests); returns the previous value."""
    global _raise
    previous, _raise = _raise, value
    return previous


def internal_errors_raise() -> bool:
    return _raise


def log_internal_error(where: str, exc: BaseException) -> None:
    now = time.monotonic()
    last = _last_logged.get(where)
    if last is not None and now - last < _INTERVAL_S:
        return
    _last_logged[where] = now
    _logger.error("telemetry failed in %s, the bot keeps running", where, exc_info=exc)


_rejected_since: dict[str, int] = {}


def log_rejected_value(where: str, exc: BaseException) -> None:
    """A WARNING for a value the caller passed and the hot path refused (a bug in the bot, not in telemetry):
    at most one per site per minute, saying how many more there were since, without a traceback."""
    now = time.monotonic()
    key = "rejected:" + where
    last = _last_logged.get(key)
    if last is not None and now - last < _INTERVAL_S:
        _rejected_since[key] = _rejected_since.get(key, 0) + 1
        return
    _last_logged[key] = now
    more = _rejected_since.pop(key, 0)
    note = f" ({more} more since the last warning)" if more else ""
    _logger.warning("%s rejected a value and dropped it, the bot keeps running: %s%s", where, exc, note)


@contextmanager
def handle_internal_errors(where: str) -> Iterator[None]:
    """Log and swallow any exception raised inside (re-raise only when tests asked for it)."""
    try:
        yield
    except Exception as exc:
        log_internal_error(where, exc)
        if _raise:
            raise


def guarded(where: str, default: _R) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorator form of :func:`handle_internal_errors` returning ``default`` on failure."""

    def decorate(fn: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(fn)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                log_internal_error(where, exc)
                if _raise:
                    raise
                return default

        return wrapper

    return decorate
