"""The outcome rule: judge a threshold by what the candidates on either side of it did next.

Every figure is a net forward return at the decision horizon: the close ``h`` bars after the evaluated candle
over its close, minus one, minus the round-trip cost. Averages are taken after clipping the returns compared
to their 2nd and 98th percentiles, so one runaway trade cannot carry a group; the tables also show medians
and win shares. The reference is every signal the bot fired (on a candle with an outcome).

For one check, the candidates it alone blocked are ordered by how far they missed its threshold and cut into
groups of ``min_outcomes`` from the threshold outwards (a short remainder joins the last group); the signals
that fired are grouped the same way by how far they cleared it. Then:

- **loosen** when the blocked candidates nearest the threshold earned more than ``edge_share`` of the fired
  signals' average (the hurdle: a third by default) beyond chance: of every stretch of them from the threshold
  (``min_outcomes`` or more), the one whose returns above the hurdle add up to the most does so with a z of at
  least 1.645 (one-sided 5 %); when the signals lose money, the hurdle is zero. The change admits each group from
  the threshold while its average stays above zero, and at least that stretch; the new threshold is the last
  admitted candidate's own value.
- **tighten** when the fired signals nearest the threshold lost money on average and did significantly worse
  (5 %) than the signals that cleared it by more; the new threshold is the value of the first signal kept.
- **keep** otherwise, with at least ``min_outcomes`` blocked outcomes (or two groups of fired ones) behind
  it: what the check blocks did not beat the hurdle beyond chance.
- **too few outcomes** below that, or with fewer than ``MIN_REFERENCE`` fired signals to compare with.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

__all__ = [
    "CLIP_SHARE",
    "KEEP",
    "LOOSEN",
    "MIN_REFERENCE",
    "TIGHTEN",
    "TOO_FEW",
    "UNTESTED",
    "Z_DISTINCT",
    "Band",
    "Item",
    "Judgement",
    "clip_bounds",
    "judge",
    "welch_z",
]

KEEP, LOOSEN, TIGHTEN, TOO_FEW, UNTESTED = "keep", "loosen", "tighten", "too_few_outcomes", "untested"
CLIP_SHARE = 0.02
MIN_REFERENCE = 10
Z_DISTINCT = 1.645  # one-sided 5 %


class Item(NamedTuple):
    """One candidate: how far it missed (or cleared) the threshold, its value and threshold, its net return.
    (A named tuple: a report builds one per candidate with an outcome, which a dataclass makes slow.)"""

    distance: float
    value: float
    threshold: float
    ret: float


@dataclass(frozen=True, slots=True)
class Band:
    """A group of candidates; ``role``: ``admitted`` (the change lets them through), ``stop`` (where it
    stops), ``removed`` (a tightening cuts them), ``nearest`` (the group the verdict rests on) or empty."""

    side: str  # "blocked" or "fired"
    items: tuple[Item, ...]
    role: str


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: str
    change: float | None  # relative change of the threshold: > 0 loosens, < 0 tightens
    value: float | None  # the recorded value the new threshold lands on
    blocked: tuple[Band, ...]
    fired: tuple[Band, ...]
    reason: str
    reference_mean: float | None
    bounds: tuple[float, float]  # the returns compared were clipped to these


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _moments(values: Sequence[float]) -> tuple[int, float, float]:
    """(count, mean, sample variance)."""
    n = len(values)
    mean = _mean(values)
    return n, mean, math.fsum((x - mean) ** 2 for x in values) / (n - 1)


def welch_z(a: Sequence[float], b: Sequence[float], b_moments: tuple[int, float, float] | None = None) -> float:
    """Welch's statistic for mean(a) - mean(b), read against the normal distribution (groups of 10 or more).
    ``b_moments`` saves recomputing ``b``'s when it is compared many times."""
    if len(a) < 2 or len(b) < 2:
        return 0.0
    na, ma, va = _moments(a)
    nb, mb, vb = b_moments if b_moments is not None else _moments(b)
    se = math.sqrt(va / na + vb / nb)
    if se == 0:
        return 0.0 if ma == mb else math.copysign(math.inf, ma - mb)
    return (ma - mb) / se


