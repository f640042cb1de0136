"""A one-line progress bar for long reads on a terminal (``\\r``-redrawn, throttled, stderr only)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["PROGRESS_MIN_BYTES", "ProgressBar", "want_progress"]

PROGRESS_MIN_BYTES = 50 * 1024 * 1024


def want_progress(mode: str, stream: TextIO, total_bytes: int) -> bool:
    """``auto``: only on a terminal and for inputs of 50 MiB or more; ``always`` / ``never`` as said."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and total_bytes >= PROGRESS_MIN_BYTES


class ProgressBar:
    """``update(done, total)`` redraws at most every ``interval`` seconds; ``close()`` ends the line."""

    def __init__(
        self,
        stream: TextIO,
        *,
        width: int = 30,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._width = width
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._last = float("-inf")
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        now = self._clock()
        if now - self._last < self._interval and done < total:
            return
        self._last = now
        fraction = min(1.0, done / total) if total > 0 else 1.0
        filled = int(fraction * self._width)
        bar = "=" * filled + (">" if filled < self._width else "") + " " * max(0, self._width - filled - 1)
        elapsed = max(now - self._started, 1e-9)
        mib = 1024 * 1024
        self._stream.write(
            f"\r[{bar}] {fraction:4.0%} {done / mib:,.1f}/{total / mib:,.1f} MiB {done / mib / elapsed:,.1f} MiB/s"
        )
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
