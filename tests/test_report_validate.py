from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from otel_breakout.diagnostics._schema import LEGACY_FIELDS
from otel_breakout.report import DiagnosticsReportBuilder
from otel_breakout.report._validate import classify_bad_line, is_trace_id, strings_ok
from tests.support.journal import write_journal_lines
from tests.support.synthetic import JournalSpec, iter_events


def test_classify_bad_line() -> None:
    assert classify_bad_line(b"  ", "unexpected end", False) is None
    assert classify_bad_line(b'{"a": 1', "unexpected end of data", True) == "truncated"
    assert classify_bad_line(b"[[[", "depth limit exceeded", False) == "too_deep"
    assert classify_bad_line(b'{"a": 1e999}', "number is infinity when parsed as double", False) == "nan_or_infinity"
    assert classify_bad_line(b'{"a": NaN}', "unexpected character", False) == "nan_or_infinity"
    assert classify_bad_line(b'{"a": "NaN", }', "trailing comma", False) == "not_json"


def test_strings_ok_and_trace_ids() -> None:
    assert strings_ok(("S", "scanner", "liquidity", None, True, None, "f"))
    assert not strings_ok(("S", "scanner", 3, None, True, None, "f"))
    assert not strings_ok(("S", "scanner", "liquidity", 5, True, None, "f"))
    assert is_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
    assert not is_trace_id("0" * 32)
    assert not is_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736")
    assert not is_trace_id("4bf92f35")


def _seed_form(event: dict[str, Any]) -> bytes:
    """The line the seed's collector wrote for the same event: its seven fields, in its order."""
    return orjson.dumps({key: event[key] for key in LEGACY_FIELDS}, option=orjson.OPT_APPEND_NEWLINE)


def test_a_seed_journal_reads_as_the_same_events(tmp_path: Path) -> None:
    spec = JournalSpec(seed=31, sessions=1, cycles=40, joined=True, coerced_share=0.0)
    events = list(islice(iter_events(spec), 2_000))
    current = write_journal_lines(tmp_path / "current" / "diag_A_BTC_USDT_1755640800.jsonl",
                                  [{**e, "session_id": "A_BTC_USDT"} for e in events])  # fmt: skip
    seed = write_journal_lines(tmp_path / "seed" / "diag_A_BTC_USDT_1755640800.jsonl", [_seed_form(e) for e in events])
    ours = DiagnosticsReportBuilder(current).build()
    theirs = DiagnosticsReportBuilder(seed).build()
    assert theirs.totals.events == ours.totals.events == 2_000 and theirs.totals.skipped_lines == 0
    assert [(r.reason, r.failures) for r in theirs.reasons] == [(r.reason, r.failures) for r in ours.reasons]
    assert [(b.reason, b.blocked) for b in theirs.blocked] == [(b.reason, b.blocked) for b in ours.blocked]
    assert theirs.totals.sessions == 1 and "A_BTC_USDT" in theirs.to_markdown()
    # The same lines in a file whose name carries no session are skipped, as before, and say why.
    renamed = seed.rename(seed.with_name("events.jsonl"))
    skipped = DiagnosticsReportBuilder(renamed).build()
    assert skipped.totals.events == 0 and [(s.cause, s.count) for s in skipped.skipped] == [("missing_field", 2_000)]
