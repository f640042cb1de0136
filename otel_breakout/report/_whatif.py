"""Threshold arithmetic: medians, the seed's proportional rule and the exact what-if counts.

Every figure is computed from the recorded failures' relative gaps (``|value - threshold| / |threshold|``,
or the absolute difference for a zero threshold). Moving a threshold by ``r`` of its size toward the failing
side makes exactly the failures with a gap of at most ``r`` pass, which is what the counts below report.
Candidate changes are gaps of recorded failures, so each one lands exactly on a recorded value.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from otel_breakout.report._model_advice import WhatIf

__all__ = [
    "DEFAULT_SHARES",
    "Advice",
    "CheckFigures",
    "WhatIfCounter",
    "advise",
    "median",
    "move_threshold",
    "recover_count",
]

DEFAULT_SHARES = (0.25, 0.5, 0.75, 1.0)
BLOCKED = "blocked"
NEAR_MISSES = "near_misses"


def median(values: Sequence[float]) -> float:
    """The median exactly as :func:`statistics.median` computes it (same float operations)."""
    data = sorted(values)
    n = len(data)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    if n % 2:
        return data[mid]
    return (data[mid - 1] + data[mid]) / 2


def recover_count(share: float, n: int) -> int:
    """How many of ``n`` items make up ``share`` of them (at least one)."""
    # The epsilon keeps 0.3 * 10 == 3.0000000000000004 from asking for 4.
    return max(1, min(n, math.ceil(share * n - 1e-9)))


def move_threshold(threshold: float, relative: float, direction: str | None) -> float:
    """``threshold`` relaxed by ``relative`` of its size: lower for ``min``, higher for ``max``."""
    step = relative * abs(threshold) if threshold != 0 else relative
    return threshold + step if direction == "max" else threshold - step


@dataclass(frozen=True, slots=True)
class CheckFigures:
    """What one check's failures recorded: near misses (gap, value, threshold), the gaps of the other failures
    with a finite gap, and the worst failure of each candidate it alone blocked that has a finite gap, out
    of ``blocked`` such candidates."""

    near_gaps: Sequence[float]
    near_values: Sequence[float]
    near_thresholds: Sequence[float]
    far_gaps: Sequence[float]
    blocked_gaps: Sequence[float]
    blocked_values: Sequence[float]
    blocked_thresholds: Sequence[float]
    blocked: int


@dataclass(frozen=True, slots=True)
class Advice:
    seed: WhatIf
    recommended: WhatIf
    candidates: tuple[WhatIf, ...]  # by increasing change, the seed's rule among them
    basis: str  # BLOCKED or NEAR_MISSES
    threshold: float  # the current (median) threshold the changes are shown against
    vary: bool  # the thresholds differ between events: changes apply relative to each one


def _shares(
    gaps: Sequence[float], values: Sequence[float], total: int, shares: Sequence[float]
) -> list[tuple[int, float, float]]:
    """(k, gap, value) of the smallest change passing ``share`` of ``total`` items, for each share (distinct k);
    the items without a gap (len(gaps) < total) can never pass, so k stops at len(gaps)."""
    order = sorted(range(len(gaps)), key=gaps.__getitem__)
    found: dict[int, tuple[int, float, float]] = {}
    for share in sorted(shares):
        k = min(recover_count(share, total), len(gaps))
        found.setdefault(k, (k, gaps[order[k - 1]], values[order[k - 1]]))
    return list(found.values())


class WhatIfCounter:
    """Exactly what moving one check's threshold by a relative change would have changed in the recorded data."""

    def __init__(self, figures: CheckFigures) -> None:
        self._near = sorted(figures.near_gaps)
        self._all = sorted([*figures.near_gaps, *figures.far_gaps])
        self._blocked = sorted(figures.blocked_gaps)
        self._total = figures.blocked

    def at(self, label: str, relative: float, threshold: float) -> WhatIf:
        extra = bisect_right(self._blocked, relative)
        n_near = len(self._near)
        return WhatIf(
            label=label,
            threshold=threshold,
            relative_change=relative,
            failures_passing=bisect_right(self._all, relative),
            near_miss_share=bisect_right(self._near, relative) / n_near if n_near else 0.0,
            extra_passing=extra,
            blocked_share=extra / self._total if self._total else 0.0,
        )


def advise(
    figures: CheckFigures,
    direction: str | None,
    recover_share: float,
    noun: str,
    shares: Sequence[float] = DEFAULT_SHARES,
) -> Advice:
    """The seed rule, the smallest change recovering ``recover_share`` and every candidate for one check (with
    near misses or recoverable lone blocks). ``noun`` names what was blocked ("signals", "candidates")."""
    f = figures
    if not f.near_gaps and not f.blocked_gaps:
        raise ValueError("a check needs near misses or recoverable lone blocks to be advised on")
    near_sorted = sorted(f.near_gaps)
    blocked_sorted = sorted(f.blocked_gaps)
    n_near = len(near_sorted)
    basis = BLOCKED if f.blocked_gaps else NEAR_MISSES
    thresholds = [*f.near_thresholds, *f.blocked_thresholds]
    vary = min(thresholds) != max(thresholds)
    # Changes are shown against the median threshold of the failures the recommendation is based on.
    t_ref = median(f.blocked_thresholds if basis == BLOCKED else f.near_thresholds)
    evaluate = WhatIfCounter(f).at

    def at(relative: float, value: float) -> float:
        # With one threshold throughout, the candidate threshold is the recorded value itself.
        return move_threshold(t_ref, relative, direction) if vary else value

    # The seed's rule: the midpoint between the median near-miss threshold and the median near-miss value
    # (of the blocked failures when there is no near miss), as a relative change.
    if n_near:
        t_seed, v_seed = median(f.near_thresholds), median(f.near_values)
    else:
        t_seed, v_seed = t_ref, median(f.blocked_values)
    midpoint = (t_seed + v_seed) / 2
    seed_relative = abs(midpoint - t_seed) / abs(t_seed) if t_seed != 0 else abs(midpoint - t_seed)
    seed = evaluate(
        "seed rule (midpoint)", seed_relative, move_threshold(t_ref, seed_relative, direction) if vary else midpoint
    )

    targets = sorted({*shares, recover_share})
    by_change: dict[float, WhatIf] = {}
    recommended: WhatIf | None = None
    if f.blocked_gaps:
        total = f.blocked
        for k, gap, value in _shares(f.blocked_gaps, f.blocked_values, total, targets):
            by_change[gap] = evaluate(f"recover {k / total:.0%} of blocked {noun}", gap, at(gap, value))
        wanted = min(recover_count(recover_share, total), len(f.blocked_gaps))
        recommended = by_change[blocked_sorted[wanted - 1]]
    if n_near:
        for k, gap, value in _shares(f.near_gaps, f.near_values, n_near, targets):
            if gap not in by_change:
                by_change[gap] = evaluate(f"recover {k / n_near:.0%} of near misses", gap, at(gap, value))
        if recommended is None:
            recommended = by_change[near_sorted[recover_count(recover_share, n_near) - 1]]
    assert recommended is not None  # one of the two bases applies, checked above
    candidates = sorted((seed, *by_change.values()), key=lambda w: (w.relative_change, w.label))
    return Advice(seed, recommended, tuple(candidates), basis, t_ref, vary)
