from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from otel_breakout.report import DiagnosticsReportBuilder
from otel_breakout.report._synthetic import JournalSpec, iter_events
from otel_breakout.report._validate import (
    LEGACY_FIELDS,
    classify_bad_line,
    fields_slow,
    is_trace_id,
    legacy_session,
    strings_ok,
)
from tests.support.journal import write_journal_lines


def test_classify_bad_line() -> None:
    assert classify_bad_line(b"  ", "unexpected end", False) is None
    assert classify_bad_line(b'{"a": 1', "unexpected end of data", True) == "truncated"
    assert classify_bad_line(b"[[[", "depth limit exceeded", False) == "too_deep"
    assert classify_bad_line(b'{"a": 1e999}', "number is infinity when parsed as double", False) == "nan_or_infinity"
    assert classify_bad_line(b'{"a": NaN}', "unexpected character", False) == "nan_or_infinity"
    assert classify_bad_line(b'{"a": "NaN", }', "trailing comma", False) == "not_json"


def test_fields_slow_applies_the_full_rules() -> None:
    base = {"v": 1, "ts": 1.0, "session_id": "S", "component": "scanner", "stage": "liquidity"}
    assert fields_slow(base) == (1, 1.0, "S", "scanner", "liquidity", None, None, None, None, None)
    assert fields_slow({**base, "v": 1.2})[0] == 1.2
    assert fields_slow({**base, "v": 3}) == "unknown_version"
    assert fields_slow({**base, "v": False}) == "wrong_type"
    assert fields_slow({**base, "passed": 1}) == "wrong_type"  # 1 == True, but it is not a bool
    assert fields_slow({**base, "payload": "x"}) == "wrong_type"
    assert fields_slow({"v": 1}) == "missing_field"
    assert fields_slow([base]) == "not_an_object"


def test_strings_ok_and_trace_ids() -> None:
    assert strings_ok(("S", "scanner", "liquidity", None, True, None, "f"))
    assert not strings_ok(("S", "scanner", 3, None, True, None, "f"))
    assert not strings_ok(("S", "scanner", "liquidity", 5, True, None, "f"))
    assert is_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
    assert not is_trace_id("0" * 32)
    assert not is_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736")
    assert not is_trace_id("4bf92f35")


def test_seed_format_lines_take_their_session_from_the_file_name() -> None:
    seed_line = {"ts": 1.0, "component": "scanner", "stage": "liquidity", "symbol": "BTC/USDT", "payload": {},
                 "reason": None, "passed": True}  # fmt: skip
    assert legacy_session("logs/diag/diag_A_BTC_USDT_1755640800.jsonl") == "A_BTC_USDT"
    assert legacy_session("diag_S42_1755640800.1.jsonl.gz") == "S42"
    assert legacy_session("events.jsonl") is None
    assert fields_slow(seed_line, "A_BTC_USDT") == (1, 1.0, "A_BTC_USDT", "scanner", "liquidity", "BTC/USDT", True,
                                                    None, None, {})  # fmt: skip
    # Not a seed journal by its name, or not a seed line: the full rules apply.
    assert fields_slow(seed_line, None) == "missing_field"
    assert fields_slow({"ts": 1.0, "stage": "liquidity"}, "A") == "missing_field"
    assert fields_slow({**seed_line, "session_id": "S"}, "A") == "missing_field"  # no v: not the seed's form
    assert set(LEGACY_FIELDS) == set(seed_line)


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
