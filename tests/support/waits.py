"""Waiting on a condition instead of sleeping and hoping: tests order their steps by what has happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["until", "until_async", "wait_for"]

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25) -> T:
    """Call ``probe`` until it returns something other than None; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def until(condition: Callable[[], bool], *, what: str, timeout: float = 10.0, interval: float = 0.005) -> None:
    """Return as soon as ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    wait_for(lambda: True if condition() else None, timeout=timeout, what=what, interval=interval)


async def until_async(condition: Callable[[], bool], *, what: str, timeout: float = 10.0) -> None:
    """:func:`until` inside an event loop: the other tasks run while it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.001)
