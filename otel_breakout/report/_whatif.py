"""Threshold arithmetic: medians, the seed's proportional rule and the exact what-if counts.

Every figure is computed from the recorded failures' relative gaps (``|value - threshold| / |threshold|``,
or the absolute difference for a zero threshold). Moving a threshold by ``r`` of its size toward the failing
side makes exactly the failures with a gap of at most ``r`` pass, which is what the counts below report.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

from otel_breakout.report._model import WhatIf

__all__ = ["DEFAULT_SHARES", "median", "move_threshold", "recover_count", "what_if_candidates"]

DEFAULT_SHARES = (0.25, 0.5, 0.75, 1.0)


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
    """How many of ``n`` near misses make up ``share`` of them (at least one)."""
    # The epsilon keeps 0.3 * 10 == 3.0000000000000004 from asking for 4.
    return max(1, min(n, math.ceil(share * n - 1e-9)))


def move_threshold(threshold: float, relative: float, direction: str | None) -> float:
    """``threshold`` relaxed by ``relative`` of its size: lower for ``min``, higher for ``max``."""
    step = relative * abs(threshold) if threshold != 0 else relative
    return threshold + step if direction == "max" else threshold - step


def what_if_candidates(
    gaps: Sequence[float],
    values: Sequence[float],
    thresholds: Sequence[float],
    sole_gaps: Sequence[float],
    direction: str | None,
    recover_share: float,
    shares: Sequence[float] = DEFAULT_SHARES,
) -> tuple[WhatIf, WhatIf, tuple[WhatIf, ...]]:
    """(seed rule, recommended, all candidates by increasing change) for one check's near misses.

    ``gaps``, ``values`` and ``thresholds`` are the near misses (same order); ``sole_gaps`` the gaps of the
    candidates this check alone blocked. With one threshold throughout, a share's candidate threshold is
    the recorded value that reaches the share, so it is a figure from the data, not a rounding of one.
    """
    n = len(gaps)
    order = sorted(range(n), key=gaps.__getitem__)
    sorted_gaps = [gaps[i] for i in order]
    sorted_sole = sorted(sole_gaps)
    t_med = median(thresholds)
    constant = min(thresholds) == max(thresholds)

    def evaluate(label: str, relative: float, threshold: float) -> WhatIf:
        passing = bisect_right(sorted_gaps, relative)
        return WhatIf(
            label=label,
            threshold=threshold,
            relative_change=relative,
            failures_passing=passing,
            near_miss_share=passing / n,
            extra_passing=bisect_right(sorted_sole, relative),
        )

    # The seed's rule: the midpoint between the (median) threshold and the median near-miss value.
    seed_threshold = (t_med + median(values)) / 2
    seed_relative = abs(seed_threshold - t_med) / abs(t_med) if t_med != 0 else abs(seed_threshold - t_med)
    seed = evaluate("seed rule (midpoint)", seed_relative, seed_threshold)

    by_share: dict[int, WhatIf] = {}
    recommended_k = recover_count(recover_share, n)
    for share in sorted({*shares, recover_share}):
        k = recover_count(share, n)
        if k in by_share:
            continue
        relative = sorted_gaps[k - 1]
        threshold = values[order[k - 1]] if constant else move_threshold(t_med, relative, direction)
        by_share[k] = evaluate(f"recover {k / n:.0%} of near misses", relative, threshold)
    candidates = sorted((seed, *by_share.values()), key=lambda w: (w.relative_change, w.label))
    return seed, by_share[recommended_k], tuple(candidates)
