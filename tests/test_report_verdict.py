"""The outcome rule on outcomes built by hand: noise blocked rightly is kept, a threshold set too strict is
loosened to where candidates stop making money, losing signals near a threshold tighten it."""

from __future__ import annotations

import random

import pytest

from otel_breakout.report._verdict import (
    KEEP,
    LOOSEN,
    MIN_REFERENCE,
    TIGHTEN,
    TOO_FEW,
    Item,
    clip_bounds,
    judge,
    welch_z,
)

M = 30  # min_outcomes


def _items(rng: random.Random, count: int, mean: float, *, start: float = 0.0, step: float = 0.01) -> list[Item]:
    """``count`` candidates ordered by distance from a threshold of 2.0, net returns around ``mean`` (sd 2%)."""
    return [Item(start + step * i, 2.0 * (1 - start - step * i), 2.0, rng.gauss(mean, 0.02)) for i in range(count)]


def _reference(rng: random.Random, count: int = 200, mean: float = 0.015) -> list[float]:
    return [rng.gauss(mean, 0.02) for _ in range(count)]


def test_noise_blocked_rightly_is_kept() -> None:
    rng = random.Random(1)
    blocked = _items(rng, 600, -0.001)  # what a volume check blocks: new highs without volume
    fired = _items(rng, 200, 0.015)
    result = judge(blocked, fired, _reference(rng), min_outcomes=M, edge_share=0.5)
    assert result.verdict == KEEP and result.change == 0.0
    assert "what the check blocks is not worth taking" in result.reason
    assert [b.role for b in result.blocked] == ["nearest", ""]
    assert len(result.blocked[0].items) == M


def test_weak_but_profitable_candidates_below_the_hurdle_are_kept() -> None:
    # A healthy volume check: the new highs just under its threshold make a little money (a real breakout
    # among many fades), about a quarter of what the signals make. Taking them would spend the bot's capital
    # on worse trades than its own: below the hurdle (a third of the signals' average), so keep.
    rng = random.Random(7)
    blocked = _items(rng, 600, 0.004)
    reference = _reference(rng, 300, 0.015)
    result = judge(blocked, _items(rng, 200, 0.015), reference, min_outcomes=M, edge_share=0.33)
    assert result.verdict == KEEP, result.reason
    assert (
        "No stretch of blocked candidates from the threshold beat the hurdle (+0.53%: 33% of the signals' average"
        in result.reason
    )
    # The same candidates against a lower hurdle (a bot with spare capital, say) are worth taking.
    assert judge(blocked, _items(rng, 200, 0.015), reference, min_outcomes=M, edge_share=0.1).verdict == LOOSEN


def test_when_the_signals_lose_money_blocked_candidates_must_make_some() -> None:
    # A fault that lets through only a few signals, which happen to lose: what it blocks made money, loosen.
    rng = random.Random(8)
    losing = _reference(rng, 25, -0.02)
    result = judge(_items(rng, 300, 0.015), _items(rng, 25, -0.02), losing, min_outcomes=M, edge_share=0.33)
    assert result.verdict == LOOSEN and "above the hurdle (+0.00%" in result.reason
    # What a check blocks must still earn more than nothing beyond chance.
    result = judge(_items(rng, 300, -0.001), _items(rng, 25, -0.02), losing, min_outcomes=M, edge_share=0.33)
    assert result.verdict == KEEP


def test_a_losing_group_inside_the_stretch_does_not_stop_the_change_short() -> None:
    rng = random.Random(9)
    good = _items(rng, 60, 0.02)
    dip = _items(rng, 30, -0.004, start=0.6)  # one group that happened to lose...
    more = _items(rng, 90, 0.02, start=0.9)  # ...inside a stretch as good as the signals
    noise = _items(rng, 300, -0.004, start=1.8)
    blocked = [*good, *dip, *more, *noise]
    result = judge(blocked, _items(rng, 100, 0.015), _reference(rng), min_outcomes=M, edge_share=0.33)
    assert result.verdict == LOOSEN
    roles = [b.role for b in result.blocked]
    assert roles[:6] == ["admitted"] * 6 and roles[6] == "stop", roles  # past the dip, to the end of the stretch
    assert result.value == blocked[6 * M - 1].value


