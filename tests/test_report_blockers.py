"""What blocked signals: filters joined with conditions on candles, counted by hand, and planted faults."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from otel_breakout.report import DiagnosticsReport, DiagnosticsReportBuilder
from tests.support.journal import filter_event, signal_event, write_journal_lines
from tests.support.synthetic import STRATEGIES, JournalSpec, iter_events, write_journal

T0 = 1_755_640_800


def _candle(
    n: int,
    *,
    min_volume: float | None = 150.0,
    atr: float | None = 0.012,
    volume: float | None = None,
    confirm: float | None = None,
    symbol: str = "X",
) -> list[dict[str, Any]]:
    """One candle of a joined journal: the filters (min_volume >= 100, atr_range >= 0.01) with its candle_ts,
    then each strategy that looked at it (momentum: volume_threshold >= 2, retest: confirmation >= 0.6)."""
    candle = T0 + 60 * n
    trace = f"{n + 1:032x}"
    events = []
    if min_volume is not None:
        events.append(
            filter_event("liquidity", symbol, "min_volume", min_volume, 100.0, "min", trace_id=trace, candle_ts=candle)
        )
    if atr is not None:
        events.append(
            filter_event("volatility", symbol, "atr_range", atr, 0.01, "min", trace_id=trace, candle_ts=candle)
        )
    if volume is not None:
        events.append(signal_event("momentum", symbol, "volume_threshold", volume, 2.0, "min", candle, trace_id=trace))
    if confirm is not None:
        events.append(signal_event("retest", symbol, "confirmation", confirm, 0.6, "min", candle, trace_id=trace))
    return events


def _joined_report(tmp_path: Path) -> DiagnosticsReport:
    events = [
        *_candle(0, atr=0.008, volume=2.5, confirm=0.7),  # atr alone: blocks both strategies
        *_candle(1, min_volume=90.0, atr=0.0085, volume=2.5, confirm=0.7),  # two filters: blocked by several
        *_candle(2, volume=1.8, confirm=0.7),  # momentum: volume alone; retest fires
        *_candle(3, volume=2.1, confirm=0.5),  # momentum fires; retest: confirmation alone
        *_candle(4, atr=0.005),  # no strategy looked at this candle: no signal candidate
        *_candle(5, volume=2.2),  # only momentum looked: it fires, retest has no candidate
        *_candle(6, atr=0.0095, volume=1.0, confirm=0.9),  # momentum: atr and volume; retest: atr alone
        # Y's filter has no candle_ts (grouped by trace, as before): it does not join Y's momentum candle.
        filter_event("liquidity", "Y", "min_volume", 80.0, 100.0, "min", trace_id="f" * 32),
        signal_event("momentum", "Y", "volume_threshold", 2.2, 2.0, "min", T0, trace_id="f" * 32),
    ]
    write_journal_lines(tmp_path / "diag_S_1.jsonl", events)
    return DiagnosticsReportBuilder(tmp_path).build()


def test_filters_join_the_conditions_of_the_same_candle(tmp_path: Path) -> None:
    report = _joined_report(tmp_path)
    assert [(b.reason, b.blocked, b.with_others, b.failures) for b in report.blocked] == [
        ("filter:atr_range", 3, 3, 4),  # alone: momentum and retest on candle 0, retest on candle 6
        ("signal:momentum:volume_threshold", 1, 1, 2),
        ("signal:retest:confirmation", 1, 0, 1),
        ("filter:min_volume", 0, 2, 2),  # with atr_range on candle 1 (both strategies); Y's failure is unjoined
    ]
    assert [
        (s.strategy, s.candidates, s.signals, s.blocked_by_one, s.blocked_by_several, s.top_blocker)
        for s in report.strategies
    ] == [
        # momentum: candles 0, 1, 2, 3, 5, 6 and Y's; fired on 3, 5 and Y. Tie with volume_threshold at one
        # lone block each: atr_range failed more often.
        ("momentum", 7, 3, 2, 2, "filter:atr_range"),
        ("retest", 5, 1, 3, 1, "filter:atr_range"),
    ]
    assert report.top_blocker() == "filter:atr_range"
    # The funnel narrows: a candle reaches volatility only past liquidity, a strategy only past both, so a
    # strategy's "left" are its signals (momentum: candles 3, 5 and Y's, whose filter joined no candle);
    # "evaluated" counts each stage on its own, as before.
    funnel = {(f.component, f.stage): (f.candidates_in, f.left, f.evaluated) for f in report.funnel}
    assert funnel == {
        ("scanner", "liquidity"): (8, 6, 8),
        ("scanner", "volatility"): (6, 3, 7),
        ("signal", "momentum"): (4, 3, 7),
        ("signal", "retest"): (2, 1, 5),
    }
    steps = {step.check: (step.removed, step.failures) for f in report.funnel for step in f.steps}
    assert steps["filter:atr_range"] == (3, 4)  # candles 0, 4 and 6 reached it; 1 failed liquidity first

    rec = report.recommendation_for("filter:atr_range")
    assert rec is not None
    # No prices: no verdict, only the exact what-if. A filter that took part in signal candidates counts in
    # signals: 3 blocked, at gaps 20% (candle 0, counted once per strategy) and 5% (candle 6).
    assert (rec.verdict, rec.basis, rec.recommended) == ("untested", "no_outcomes", None)
    assert (rec.unit, rec.what_if_basis, rec.sole_blocked, rec.recoverable, rec.direction) == (
        "signals",
        "blocked",
        3,
        3,
        "min",
    )
    # Half of three is two: the change reaching candle 0's 0.008 (20%) fires all three.
    assert rec.recover is not None and rec.recover.threshold == 0.008
    assert rec.recover.relative_change == pytest.approx(0.2)
    # Failures passing at 20%: candles 0, 6 and 1 (gap 15%); not candle 4 (50%).
    assert (rec.recover.failures_passing, rec.recover.extra_passing) == (3, 3)
    assert rec.summary.startswith("No advice on `atr_range`: no prices")
    smallest = min((w for w in rec.candidates if w.label.startswith("recover")), key=lambda w: w.relative_change)
    assert (smallest.label, smallest.threshold, smallest.extra_passing) == ("recover 33% of blocked signals", 0.0095, 1)
    # min_volume never blocked a signal alone: its one joined near miss (90, 10%) is the what-if's basis.
    volume = report.recommendation_for("filter:min_volume")
    assert volume is not None and volume.recover is not None
    assert (volume.what_if_basis, volume.unit, volume.recover.extra_passing) == ("near_misses", "signals", 0)
    assert [r.check for r in report.recommendations][:3] == [
        "filter:atr_range",
        "signal:momentum:volume_threshold",
        "signal:retest:confirmation",
    ]


def test_the_dict_form_names_the_top_blocker_and_each_recommended_threshold(tmp_path: Path) -> None:
    data = _joined_report(tmp_path).to_dict()
    assert data["top_blocker"] == "filter:atr_range"
    assert data["blocked"][0] == {
        "reason": "filter:atr_range",
        "component": "scanner",
        "stage": "volatility",
        "name": "atr_range",
        "blocked": 3,
        "with_others": 3,
        "failures": 4,
    }
    assert data["strategies"][1]["strategy"] == "retest"
    # Without prices every entry says so: no threshold advised, the basis and an empty sample.
    assert data["recommended_thresholds"]["filter:atr_range"] == {
        "verdict": "untested",
        "basis": "no_outcomes",
        "threshold": None,
        "current_threshold": 0.01,
        "direction": "min",
        "relative_change": None,
        "extra_passing": None,
        "removed": None,
        "unit": "signals",
        "flags": [],
        "advised": False,
        "horizon_bars": 20,
        "cost_bps": 10.0,
        "sample": {"blocked_outcomes": 0, "fired_outcomes": 0, "reference_signals": 0},
    }
    assert data["outcomes"]["basis"] == "no_outcomes"
    assert list(data)[:4] == ["options", "totals", "blocked", "strategies"]


def test_the_markdown_section_follows_the_totals(tmp_path: Path) -> None:
    markdown = _joined_report(tmp_path).to_markdown()
    assert markdown.index("## What blocked signals") < markdown.index("## Top failure reasons")
    assert "**Top blocker: `filter:atr_range`**, alone on 3 candidates." in markdown
    assert "| 1 | `filter:atr_range` | 3 | 3 | 4 |" in markdown
    assert "| `retest` | 5 | 1 | 3 | 1 | `filter:atr_range` |" in markdown
    assert "**No outcomes, so no advice is tested**" in markdown
    assert "### 1. `filter:atr_range` (min): **untested (no prices)**" in markdown


def test_without_signal_candidates_the_section_says_so(tmp_path: Path) -> None:
    write_journal_lines(
        tmp_path / "diag_S_1.jsonl",
        [filter_event("liquidity", "X", "min_volume", 90.0, 100.0, "min", trace_id="a" * 32)],
    )
    report = DiagnosticsReportBuilder(tmp_path).build()
    assert report.top_blocker() is None and report.blocked == () and report.strategies == ()
    assert "no signal candidate" in report.to_markdown()
    assert report.to_dict()["top_blocker"] is None


# --- planted faults: one threshold far too strict, in the demo's joined form ---------------------------


def _signals(spec: JournalSpec) -> dict[str, int]:
    """Signals fired, counted straight from the events: all filters and all the strategy's conditions of a
    candle passed. Independent of the report, so it checks the report's own counts too."""
    candles: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for event in iter_events(spec):
        if event["component"] in ("scanner", "signal"):
            key = (event["session_id"], event["symbol"], event["payload"]["candle_ts"])
            candles.setdefault(key, []).append(event)
    fired = {strategy: 0 for strategy, _ in STRATEGIES}
    for events in candles.values():
        filters = all(e["passed"] for e in events if e["component"] == "scanner")
        for strategy in fired:
            fired[strategy] += filters and all(e["passed"] for e in events if e["stage"] == strategy)
    return fired


