"""The adversarial corpus: every kind of bad line is skipped, counted by cause and listed; nothing crashes."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import orjson

from otel_breakout.report import DiagnosticsReportBuilder
from otel_breakout.report._aggregate import Aggregate
from otel_breakout.report._analysis import analyse
from otel_breakout.report._inputs import Chunk, expand_inputs
from otel_breakout.report._model import ReportOptions
from otel_breakout.report._records import OTHER, ScanOptions
from otel_breakout.report._scan import scan_chunk
from tests.support.journal import event, filter_event, write_journal_lines
from tests.support.report_reference import comparable, reference_report

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _good(n: int, **kwargs: object) -> bytes:
    ev = filter_event("liquidity", "BTC/USDT", "min_volume", 90.0 + n, 100.0, "min", trace_id=TRACE, ts=1e9 + n)
    ev.update(kwargs)
    return orjson.dumps(ev) + b"\n"


def _with(**fields: object) -> bytes:
    ev = event("scanner", "liquidity", "BTC/USDT", False, "filter:x", {"filter": "x", "value": 1, "threshold": 2})
    ev.update(fields)
    return orjson.dumps(ev) + b"\n"


def _without(field: str) -> bytes:
    ev = event("scanner", "liquidity", "BTC/USDT", False, "filter:x", {"filter": "x"})
    del ev[field]
    return orjson.dumps(ev) + b"\n"


ADVERSARIAL: list[tuple[bytes, str | None]] = [
    (_good(1), None),
    (b"this is not json\n", "not_json"),
    (b'{"v": 1, "ts": \n', "not_json"),
    (b"\xff\xfe not utf-8 \xc3\x28\n", "not_json"),
    (_good(2).replace(b'"value":92.0', b'"value":NaN'), "nan_or_infinity"),
    (_good(3).replace(b'"value":93.0', b'"value":Infinity'), "nan_or_infinity"),
    (_good(4).replace(b'"value":94.0', b'"value":-Infinity'), "nan_or_infinity"),
    (_good(5).replace(b'"value":95.0', b'"value":1e400'), "nan_or_infinity"),
    (_good(6).replace(b'"payload":{', b'"payload":{"deep":' + b"[" * 5000 + b"]" * 5000 + b","), "too_deep"),
    (_good(7).replace(b'"payload":{', b'"payload":{"blob":"' + b"x" * (10 * 1024 * 1024) + b'",'), "too_long"),
    (_with(ts="yesterday"), "wrong_type"),
    (_with(ts=True), "wrong_type"),
    (_with(session_id=5), "wrong_type"),
    (_with(component=None), "wrong_type"),
    (_with(passed="no"), "wrong_type"),
    (_with(symbol=["BTC"]), "wrong_type"),
    (_with(payload=[1, 2]), "wrong_type"),
    (_with(trace_id=12), "wrong_type"),
    (_with(v=True), "wrong_type"),
    (_with(v="1"), "wrong_type"),
    (_without("stage"), "missing_field"),
    (_without("v"), "missing_field"),
    (b"[1, 2, 3]\n", "not_an_object"),
    (b'"a string"\n', "not_an_object"),
    (b"42\n", "not_an_object"),
    (b"null\n", "not_an_object"),
    (_with(v=2), "unknown_version"),
    (_with(v=0), "unknown_version"),
    (_with(v=1.5), None),  # a minor version of schema 1
    (b"\n", None),  # blank lines are not worth a warning
    (b"   \t \n", None),
    (_good(8)[:-1] + b"\r\n", None),  # CRLF
    (_without("span_id"), None),  # optional fields may be missing
    (_without("near_miss"), None),
    (_without("payload"), None),
    (_without("symbol"), None),
    (_with(payload={"filter": "x", "value": 1, "threshold": 2, "candle_ts": [1, 2]}), None),  # unhashable key
    (_with(payload={"filter": "x", "value": "high", "threshold": 2}), None),  # a non-numeric value
    (_good(9)[:-1], None),  # a complete last line without its newline
]


def _corpus(tmp_path: Path) -> Path:
    path = tmp_path / "diag_S_1755640800.jsonl"
    write_journal_lines(path, [line for line, _ in ADVERSARIAL])
    return path


def _expected() -> dict[str, int]:
    expected: dict[str, int] = {}
    for _, cause in ADVERSARIAL:
        if cause is not None:
            expected[cause] = expected.get(cause, 0) + 1
    return expected


def test_every_bad_line_is_counted_by_cause(tmp_path: Path) -> None:
    path = _corpus(tmp_path)
    report = DiagnosticsReportBuilder(path).build()
    assert {row.cause: row.count for row in report.skipped} == _expected()
    assert report.totals.lines == len(ADVERSARIAL) - 1 + 1  # the last line has no newline but is a line
    accepted = sum(1 for line, cause in ADVERSARIAL if cause is None and line.strip())
    assert report.totals.events == accepted
    assert report.totals.skipped_lines == sum(_expected().values())
    # Each cause points at its first lines, so a user can open the file there.
    by_cause = {row.cause: row for row in report.skipped}
    first_bad = next(n for n, (_, cause) in enumerate(ADVERSARIAL, 1) if cause == "not_json")
    assert by_cause["not_json"].examples[0] == f"{path}:{first_bad}"
    markdown = report.to_markdown()
    assert "## Input problems" in markdown and "`too_deep`" in markdown and "**Warning:**" in markdown


def test_the_adversarial_corpus_matches_the_reference(tmp_path: Path) -> None:
    path = _corpus(tmp_path)
    ours = comparable(DiagnosticsReportBuilder(path).build())
    reference = reference_report([str(path)])
    ours_evidence, reference_evidence = ours.pop("evidence"), reference.pop("evidence")
    assert ours == reference
    for reason, examples in ours_evidence.items():
        assert reference_evidence[reason] == examples


def test_a_truncated_last_line_is_reported_as_truncated(tmp_path: Path) -> None:
    path = write_journal_lines(tmp_path / "diag_S_1.jsonl", [_good(1), _good(2), _good(3)[:57]])
    report = DiagnosticsReportBuilder(path).build()
    assert [(row.cause, row.count, row.examples) for row in report.skipped] == [("truncated", 1, (f"{path}:3",))]
    assert report.totals.events == 2


def test_lone_surrogates_and_huge_integers_never_crash(tmp_path: Path) -> None:
    path = write_journal_lines(
        tmp_path / "diag_S_1.jsonl",
        [
            _with(symbol="\\ud800").replace(b'"\\\\ud800"', b'"\\ud800"'),
            _with(ts=1).replace(b'"ts":1,', b'"ts":1' + b"0" * 30 + b","),
            _good(1),
        ],
    )
    report = DiagnosticsReportBuilder(path).build()
    assert {row.cause: row.count for row in report.skipped} == {"not_json": 1}
    assert report.totals.events == 2
    report.to_markdown()
    orjson.dumps(report.to_dict())


def test_gzip_journals_and_a_cut_off_gzip_stream(tmp_path: Path) -> None:
    lines = b"".join(_good(n) for n in range(200))
    whole = tmp_path / "diag_S_1.jsonl.gz"
    whole.write_bytes(gzip.compress(lines, mtime=0))
    cut = tmp_path / "diag_T_1.jsonl.gz"
    cut.write_bytes(gzip.compress(lines, mtime=0)[:-40])
    report = DiagnosticsReportBuilder(tmp_path / "*.jsonl.gz").build()
    by_path = {f.path: f for f in report.files}
    assert by_path[str(whole)].events == 200 and by_path[str(whole)].error is None
    damaged = by_path[str(cut)]
    assert damaged.error is not None and "end-of-stream" in damaged.error
    assert 0 < damaged.events <= 200
    assert report.readable and any("stopped early" in note for note in report.notes)


def test_unreadable_and_missing_inputs(tmp_path: Path) -> None:
    bogus = tmp_path / "diag_S_1.jsonl.gz"
    bogus.write_bytes(b"\x1f\x8b" + b"definitely not deflate" * 10)
    builder = DiagnosticsReportBuilder([bogus, tmp_path / "absent.jsonl", tmp_path / "nothing-*.jsonl"])
    assert builder.unmatched == [str(tmp_path / "nothing-*.jsonl")]
    report = builder.build()
    assert report.empty and not report.readable
    assert report.totals.unreadable_files == 2
    assert [f.error is not None for f in report.files] == [True, True]
    assert "No input file could be read" in report.to_markdown()


def test_an_empty_input_gives_a_report_that_says_so(tmp_path: Path) -> None:
    (tmp_path / "diag_S_1.jsonl").write_bytes(b"")
    report = DiagnosticsReportBuilder(tmp_path).build()
    assert report.empty and report.readable
    assert report.notes == ("The input holds no diagnostic events.",)
    assert "**No diagnostic events** were found in 1 input file(s) (0 lines)." in report.to_markdown()
    assert report.to_dict()["totals"]["events"] == 0
    nothing = DiagnosticsReportBuilder(tmp_path / "none-*.jsonl").build()
    assert nothing.empty and nothing.notes == ("No input file matched.",)
    assert "No input file matched" in nothing.to_markdown()


def test_long_lines_stream_past_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "diag_S_1.jsonl"
    with path.open("wb") as handle:
        handle.write(_good(1))
        handle.write(b'{"v": 1, "blob": "' + b"y" * (40 * 1024 * 1024))  # 40 MiB, never terminated
    chunk = Chunk(0, 0, str(path), 0, None, False, path.stat().st_size)
    tracemalloc.start()
    try:
        result = scan_chunk(chunk, ScanOptions(max_line_bytes=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.events == 1 and result.skipped == {"too_long": 1}
    assert peak < 6 * 1024 * 1024, peak  # a couple of 1 MiB blocks, not the 40 MiB line


def test_candidates_held_in_memory_are_bounded(tmp_path: Path) -> None:
    # Every event is a new candidate: the open table never grows past two windows and a block.
    events = [
        filter_event("liquidity", f"S{n}", "min_volume", 150.0, 100.0, "min", trace_id=f"{n:032x}")
        for n in range(30_000)
    ]
    path = write_journal_lines(tmp_path / "diag_S_1.jsonl", events)
    chunk = Chunk(0, 0, str(path), 0, None, False, path.stat().st_size)
    result = scan_chunk(chunk, ScanOptions(group_window=512))
    assert result.created == 30_000
    # Only the first two windows (may continue groups the parent holds open) and the last one (may continue
    # in the next chunk) go to the parent; the rest were finished here.
    assert len(result.partials) == 3 * 512
    assert result.funnel[("scanner", "liquidity")][0] == 30_000 - 3 * 512


def test_distinct_key_limits_fold_without_losing_events(tmp_path: Path) -> None:
    # Hostile cardinality: every event a new session, symbol, reason and check. Past the limits they fold into
    # "(other)"; every event is still counted and the report says what was folded.
    events = [
        event(
            "scanner",
            f"stage{n % 7}",
            f"SYM{n}",
            False,
            f"filter:f{n}",
            {"filter": f"f{n}", "value": 9.5, "threshold": 10.0, "direction": "min"},
            session=f"S{n}",
            trace_id=f"{n:032x}",
        )
        for n in range(400)
    ]
    path = write_journal_lines(tmp_path / "diag_S_1.jsonl", events)
    options = ScanOptions(max_shapes=40, max_checks=10, max_reasons=20)
    files, _ = expand_inputs([path])
    aggregate = Aggregate(files, options)
    aggregate.add(scan_chunk(Chunk(0, 0, str(path), 0, None, False, path.stat().st_size), options))
    aggregate.finish()
    report = analyse(
        aggregate, ReportOptions((str(path),), 0.1, 0.5, None, None, (), (), 4096, 1 << 20), "http://x/{trace_id}"
    )
    assert report.totals.events == 400 and report.totals.failures == 400
    assert sum(row.failures for row in report.reasons) == 400
    assert len(report.near_misses) == 10
    assert report.totals.sessions <= 40
    notes = " ".join(report.notes)
    assert "distinct-key limit" in notes and "check limit" in notes and "reason limit" in notes


REASON = "filter:min_volume"


def test_events_spelling_the_folded_key_are_counted_like_any_other(tmp_path: Path) -> None:
    # Past the shape limit, shapes fold under "(other)" session and symbol; an event that spells exactly that
    # key (and a numeric candle, so it joins a candle group) must still be grouped and counted.
    events = [
        filter_event("liquidity", f"S{n}", "min_volume", 50.0, 100.0, "min", trace_id=None, candle_ts=60)
        for n in range(20)
    ]
    events += [
        filter_event("liquidity", "(other)", "min_volume", 50.0, 100.0, "min", trace_id=None, candle_ts=60, session=s)
        for s in ("(other)", "(other)")
    ]
    path = write_journal_lines(tmp_path / "diag_S_1.jsonl", events)
    options = ScanOptions(max_shapes=16)
    files, _ = expand_inputs([path])
    aggregate = Aggregate(files, options)
    aggregate.add(scan_chunk(Chunk(0, 0, str(path), 0, None, False, path.stat().st_size), options))
    aggregate.finish()
    assert (
        aggregate.events == 22
        and aggregate.shapes[(OTHER, "scanner", "liquidity", OTHER, False, REASON, "min_volume")] == 6
    )
    assert aggregate.funnel[("scanner", "liquidity")][0] == 21  # S0..S19 and the one "(other)" candle
