"""Candidate states merge as if the journal had been read in one pass, and finish into the right tables."""

from __future__ import annotations

import pickle
from typing import Any

from otel_breakout.report._candidates import MAX_FAILING_NAMES, Tables, finalize, merge_state
from otel_breakout.report._records import CheckAcc

KEY = ("S", "signal", "momentum", "BTC", "4bf92f3577b34da6a3ce929d0e0e4736")
CANDLE = ("S", "BTC", 60)
INF = float("inf")


def _failed(name: str, gap: float = 0.05, value: float = 1.9, threshold: float = 2.0) -> list[Any]:
    return [name, 1, name, gap, False, value, threshold]


def _tables(*checks: tuple[str, str, str]) -> Tables:
    return Tables({}, {check: CheckAcc() for check in checks}, {}, 100)


def test_merge_keeps_the_first_failure_and_the_lone_blocker() -> None:
    assert merge_state(KEY, None, None) is None
    assert merge_state(KEY, None, _failed("rsi")) == _failed("rsi")
    assert merge_state(KEY, _failed("rsi"), None) == _failed("rsi")
    # The same check failing again: still a lone blocker, with the larger gap and that failure's value.
    assert merge_state(KEY, _failed("rsi", 0.02, 68.6), _failed("rsi", 0.05, 73.5, 70.0)) == [
        "rsi",
        2,
        "rsi",
        0.05,
        False,
        73.5,
        70.0,
    ]
    # Another check failing: no single threshold can rescue the candidate; both names are kept.
    merged = merge_state(KEY, _failed("rsi", 0.02), _failed("volume", 0.01))
    assert merged == ["rsi", 2, "rsi", 0.02, ["rsi", "volume"], 1.9, 2.0]
    # Distinct names stay distinct and bounded.
    many = ["a", 1, "a", 0.1, [f"n{i}" for i in range(MAX_FAILING_NAMES)], 0.0, 0.0]
    assert len(merge_state(KEY, many, _failed("b"))[4]) == MAX_FAILING_NAMES  # type: ignore[index]


def test_merge_joins_the_stages_of_a_candle() -> None:
    earlier = {("scanner", "liquidity"): None, ("signal", "momentum"): _failed("volume")}
    later = {("signal", "momentum"): None, ("scanner", "volatility"): _failed("atr_range")}
    assert merge_state(CANDLE, earlier, later) == {
        ("scanner", "liquidity"): None,
        ("signal", "momentum"): _failed("volume"),
        ("scanner", "volatility"): _failed("atr_range"),
    }


def test_finalize_counts_the_funnel_and_signal_candidates() -> None:
    tables = _tables(("signal", "momentum", "rsi"))
    finalize(KEY, None, tables)
    finalize(KEY, _failed("rsi", 0.05, 73.5, 70.0), tables)
    finalize(KEY, _failed("rsi", 0.5), tables)  # beyond the margin: still a lone block, with its value
    finalize(KEY, _failed("rsi", INF), tables)  # no numeric value: blocked, but no threshold recovers it
    finalize(KEY, ["rsi", 2, "rsi", 0.05, ["rsi", "volume"], 0.0, 0.0], tables)
    assert tables.funnel == {("signal", "momentum"): [5, 1, {"rsi": 4}]}
    acc = tables.checks[("signal", "momentum", "rsi")]
    # A strategy's lone blockers are counted per signal candidate, never per stage.
    assert acc.sole_blocked == 0
    assert (acc.signal_blocked, acc.signal_failed) == (3, 4)
    assert list(acc.signal_gaps) == [0.05, 0.5] and list(acc.signal_values) == [73.5, 1.9]
    assert tables.signals == {"momentum": [5, 1, 3, 1, {("signal", "momentum", "rsi"): 3}]}


def test_finalize_joins_the_candle_filters_with_each_strategy() -> None:
    volume = ("signal", "momentum", "volume")
    spread = ("scanner", "liquidity", "max_spread")
    tables = _tables(volume, spread)
    # The filter alone fails: it blocks both strategies' signals on this candle.
    finalize(
        CANDLE,
        {
            ("scanner", "liquidity"): _failed("max_spread", 0.1, 8.8, 8.0),
            ("signal", "momentum"): None,
            ("signal", "retest"): None,
        },
        tables,
    )
    # The filter and a condition fail: momentum is blocked by both, retest by the filter alone.
    finalize(
        CANDLE,
        {
            ("scanner", "liquidity"): _failed("max_spread", 0.2, 9.6, 8.0),
            ("signal", "momentum"): _failed("volume"),
            ("signal", "retest"): None,
        },
        tables,
    )
    # Only filters on this candle: no strategy looked at it, so no signal candidate.
    finalize(CANDLE, {("scanner", "liquidity"): _failed("max_spread")}, tables)
    assert tables.funnel[("scanner", "liquidity")] == [3, 0, {"max_spread": 3}]
    # Per stage, the filter alone blocked the symbol three times.
    assert tables.checks[spread].sole_blocked == 3
    assert tables.signals == {
        "momentum": [2, 0, 1, 1, {spread: 1}],
        "retest": [2, 0, 2, 0, {spread: 2}],
    }
    acc = tables.checks[spread]
    assert (acc.signal_blocked, acc.signal_failed) == (3, 4)
    assert list(acc.signal_gaps) == [0.1, 0.1, 0.2] and list(acc.signal_thresholds) == [8.0, 8.0, 8.0]
    assert (tables.checks[volume].signal_blocked, tables.checks[volume].signal_failed) == (0, 1)


def test_strategies_past_the_limit_fold_into_other() -> None:
    tables = Tables({}, {}, {}, 2)
    for strategy in ("a", "b", "c", "d"):
        finalize(("S", "signal", strategy, "X", 1), None, tables)
    assert sorted(tables.signals) == ["(other)", "a", "b"]
    assert tables.signals["(other)"][:2] == [2, 2]


def test_check_accumulators_merge_and_pickle() -> None:
    first, second = CheckAcc(), CheckAcc()
    first.failures, first.signal_blocked = 2, 1
    first.signal_gaps.append(0.3)
    second.failures, second.sole_blocked = 3, 2
    second.far_gaps.extend([0.4, 0.7])
    first.merge(second)
    assert (first.failures, first.signal_blocked, first.sole_blocked) == (5, 1, 2)
    assert list(first.far_gaps) == [0.4, 0.7] and list(first.signal_gaps) == [0.3]
    copy = pickle.loads(pickle.dumps(first))
    assert [getattr(copy, name) for name in CheckAcc.__slots__] == [getattr(first, n) for n in CheckAcc.__slots__]
