"""Outcomes end to end: closes from files or from the journal, forward returns with no look-ahead, verdicts
that name their basis, sample and horizon, a flag on changes past zero, and none without prices."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from otel_breakout import DiagnosticsCollector, Settings
from otel_breakout.report import DiagnosticsReport, DiagnosticsReportBuilder
from otel_breakout.report._outcomes import OutcomeSettings, expand_price_paths
from tests.support.journal import signal_event, write_journal_lines

T0 = 1_755_640_800
BAR = 60


def _bounce_journal(tmp_path: Path, candles: int = 150) -> Path:
    """One condition, ``bounce`` >= 0.1, on one candle per symbol: values from -0.5 to 1.0, so about a third
    are blocked, all of them below zero."""
    events = []
    for i in range(candles):
        value = round(-0.5 + 1.5 * i / candles, 6)
        events.append(signal_event("retest", f"S{i}", "bounce", value, 0.1, "min", T0 + BAR * (i % 10)))
    return write_journal_lines(tmp_path / "journal" / "diag_S_1.jsonl", events)


def _prices(tmp_path: Path, symbols: int, growth: float, bars: int = 40) -> Path:
    """Every symbol rises by ``growth`` per bar: every candidate earns the same."""
    lines = ["symbol,timestamp,close"]
    for s in range(symbols):
        lines += [f"S{s},{(T0 + BAR * i) * 1000},{100 * math.exp(growth * i)!r}" for i in range(bars)]
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _build(tmp_path: Path, **kwargs: Any) -> DiagnosticsReport:
    return DiagnosticsReportBuilder([tmp_path / "journal"], settings=Settings.from_env({}), **kwargs).build()


def test_without_prices_nothing_is_presented_as_tested(tmp_path: Path) -> None:
    _bounce_journal(tmp_path)
    report = _build(tmp_path)
    assert report.outcomes is not None and report.outcomes.basis == "no_outcomes"
    assert "No outcomes: no prices were given" in report.outcomes.note
    (rec,) = report.recommendations
    assert (rec.verdict, rec.basis, rec.recommended, rec.outcomes) == ("untested", "no_outcomes", None, None)
    entry = report.to_dict()["recommended_thresholds"]["signal:retest:bounce"]
    assert (entry["basis"], entry["threshold"], entry["advised"], entry["horizon_bars"]) == (
        "no_outcomes",
        None,
        False,
        20,
    )
    markdown = report.to_markdown()
    assert "**no prices, so no threshold advice is tested**" in markdown
    assert "**No outcomes, so no advice is tested**" in markdown


def test_a_change_past_zero_is_flagged_never_advised(tmp_path: Path) -> None:
    _bounce_journal(tmp_path)
    # Everything earns 0.05% a bar, about 0.9% over 20 bars after costs: the blocked candidates did exactly as
    # well as the signals, so the rule loosens all the way, to -0.5, past zero.
    report = _build(tmp_path, prices=[_prices(tmp_path, 150, 0.0005)])
    assert report.outcomes is not None and report.outcomes.basis == "outcomes"
    (rec,) = report.recommendations
    assert rec.verdict == "loosen" and rec.flags == ("crosses_zero",) and not rec.advised
    assert rec.recommended is not None and rec.recommended.threshold == -0.5
    assert "Flagged, not advised" in rec.summary
    entry = report.to_dict()["recommended_thresholds"]["signal:retest:bounce"]
    assert (entry["verdict"], entry["basis"], entry["flags"], entry["advised"]) == (
        "loosen",
        "outcomes",
        ["crosses_zero"],
        False,
    )
    assert entry["horizon_bars"] == 20 and entry["cost_bps"] == 10.0
    assert entry["sample"] == {"blocked_outcomes": 60, "fired_outcomes": 90, "reference_signals": 90}
    assert "**loosen, flagged**" in report.to_markdown()


def test_every_candidate_earns_what_its_prices_say(tmp_path: Path) -> None:
    _bounce_journal(tmp_path)
    report = _build(tmp_path, prices=[_prices(tmp_path, 150, 0.0005)], cost_bps=25.0, horizons=(1, 5), horizon=5)
    assert report.outcomes is not None
    one, five = report.outcomes.reference
    assert (one.horizon, five.horizon) == (1, 5)
    assert one.median == pytest.approx(math.exp(0.0005) - 1 - 0.0025)
    assert five.median == pytest.approx(math.exp(0.0025) - 1 - 0.0025)
    assert five.outcomes == five.candidates == 90 and five.win_share == 1.0


def test_no_look_ahead_and_no_guessing(tmp_path: Path) -> None:
    # Prices end 25 bars after the first candle: a candle without a close 20 bars later has no outcome; a
    # candle without its own close has none either (no later close stands in for it).
    _bounce_journal(tmp_path)
    path = _prices(tmp_path, 150, 0.0005, bars=25)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line for line in lines if line != f"S60,{T0 * 1000},100.0") + "\n")
    report = _build(tmp_path, prices=[path])
    assert report.outcomes is not None and report.outcomes.signals == 90  # S60 .. S149 fired
    # Their candles are minutes 0..9 (i % 10): only minutes 0..4 have a close 20 bars later; S60 (minute 0)
    # lost its entry close.
    assert report.outcomes.signals_with_outcome == sum(1 for i in range(60, 150) if i % 10 < 5) - 1


def test_the_candle_length_can_be_given(tmp_path: Path) -> None:
    _bounce_journal(tmp_path)
    report = _build(tmp_path, prices=[_prices(tmp_path, 150, 0.0005)], bar_seconds=120)
    assert report.outcomes is not None and report.outcomes.bar_seconds == 120
    # Two-minute bars: the close 20 bars later is 40 minutes on, past the end of the prices.
    assert report.outcomes.basis == "no_outcomes"


def test_closes_recorded_by_the_collector_are_enough(tmp_path: Path) -> None:
    # A bot that evaluates every symbol on every candle and passes close= needs no price file.
    with DiagnosticsCollector(session_id="bot", output_dir=tmp_path / "journal", sinks=["jsonl"]) as diag:
        for bar in range(60):
            for s in range(40):
                price = 100 * math.exp(0.001 * bar + 0.0001 * s)
                value = (s % 20) / 10  # 0.0 .. 1.9 against 1.0: half blocked
                diag.record_signal_condition("momentum", f"S{s}", "volume", value, 1.0, value >= 1.0,
                                             T0 + BAR * bar, direction="min", close=price)  # fmt: skip
    report = _build(tmp_path)
    assert report.outcomes is not None and report.outcomes.basis == "outcomes"
    assert report.outcomes.prices == () and report.outcomes.journal_prices == 60 * 40
    assert report.outcomes.bar_seconds == 60
    (rec,) = report.recommendations
    assert rec.basis == "outcomes" and rec.verdict in ("keep", "loosen", "tighten")


def test_price_paths_expand_like_journal_paths(tmp_path: Path) -> None:
    for name in ("BTC_USDT-1m.json", "ETH_USDT-1m.json.gz", "a.csv", "notes.txt"):
        (tmp_path / name).write_text("")
    found, unmatched = expand_price_paths([str(tmp_path), str(tmp_path / "*.csv"), str(tmp_path / "none-*.csv")])
    assert [Path(p).name for p in found] == ["BTC_USDT-1m.json", "ETH_USDT-1m.json.gz", "a.csv"]
    assert unmatched == [str(tmp_path / "none-*.csv")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizons": (5, 10), "horizon": 20}, "horizon=20"),
        ({"horizons": (0,)}, "horizons"),
        ({"cost_bps": -1.0}, "cost_bps"),
        ({"min_outcomes": 2}, "min_outcomes"),
        ({"edge_share": 0.0}, "edge_share"),
        ({"bar_seconds": 0.0}, "bar_seconds"),
    ],
)
def test_settings_are_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OutcomeSettings(**{"horizons": (5, 10, 20), **kwargs})
    with pytest.raises(ValueError, match=message):
        DiagnosticsReportBuilder("x", **kwargs)
