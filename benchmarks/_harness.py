"""Side-by-side measurement on a shared, noisy machine.

Ours and the baseline run interleaved in the same process (A, B, A, B, ...), and the table quotes
medians, so a burst of load from a neighbour hits both sides instead of biasing one.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Row", "compare", "median_seconds"]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table. ``ratio`` is ours / baseline (lower is better unless ``higher_is_better``)."""

    name: str
    ours: float
    baseline: float | None
    unit: str
    budget: str = ""
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline


def median_seconds(fn: Callable[[], object], *, repeats: int = 7, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def compare(
    ours: Callable[[], object], baseline: Callable[[], object], *, repeats: int = 7, warmup: int = 1
) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``baseline``, measured interleaved."""
    for _ in range(warmup):
        ours()
        baseline()
    a: list[float] = []
    b: list[float] = []
    for i in range(repeats):
        # Alternate which side goes first so neither always runs on a warmer cache.
        order = ((ours, a), (baseline, b)) if i % 2 == 0 else ((baseline, b), (ours, a))
        for fn, samples in order:
            gc.collect()
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)
