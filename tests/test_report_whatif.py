"""What-if figures against examples computed by hand, for both directions."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_breakout.report import DiagnosticsReport, DiagnosticsReportBuilder, Recommendation, WhatIf
from otel_breakout.report._whatif import CheckFigures, advise, median, move_threshold, recover_count
from tests.support.journal import filter_event, signal_event, write_journal_lines


def _recommendation(report: DiagnosticsReport, check: str) -> Recommendation:
    (found,) = [r for r in report.recommendations if r.check == check]
    return found


def _by_label(rec: Recommendation) -> dict[str, WhatIf]:
    return {w.label: w for w in rec.candidates}


def test_min_direction_strategy_condition(tmp_path: Path) -> None:
    # volume_threshold passes when value >= 2.0; rsi_max when value <= 70. Six candles of one symbol:
    #   c1: 1.90 (gap 5%)   rsi 60 ok  -> volume alone blocks, gap 0.05
    #   c2: 1.96 (gap 2%)   rsi 65 ok  -> volume alone blocks, gap 0.02
    #   c3: 1.85 (gap 7.5%) rsi 72 bad -> two conditions fail: no threshold alone rescues it
    #   c4: 2.10 ok         rsi 69 ok  -> the one signal that fired
    #   c5: 1.50 (gap 25%)  rsi 50 ok  -> volume alone blocks, but far beyond the 10% margin
    #   c6: 1.99 (gap 0.5%) rsi 60 ok  -> volume alone blocks, gap 0.005
    candles = [(1.90, 60), (1.96, 65), (1.85, 72), (2.10, 69), (1.50, 50), (1.99, 60)]
    events = []
    for n, (volume, rsi) in enumerate(candles):
        candle = 1_755_640_800 + 60 * n
        events.append(signal_event("momentum", "X", "volume_threshold", volume, 2.0, "min", candle, ts=candle + 1))
        events.append(signal_event("momentum", "X", "rsi_max", rsi, 70.0, "max", candle, ts=candle + 2))
    write_journal_lines(tmp_path / "diag_S_1.jsonl", events)
    report = DiagnosticsReportBuilder(tmp_path).build()

    (stage,) = report.funnel
    assert (stage.component, stage.stage, stage.candidates_in, stage.left) == ("signal", "momentum", 6, 1)
    assert [(s.name, s.removed, s.failures) for s in stage.steps] == [("volume_threshold", 5, 5), ("rsi_max", 0, 1)]

    (volume_stats, rsi_stats) = report.near_misses
    assert (volume_stats.name, volume_stats.direction, volume_stats.direction_source) == (
        "volume_threshold",
        "min",
        "events",
    )
    assert (volume_stats.failures, volume_stats.near_misses) == (5, 4)
    assert volume_stats.median_value == pytest.approx(1.93)  # of 1.85, 1.90, 1.96, 1.99
    assert volume_stats.median_threshold == 2.0
    assert [b.count for b in volume_stats.gap_buckets] == [1, 1, 1, 1]  # <=1%, <=2.5%, <=5%, <=10%
    assert (rsi_stats.near_misses, rsi_stats.direction) == (1, "max")

    # What blocked signals: c1, c2, c5 and c6 by volume alone; c3 by two conditions counts for neither.
    assert [(b.reason, b.blocked, b.with_others, b.failures) for b in report.blocked] == [
        ("signal:momentum:volume_threshold", 4, 1, 5),
        ("signal:momentum:rsi_max", 0, 1, 1),
    ]
    (momentum,) = report.strategies
    assert (momentum.candidates, momentum.signals, momentum.blocked_by_one, momentum.blocked_by_several) == (6, 1, 4, 1)
    assert report.top_blocker() == momentum.top_blocker == "signal:momentum:volume_threshold"

    rec = report.recommendation_for("signal:momentum:volume_threshold")
    assert rec is not None
    assert (rec.sole_blocked, rec.recoverable, rec.what_if_basis, rec.unit) == (4, 4, "blocked", "signals")
    assert (rec.verdict, rec.basis, rec.recommended) == ("untested", "no_outcomes", None)  # no prices
    assert rec.midpoint_rule is not None and rec.recover is not None
    # The seed's rule: midpoint of 2.0 and the median near-miss value 1.93 = 1.965, a 1.75% move, which
    # only c6 (gap 0.5%) clears: one failure passes, one more signal fires.
    assert rec.midpoint_rule.threshold == pytest.approx(1.965)
    assert rec.midpoint_rule.relative_change == pytest.approx(0.0175)
    assert (rec.midpoint_rule.failures_passing, rec.midpoint_rule.extra_passing) == (1, 1)
    # Recovering half of the four blocked signals takes the threshold down to 1.96 (c6 and c2 fire).
    assert (rec.recover.threshold, rec.direction) == (1.96, "min")
    assert rec.recover.relative_change == pytest.approx(0.02)
    assert (rec.recover.failures_passing, rec.recover.extra_passing) == (2, 2)
    assert (rec.recover.blocked_share, rec.recover.near_miss_share) == (0.5, 0.5)
    assert "Lower `volume_threshold` from 2 to 1.96 (2.00%): 2 more complete `momentum` signals" in rec.summary
    assert "(2 of the 4 signals this condition alone blocked, 50%)" in rec.summary
    assert rec.summary.endswith("Basis: the signals it alone blocked.")
    shares = _by_label(rec)
    picks = {label: (w.threshold, w.failures_passing, w.extra_passing) for label, w in shares.items()}
    assert picks == {
        "seed rule (midpoint)": (pytest.approx(1.965), 1, 1),
        "recover 25% of blocked signals": (1.99, 1, 1),
        "recover 50% of blocked signals": (1.96, 2, 2),
        "recover 75% of blocked signals": (1.9, 3, 3),
        # c5 is far beyond the margin (25%): taking it needs 1.5, where c3's volume passes too (5 failures)
        # although c3 still fails rsi_max.
        "recover 100% of blocked signals": (1.5, 5, 4),
        # All four near misses pass at 1.85, but c3 still fails rsi_max: three extra signals, not four.
        "recover 100% of near misses": (1.85, 4, 3),
    }
    # Candidates are listed by increasing change, the seed's rule among them.
    assert [w.relative_change for w in rec.candidates] == sorted(w.relative_change for w in rec.candidates)
    # rsi_max alone blocked nothing: its advice stays on its one near miss, and it adds no signal.
    rsi_rec = report.recommendation_for("signal:momentum:rsi_max")
    assert rsi_rec is not None
    assert rsi_rec.recover is not None
    assert (rsi_rec.what_if_basis, rsi_rec.direction, rsi_rec.recover.threshold) == ("near_misses", "max", 72.0)
    assert rsi_rec.recover.extra_passing == 0 and "Basis: near misses" in rsi_rec.summary
    # Most extra signals first.
    assert [r.check for r in report.recommendations] == [rec.check, rsi_rec.check]
    assert report.recommendation_for("signal:momentum:nothing") is None


def test_max_direction_scanner_filter(tmp_path: Path) -> None:
    # max_spread_bps passes when value <= 8; min_volume when value >= 100. One scan (trace) per symbol:
    #   s1: spread 8.4 (gap 5%)    volume 150 ok  -> spread alone blocks, gap 0.05
    #   s2: spread 8.1 (gap 1.25%) volume 120 ok  -> spread alone blocks, gap 0.0125
    #   s3: spread 8.6 (gap 7.5%)  volume 95 bad  -> two filters fail
    #   s4: spread 7.0 ok          volume 200 ok  -> passes the stage
    #   s5: spread 12 (gap 50%)    volume 150 ok  -> spread alone blocks, far miss
    scans = [("S1", 8.4, 150), ("S2", 8.1, 120), ("S3", 8.6, 95), ("S4", 7.0, 200), ("S5", 12.0, 150)]
    events = []
    for n, (symbol, spread, volume) in enumerate(scans):
        trace = f"{n + 1:032x}"
        events.append(filter_event("liquidity", symbol, "max_spread_bps", spread, 8.0, "max", trace_id=trace))
        events.append(filter_event("liquidity", symbol, "min_volume", volume, 100.0, "min", trace_id=trace))
    write_journal_lines(tmp_path / "diag_S_1.jsonl", events)
    report = DiagnosticsReportBuilder(tmp_path).build()

    (stage,) = report.funnel
    assert (stage.candidates_in, stage.left) == (5, 1)
    assert [(s.check, s.removed) for s in stage.steps] == [("filter:max_spread_bps", 4), ("filter:min_volume", 0)]
    rec = _recommendation(report, "filter:max_spread_bps")
    assert rec.midpoint_rule is not None and rec.recover is not None
    # No strategy looked at these scans: the unit is symbols through the stage, the basis the 3 it alone blocked.
    assert (rec.direction, rec.unit, rec.near_misses, rec.sole_blocked, rec.what_if_basis) == (
        "max",
        "candidates",
        3,
        3,
        "blocked",
    )
    assert report.blocked == () and report.strategies == () and report.top_blocker() is None
    # Seed rule: midpoint of 8 and the median near-miss value 8.4 is 8.2 (2.5%): only s2 passes.
    assert rec.midpoint_rule.threshold == pytest.approx(8.2)
    assert (rec.midpoint_rule.failures_passing, rec.midpoint_rule.extra_passing) == (1, 1)
    # Half of three lone blocks is two: raise to 8.4, s2 and s1 pass: 2 more candidates.
    assert (rec.recover.threshold, rec.recover.failures_passing, rec.recover.extra_passing) == (8.4, 2, 2)
    assert rec.recover.relative_change == pytest.approx(0.05)
    assert "Raise `max_spread_bps` from 8 to 8.4" in rec.summary
    assert "2 more symbols would have passed the `liquidity` stage (2 of the 3 candidates" in rec.summary
    # Recovering all three takes s5's 12 (50%): every failure passes, s3 still fails min_volume.
    everything = max(rec.candidates, key=lambda w: w.relative_change)
    assert (everything.threshold, everything.failures_passing, everything.extra_passing) == (12.0, 4, 3)
    near = _by_label(rec)["recover 100% of near misses"]
    assert (near.threshold, near.failures_passing, near.extra_passing) == (8.6, 3, 2)


def test_direction_is_inferred_when_events_omit_it(tmp_path: Path) -> None:
    events = [
        filter_event("volatility", f"S{n}", "atr_range", value, 0.012, None, trace_id=f"{n + 1:032x}")
        for n, value in enumerate([0.0114, 0.0118, 0.02])
    ]
    write_journal_lines(tmp_path / "diag_S_1.jsonl", events)
    (rec,) = DiagnosticsReportBuilder(tmp_path).build().recommendations
    assert (rec.direction, rec.near_misses) == ("min", 2)
    assert "Lower `atr_range` from 0.012 to 0.0118" in rec.summary


def _figures(
    gaps: list[float],
    values: list[float],
    thresholds: list[float],
    blocked: tuple[list[float], list[float], list[float]] = ([], [], []),
    total: int | None = None,
    far: list[float] | None = None,
) -> CheckFigures:
    return CheckFigures(gaps, values, thresholds, far or [], *blocked, len(blocked[0]) if total is None else total)


def test_varying_thresholds_are_relaxed_relative_to_each_threshold() -> None:
    # Thresholds 10 and 20, values 9.5 (gap 5%) and 19.8 (gap 1%, alone blocking): recovering it needs 1%.
    advice = advise(
        _figures([0.05, 0.01], [9.5, 19.8], [10.0, 20.0], blocked=([0.01], [19.8], [20.0])), "min", 0.5, "signals"
    )
    # Changes are shown against the median threshold of what the advice is based on: the blocked one's 20.
    assert (advice.basis, advice.vary, advice.threshold) == ("blocked", True, 20.0)
    recommended = advice.recommended
    assert recommended.relative_change == 0.01
    assert recommended.threshold == pytest.approx(20.0 * 0.99)
    assert (recommended.failures_passing, recommended.extra_passing) == (1, 1)
    # The seed's rule on the near misses: midpoint of 15 (median threshold) and 14.65 (median value), 2.33%.
    assert advice.seed.relative_change == pytest.approx(0.175 / 15)
    assert advice.seed.threshold == pytest.approx(20.0 * (1 - 0.175 / 15))
    assert len(advice.candidates) == 3  # seed rule, the blocked one (every share), both near misses


def test_zero_threshold_uses_absolute_gaps() -> None:
    assert move_threshold(0.0, 0.05, "min") == -0.05
    assert move_threshold(0.0, 0.05, "max") == 0.05
    advice = advise(_figures([0.02, 0.04], [-0.02, -0.04], [0.0, 0.0]), "min", 1.0, "signals")
    assert advice.basis == "near_misses"
    assert advice.recommended.threshold == -0.04
    assert advice.seed.threshold == pytest.approx(-0.015)
    assert advice.seed.relative_change == pytest.approx(0.015)


def test_far_too_strict_threshold_is_advised_from_the_blocked_values() -> None:
    # max_atr_pct passes when value <= 1.0 (a max check), set far too strict: the five lone blocks are at
    # 1.5, 1.6, 1.8, 2.0 and 3.0 (gaps 50% to 200%), none a near miss, and one more has no value at all.
    blocked = ([0.5, 0.6, 0.8, 1.0, 2.0], [1.5, 1.6, 1.8, 2.0, 3.0], [1.0] * 5)
    advice = advise(_figures([], [], [], blocked=blocked, total=6, far=[0.5, 0.6, 0.8, 1.0, 2.0, 1.2]), "max", 0.5, "x")
    assert advice.basis == "blocked"
    # Half of six is three: raise to 1.8 (80%); the failure at 2.2 (gap 1.2) blocked with another check.
    assert (advice.recommended.threshold, advice.recommended.extra_passing) == (1.8, 3)
    assert (advice.recommended.failures_passing, advice.recommended.blocked_share) == (3, 0.5)
    assert advice.recommended.near_miss_share == 0.0  # no near misses to recover
    labels = {w.label: (w.threshold, w.failures_passing, w.extra_passing) for w in advice.candidates}
    assert labels == {
        # The seed's rule, with no near miss, takes the blocked values' median (1.8): midpoint 1.4.
        "seed rule (midpoint)": (pytest.approx(1.4), 0, 0),
        "recover 33% of blocked x": (1.6, 2, 2),  # 25% of 6 rounds up to 2
        "recover 50% of blocked x": (1.8, 3, 3),
        # 75% of 6 is 5, and so is 100%: 5 is all the recoverable ones, the sixth has no value.
        "recover 83% of blocked x": (3.0, 6, 5),
    }
    with pytest.raises(ValueError, match="near misses or recoverable"):
        advise(_figures([], [], [], blocked=([], [], []), total=2), "max", 0.5, "x")


@pytest.mark.parametrize(("share", "n", "k"), [(0.5, 4, 2), (0.5, 3, 2), (0.3, 10, 3), (0.25, 3, 1), (1.0, 7, 7)])
def test_recover_count(share: float, n: int, k: int) -> None:
    assert recover_count(share, n) == k


@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12), min_size=1)
)
def test_median_is_statistics_median(values: list[float]) -> None:
    assert median(values) == statistics.median(values)
