"""Candidate states merge as if the journal had been read in one pass."""

from __future__ import annotations

from typing import Any

from otel_breakout.report._records import CheckAcc, finalize_group, merge_group

KEY = ("S", "signal", "momentum", "BTC", 60)


def test_merge_keeps_the_first_failure_and_the_lone_blocker() -> None:
    assert merge_group(None, None) is None
    assert merge_group(None, ["rsi", 1, "rsi", 0.02, False]) == ["rsi", 1, "rsi", 0.02, False]
    assert merge_group(["rsi", 1, "rsi", 0.02, False], None) == ["rsi", 1, "rsi", 0.02, False]
    # The same check failing again: still a lone blocker, with the larger gap.
    assert merge_group(["rsi", 1, "rsi", 0.02, False], ["rsi", 2, "rsi", 0.05, False]) == ["rsi", 3, "rsi", 0.05, False]
    # Another check failing: no single threshold can rescue the candidate any more.
    assert merge_group(["rsi", 1, "rsi", 0.02, False], ["volume", 1, "volume", 0.01, False]) == [
        "rsi",
        2,
        "rsi",
        0.02,
        True,
    ]


def test_finalize_counts_the_funnel_and_lone_blockers() -> None:
    funnel: dict[tuple[str, str], list[Any]] = {}
    checks = {("signal", "momentum", "rsi"): CheckAcc()}
    finalize_group(KEY, None, funnel, checks, 0.1)
    finalize_group(KEY, ["rsi", 1, "rsi", 0.05, False], funnel, checks, 0.1)
    finalize_group(KEY, ["rsi", 1, "rsi", 0.5, False], funnel, checks, 0.1)  # beyond the margin
    finalize_group(KEY, ["rsi", 2, "rsi", 0.05, True], funnel, checks, 0.1)
    assert funnel == {("signal", "momentum"): [4, 1, {"rsi": 3}]}
    acc = checks[("signal", "momentum", "rsi")]
    assert acc.sole_blocked == 2 and list(acc.sole_gaps) == [0.05]