def _run(tmp_path: Path, name: str, spec: JournalSpec) -> DiagnosticsReport:
    directory = tmp_path / name
    write_journal(directory, spec)
    report = DiagnosticsReportBuilder(directory).build()
    assert {s.strategy: s.signals for s in report.strategies} == _signals(spec)
    return report


@pytest.mark.parametrize(
    ("check", "reason", "strict"),
    [
        ("volume_threshold", "signal:momentum:volume_threshold", 3.0),  # values reach 2.4 at most
        ("atr_range", "filter:atr_range", 0.025),  # a filter: it blocks both strategies
        ("breakout_confirmation", "signal:retest:breakout_confirmation", 1.1),
    ],
)
def test_a_planted_fault_is_ranked_first_and_its_what_if_counts_are_exact(
    tmp_path: Path, check: str, reason: str, strict: float
) -> None:
    base = JournalSpec(seed=21, cycles=40, joined=True, coerced_share=0.01)
    healthy = _run(tmp_path, "healthy", base)
    faulted = _run(tmp_path, "faulted", replace(base, thresholds=((check, strict),)))
    assert faulted.top_blocker() == reason
    rec = faulted.recommendation_for(reason)
    assert rec is not None and rec.what_if_basis == "blocked" and rec.near_misses == 0 and rec.recover is not None
    fixed = _run(tmp_path, "fixed", replace(base, thresholds=((check, rec.recover.threshold),)))

    def total(report: DiagnosticsReport) -> int:
        return sum(s.signals for s in report.strategies)

    # Exactly the extra signals the what-if promised, no more and no fewer.
    assert total(fixed) == total(faulted) + rec.recover.extra_passing
    # Recovering half of the signals it alone blocked brings back most of those the fault suppressed.
    suppressed = total(healthy) - total(faulted)
    assert suppressed > 0 and total(fixed) - total(faulted) >= 0.5 * suppressed


def test_when_every_signal_fired_there_is_no_top_blocker(tmp_path: Path) -> None:
    write_journal_lines(tmp_path / "diag_S_1.jsonl", [*_candle(0, volume=2.5, confirm=0.7), *_candle(1, volume=3.0)])
    report = DiagnosticsReportBuilder(tmp_path).build()
    assert report.top_blocker() is None and report.blocked == ()
    assert [(s.strategy, s.candidates, s.signals) for s in report.strategies] == [("momentum", 2, 2), ("retest", 1, 1)]
    markdown = report.to_markdown()
    assert "No signal was blocked by a single check (3 signals fired)." in markdown
    assert "| Reason | Blocked alone |" not in markdown