def clip_bounds(values: Sequence[float]) -> tuple[float, float]:
    """The 2nd and 98th percentiles (nearest rank) of ``values``: averages are taken after clipping to them."""
    ordered = sorted(values)
    if not ordered:
        return 0.0, 0.0
    last = len(ordered) - 1
    return (
        ordered[min(last, max(0, int(CLIP_SHARE * len(ordered))))],
        ordered[min(last, max(0, int((1 - CLIP_SHARE) * len(ordered))))],
    )


def _bands(items: Sequence[Item], size: int) -> list[list[Item]]:
    out: list[list[Item]] = []
    start = 0
    while len(items) - start >= size:
        end = start + size if len(items) - (start + size) >= size else len(items)
        out.append(list(items[start:end]))
        start = end
    return out


def _pct(value: float) -> str:
    return f"{value:+.2%}"


def judge(
    blocked: Sequence[Item],
    fired: Sequence[Item],
    reference: Sequence[float],
    *,
    min_outcomes: int,
    edge_share: float,
    bounds: tuple[float, float] | None = None,
) -> Judgement:
    """The verdict for one check. ``blocked`` and ``fired`` are ordered by distance from the threshold;
    ``bounds`` are the clip bounds of all their returns and ``reference``'s, when the caller has them."""
    if bounds is None:
        bounds = clip_bounds([*(i.ret for i in blocked), *(i.ret for i in fired), *reference])
    low, high = bounds

    def clip(values: Sequence[float]) -> list[float]:
        return [low if v < low else high if v > high else v for v in values]

    ordered = sorted(reference)  # (already sorted when the report calls: linear then)
    below, above = bisect_left(ordered, low), bisect_right(ordered, high)
    ref = [*([low] * below), *ordered[below:above], *([high] * (len(ordered) - above))]  # clip(reference), reordered
    ref_mean = _mean(ref) if ref else None
    m = min_outcomes
    clipped = {id(i): r for i, r in zip(blocked, clip([i.ret for i in blocked]), strict=True)}
    clipped.update((id(i), r) for i, r in zip(fired, clip([i.ret for i in fired]), strict=True))

    def returns(items: Sequence[Item]) -> list[float]:
        return [clipped[id(i)] for i in items]

    blocked_bands = _bands(blocked, m)
    fired_bands = _bands(fired, m)
    shown_blocked: list[Band] = []
    reason = ""
    if len(blocked) >= m and len(ref) >= MIN_REFERENCE:
        assert ref_mean is not None
        nearest = returns(blocked_bands[0])
        hurdle = edge_share * max(ref_mean, 0.0)  # when the signals lose money, candidates must make some
        stretch, z = _best_stretch([r - hurdle for r in returns(blocked)], m)
        if z >= Z_DISTINCT:
            extended = 0
            for band in blocked_bands:  # each further group while it earned more than its costs
                if _mean(returns(band)) <= 0:
                    break
                extended += 1
            ends = list(accumulate(len(band) for band in blocked_bands))
            # And at least the whole groups of the stretch the verdict rests on (a group it ends inside may be
            # where returns turn: not admitted on the strength of its first few).
            admitted = max(extended, bisect_right(ends, stretch))
            last = blocked_bands[admitted - 1][-1]
            roles = ["admitted"] * admitted + (["stop"] if admitted < len(blocked_bands) else [])
            stop = (
                f"; it stops before the next group ({_pct(_mean(returns(blocked_bands[admitted])))})"
                if admitted < len(blocked_bands)
                else "; every blocked group earned more than its costs"
            )
            reason = (
                f"The {stretch} blocked candidates nearest the threshold earned "
                f"{_pct(_mean(returns(blocked[:stretch])))} on average, against {_pct(ref_mean)} for the bot's "
                f"{len(ref)} signals: above the hurdle ({_pct(hurdle)}: {_hurdle(edge_share)}) by more than chance "
                f"explains (z {z:.1f}, one-sided 5 %), so the threshold blocks signals worth taking. The change admits "
                f"each group of {m} from the threshold while its average stays above zero{stop}."
            )
            shown_blocked = _shown(blocked_bands, roles, "blocked")
            shown_fired = _fired_shown(fired_bands, 0) or _few(fired, "fired")
            return Judgement(
                LOOSEN, last.distance, last.value, tuple(shown_blocked), shown_fired, reason, ref_mean, bounds
            )
        verdict_why = (
            f". No stretch of blocked candidates from the threshold beat the hurdle ({_pct(hurdle)}: "
            f"{_hurdle(edge_share)}) by more than chance explains (the best, the nearest {stretch}: z {z:.1f}; "
            "one-sided 5 % needed): what the check blocks is not worth taking."
        )
        reason = (
            f"The {len(nearest)} blocked candidates nearest the threshold earned {_pct(_mean(nearest))} on average, "
            f"against {_pct(ref_mean)} for the bot's {len(ref)} signals" + verdict_why
        )
        shown_blocked = _shown(blocked_bands, ["nearest"], "blocked")
    cut = 0
    if len(fired) >= 2 * m:
        while cut < len(fired_bands) - 1:
            near = returns(fired_bands[cut])
            beyond = returns([i for b in fired_bands[cut + 1 :] for i in b])
            if not (_mean(near) <= 0 and welch_z(near, beyond) <= -Z_DISTINCT):
                break
            cut += 1
        if cut:
            kept = fired_bands[cut][0]
            lost = [i for b in fired_bands[:cut] for i in b]
            reason = (
                f"The {len(lost)} fired signals nearest the threshold lost {_pct(_mean(returns(lost)))} on average, "
                f"significantly worse than the {len(fired) - len(lost)} that cleared it by more "
                f"({_pct(_mean(returns(fired[len(lost) :])))}): the threshold lets losing signals through. " + reason
            ).strip()
            shown_fired = _fired_shown(fired_bands, cut)
            return Judgement(TIGHTEN, -kept.distance, kept.value, tuple(shown_blocked), shown_fired, reason, ref_mean,
                             bounds)  # fmt: skip
    if (len(blocked) >= m and len(ref) >= MIN_REFERENCE) or len(fired) >= 2 * m:
        if not reason:
            reason = (
                f"Too few blocked outcomes to judge loosening ({len(blocked)}, {m} needed); the fired signals "
                "nearest the threshold did not lose money significantly more than the others."
            )
        shown_fired = _fired_shown(fired_bands, 0) or _few(fired, "fired")
        return Judgement(KEEP, 0.0, None, tuple(shown_blocked) or _few(blocked, "blocked"), shown_fired,
                         reason + " Keep.", ref_mean, bounds)  # fmt: skip
    reason = (
        f"{len(blocked)} blocked candidates and {len(fired)} fired signals with an outcome ({m} blocked, or "
        f"{2 * m} fired, needed), {len(ref)} signals to compare with ({MIN_REFERENCE} needed)."
    )
    return Judgement(TOO_FEW, None, None, _few(blocked, "blocked"), _few(fired, "fired"), reason, ref_mean, bounds)


