"""The parent's merge of byte ranges: groups continued across ranges stay one group, as in one pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from otel_breakout.report import DiagnosticsReportBuilder
from otel_breakout.report._aggregate import Aggregate
from otel_breakout.report._inputs import SourceFile
from otel_breakout.report._records import ChunkResult, ScanOptions
from tests.support.journal import filter_event, signal_event, write_journal_lines


def _chunk(index: int, created: int, partials: list[tuple[Any, Any, int]]) -> ChunkResult:
    result = ChunkResult(0, index, 100)
    result.created = created
    result.partials = partials
    return result


def _stage(name: str) -> tuple[str, str, str, str, str]:
    return ("S", "scanner", "liquidity", name, "t")


def test_a_continued_group_is_not_counted_as_a_new_one() -> None:
    # Window 2. Range 1 opens A and B; range 2 continues both and opens C; range 3 continues B. In one pass
    # B has a single newer group (C) when its last evaluation comes, so it is still one candidate.
    aggregate = Aggregate([SourceFile("x", 300, False)], ScanOptions(group_window=2))
    a, b, c = _stage("A"), _stage("B"), _stage("C")
    aggregate.add(_chunk(0, 2, [(a, None, 0), (b, None, 1)]))
    aggregate.add(_chunk(1, 3, [(a, None, 0), (b, None, 1), (c, None, 2)]))
    assert aggregate.funnel[("scanner", "liquidity")][0] == 1  # A: B and C came after it
    aggregate.add(_chunk(2, 1, [(b, ["min_volume", 1, "min_volume", 0.5, False, 50.0, 100.0], 0)]))
    aggregate.finish()
    seen, left, removed = aggregate.funnel[("scanner", "liquidity")]
    assert (seen, left, removed) == (3, 2, {"min_volume": 1})


def test_a_candle_cut_into_many_byte_ranges_is_one_signal_candidate(tmp_path: Path) -> None:
    # One candle, its evaluations spread over about ten 1 KiB ranges, with the smallest window: the filter
    # failing at the very end still blocks the signal, alone.
    candle = 1_755_640_800
    events = [signal_event("momentum", "X", f"c{n}", 2.0, 1.0, "min", candle, trace_id=f"{n:032x}") for n in range(30)]
    events.append(filter_event("liquidity", "X", "min_volume", 90.0, 100.0, "min", trace_id=None, candle_ts=candle))
    path = write_journal_lines(tmp_path / "diag_S_1.jsonl", events)
    assert path.stat().st_size > 9 * 1024
    report = DiagnosticsReportBuilder(path, chunk_bytes=1024, workers=1, group_window=1).build()
    (momentum,) = report.strategies
    assert (momentum.candidates, momentum.signals, momentum.blocked_by_one) == (1, 0, 1)
    assert report.top_blocker() == "filter:min_volume"
    # The filter failed, so the candle never reached the strategy (evaluated there all the same).
    assert {(f.stage, f.candidates_in, f.evaluated) for f in report.funnel} == {("liquidity", 1, 1), ("momentum", 0, 1)}