def test_a_threshold_set_too_strict_is_loosened_to_where_candidates_stop_making_money() -> None:
    rng = random.Random(2)
    good = _items(rng, 150, 0.015)  # five groups as good as the signals...
    noise = _items(rng, 600, -0.004, start=1.5)  # ...then candidates that lose money
    fired = _items(rng, 40, 0.02)
    result = judge([*good, *noise], fired, _reference(rng), min_outcomes=M, edge_share=0.5)
    assert result.verdict == LOOSEN
    roles = [b.role for b in result.blocked]
    admitted = roles.count("admitted")
    assert 5 <= admitted <= 6 and roles[admitted] == "stop"
    last = result.blocked[admitted - 1].items[-1]
    assert (result.change, result.value) == (last.distance, last.value)
    assert "blocks signals worth taking" in result.reason


def test_when_everything_blocked_did_as_well_the_change_admits_it_all() -> None:
    rng = random.Random(3)
    blocked = _items(rng, 200, 0.012)
    result = judge(blocked, _items(rng, 20, 0.012), _reference(rng, 25, 0.012), min_outcomes=M, edge_share=0.5)
    assert result.verdict == LOOSEN
    assert result.value == blocked[-1].value and all(b.role == "admitted" for b in result.blocked)


def test_losing_signals_just_above_the_threshold_tighten_it() -> None:
    rng = random.Random(4)
    weak = _items(rng, 60, -0.012)  # the two groups closest to the threshold lost money
    strong = _items(rng, 140, 0.02, start=0.6)
    blocked = _items(rng, 300, -0.002)
    result = judge(blocked, [*weak, *strong], _reference(rng), min_outcomes=M, edge_share=0.5)
    assert result.verdict == TIGHTEN
    assert result.value == strong[0].value and result.change == -strong[0].distance
    assert [b.role for b in result.fired] == ["removed", "removed", "nearest", ""]


def test_too_few_outcomes_give_no_verdict() -> None:
    rng = random.Random(5)
    result = judge(_items(rng, M - 1, 0.02), _items(rng, 2 * M - 1, 0.02), _reference(rng), min_outcomes=M,
                   edge_share=0.5)  # fmt: skip
    assert result.verdict == TOO_FEW and result.change is None and result.value is None
    assert "29 blocked candidates and 59 fired signals" in result.reason
    # Enough blocked outcomes, but fewer signals to compare them with than the rule needs.
    few_signals = judge(_items(rng, 100, 0.02), [], _reference(rng, MIN_REFERENCE - 1), min_outcomes=M,
                        edge_share=0.5)  # fmt: skip
    assert few_signals.verdict == TOO_FEW


def test_a_runaway_trade_cannot_carry_a_group() -> None:
    rng = random.Random(6)
    blocked = _items(rng, 300, -0.003)
    blocked[0] = Item(blocked[0].distance, blocked[0].value, 2.0, 5.0)  # +500% once
    result = judge(blocked, _items(rng, 200, 0.015), _reference(rng), min_outcomes=M, edge_share=0.5)
    assert result.verdict == KEEP
    low, high = result.bounds
    assert low < 0 < high < 0.1  # the +500% was clipped to the 98th percentile


def test_clip_bounds_and_welch() -> None:
    values = [float(v) for v in range(100)]
    assert clip_bounds(values) == (2.0, 98.0)
    assert clip_bounds([]) == (0.0, 0.0)
    assert welch_z([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 0.0
    assert welch_z([2.0, 3.0, 4.0], [1.0, 2.0, 3.0]) == pytest.approx(1.0 / (2 / 3) ** 0.5)
    assert welch_z([1.0], [2.0, 3.0]) == 0.0  # too small to tell