def _hurdle(edge_share: float) -> str:
    return f"{edge_share:.0%} of the signals' average, or zero when they lose money"


def _best_stretch(excess: Sequence[float], m: int) -> tuple[int, float]:
    """The stretch of candidates from the threshold (at least ``m``) whose excess returns add up to the most, and
    that sum's z statistic (sum over its standard error). Choosing the best stretch flatters z a little: the
    hurdle and the 5 % level were set so that healthy thresholds of the demo are kept (docs/report.md, *The rule*)."""
    best, stretch, total = -math.inf, 0, 0.0
    for k, x in enumerate(excess, 1):
        total += x
        if k >= m and total > best:
            best, stretch = total, k
    part = excess[:stretch]
    n, mean, variance = _moments(part)
    if variance == 0:
        return stretch, math.copysign(math.inf, mean) if mean else 0.0
    return stretch, best / math.sqrt(variance * n)


def _shown(bands: list[list[Item]], roles: list[str], side: str) -> list[Band]:
    """The bands with a role, then the rest as one group."""
    shown = [Band(side, tuple(band), role) for band, role in zip(bands, roles, strict=False)]  # roles: the first bands
    rest = [i for band in bands[len(roles) :] for i in band]
    if rest:
        shown.append(Band(side, tuple(rest), ""))
    return shown


def _fired_shown(bands: list[list[Item]], cut: int) -> tuple[Band, ...]:
    if not bands:
        return ()
    roles = ["removed"] * cut + ["nearest"]
    return tuple(_shown(bands, roles, "fired"))


def _few(items: Sequence[Item], side: str) -> tuple[Band, ...]:
    """Fewer candidates than one group: shown together, judged on nothing."""
    return (Band(side, tuple(items), ""),) if items else ()
