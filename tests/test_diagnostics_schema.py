"""The journal codec: one encoder for every writer, one rule (:func:`decode`) for every reader, versions included."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from otel_breakout import DiagnosticsCollector, DiagnosticsEvent, Settings
from otel_breakout.diagnostics import JOURNAL_FIELDS, SCHEMA_VERSION, _collector
from otel_breakout.diagnostics._journal import legacy_session
from otel_breakout.diagnostics._schema import LEGACY_FIELDS, decode, encode, journal_line, merge_extra
from otel_breakout.report import DiagnosticsReportBuilder

# Written by the collector of the commit before the codec existed (52ddb70), from the calls below.
FIXED_JOURNAL = Path(__file__).resolve().parent / "data" / "diagnostics" / "fixed_journal.jsonl"
_BASE = {"v": 1, "ts": 1.0, "session_id": "S", "component": "scanner", "stage": "liquidity"}


def test_a_line_has_the_schema_keys_in_order_and_one_newline() -> None:
    line = journal_line(1.5, "S", "scanner", "liquidity", "BTC", False, "filter:f", True, None, None, {"value": 1})
    assert tuple(line) == JOURNAL_FIELDS and line["v"] == SCHEMA_VERSION
    data = encode(line)
    assert data == orjson.dumps(line) + b"\n" and data.count(b"\n") == 1


def test_decode_applies_the_full_rules() -> None:
    assert decode(_BASE) == (1, 1.0, "S", "scanner", "liquidity", None, None, None, False, None, None, None)
    assert decode({**_BASE, "v": 1.2})[0] == 1.2  # a minor version of schema 1
    assert decode({**_BASE, "v": 3}) == "unknown_version"
    assert decode({**_BASE, "v": 2.0}) == "unknown_version"
    assert decode({**_BASE, "v": False}) == "wrong_type"
    assert decode({**_BASE, "v": "1"}) == "wrong_type"
    assert decode({**_BASE, "passed": 1}) == "wrong_type"  # 1 == True, but it is not a bool
    assert decode({**_BASE, "payload": "x"}) == "wrong_type"
    assert decode({**_BASE, "trace_id": 7}) == "wrong_type"
    assert decode({**_BASE, "ts": True}) == "wrong_type"
    assert decode({"v": 1}) == "missing_field"
    assert decode([_BASE]) == "not_an_object"
    # Informational fields read leniently: readers recompute near misses, and the report never reads span ids.
    fields = decode({**_BASE, "near_miss": "yes", "span_id": 5})
    assert not isinstance(fields, str) and fields[8] is False and fields[10] is None


def test_seed_format_lines_take_their_session_from_the_file_name() -> None:
    seed_line = {"ts": 1.0, "component": "scanner", "stage": "liquidity", "symbol": "BTC/USDT", "payload": {},
                 "reason": None, "passed": True}  # fmt: skip
    assert legacy_session("logs/diag/diag_A_BTC_USDT_1755640800.jsonl") == "A_BTC_USDT"
    assert legacy_session("diag_S42_1755640800.1.jsonl.gz") == "S42"
    assert legacy_session("events.jsonl") is None
    assert decode(seed_line, "A_BTC_USDT") == (1, 1.0, "A_BTC_USDT", "scanner", "liquidity", "BTC/USDT", True,
                                               None, False, None, None, {})  # fmt: skip
    # Not a seed journal by its name, or not a seed line: the full rules apply.
    assert decode(seed_line, None) == "missing_field"
    assert decode({"ts": 1.0, "stage": "liquidity"}, "A") == "missing_field"
    assert decode({**seed_line, "session_id": "S"}, "A") == "missing_field"  # no v: not the seed's form
    assert set(LEGACY_FIELDS) == set(seed_line)
    event = DiagnosticsEvent.from_json(seed_line, legacy_session="A")
    assert (event.session_id, event.symbol, event.passed, event.trace_id) == ("A", "BTC/USDT", True, None)


# Lines every reader must judge alike: (line, what decode says).
_CASES: list[tuple[Any, str | None]] = [
    (_BASE, None),
    ({**_BASE, "v": 1.0}, None),
    ({**_BASE, "v": 1.5, "new_field": [1]}, None),
    ({**_BASE, "payload": None, "symbol": None}, None),
    ({**_BASE, "payload": {"filter": "f", "value": 1.0}, "passed": False, "reason": "filter:f"}, None),
    ({**_BASE, "v": 2}, "unknown_version"),
    ({**_BASE, "v": 0.5}, "unknown_version"),
    ({**_BASE, "v": True}, "wrong_type"),
    ({**_BASE, "v": None}, "wrong_type"),
    ({**_BASE, "session_id": 3}, "wrong_type"),
    ({**_BASE, "symbol": 3}, "wrong_type"),
    ({**_BASE, "reason": ["r"]}, "wrong_type"),
    ({**_BASE, "passed": "yes"}, "wrong_type"),
    ({**_BASE, "payload": []}, "wrong_type"),
    ({k: v for k, v in _BASE.items() if k != "session_id"}, "missing_field"),
    ({k: v for k, v in _BASE.items() if k != "ts"}, "missing_field"),
    ([1, 2], "not_an_object"),
]


@pytest.mark.parametrize(("line", "cause"), _CASES)
def test_decode_judges_each_line(line: Any, cause: str | None) -> None:
    fields = decode(line)
    assert (fields if isinstance(fields, str) else None) == cause


@pytest.mark.parametrize(("line", "cause"), _CASES)
def test_from_json_applies_the_same_rule(line: Any, cause: str | None) -> None:
    if cause is None:
        event = DiagnosticsEvent.from_json(line)
        assert (event.session_id, event.component, event.stage) == ("S", "scanner", "liquidity")
    elif isinstance(line, dict):
        with pytest.raises(ValueError, match="version" if cause == "unknown_version" else cause.replace("_", " ")[:7]):
            DiagnosticsEvent.from_json(line)


def test_the_reports_scan_applies_the_same_rule(tmp_path: Path) -> None:
    # The scan checks the common line inline and defers the rest to decode(): it must agree on every line.
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line, _ in _CASES))
    report = DiagnosticsReportBuilder(str(path)).build()
    expected: dict[str, int] = {}
    for _, cause in _CASES:
        if cause is not None:
            expected[cause] = expected.get(cause, 0) + 1
    assert report.totals.events == sum(1 for _, cause in _CASES if cause is None)
    assert {s.cause: s.count for s in report.skipped} == expected


def test_the_collector_writes_what_the_codec_encodes(tmp_path: Path) -> None:
    # Both of the pipeline's paths (the plain fast path and the general one) write the codec's bytes: each
    # line is exactly the encoding of the event it decodes to.
    settings = Settings.from_env({})
    with DiagnosticsCollector(session_id="S", output_dir=tmp_path, settings=settings, sinks=["jsonl"]) as collector:
        collector.record_filter("liquidity", "BTC", "min_volume", 9.5, 10.0, False, direction="min")  # fast
        collector.record_filter("liquidity", "BTC", "min_volume", 12, 10, True, {"venue": "x"})  # general
        collector.record_signal_condition("momentum", "BTC", "rsi", 71.0, 70.0, False, 1_755_640_800, close=2.5)
        collector.record_signal("momentum", "BTC", {"size": 1})
        collector.record("engine", "cycle", payload={"ms": 3.5})
    lines = collector.output_path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 5
    for data in lines:
        event = DiagnosticsEvent.from_json(orjson.loads(data))
        assert encode(event.to_json()) == data


def test_an_extra_key_never_overwrites_a_payload_field() -> None:
    payload = {"filter": "f", "value": 1.0}
    extra = {"filter": "mine", "extra_filter": "also mine", "venue": "x"}
    # One rule for the journal and the span events: only keys the payload had before are renamed.
    assert merge_extra(payload, extra) == {"filter": "f", "value": 1.0, "extra_filter": "also mine", "venue": "x"}
    assert merge_extra({"a": 1}, None) == {"a": 1} and merge_extra({"a": 1}, {}) == {"a": 1}


def test_the_journal_bytes_for_a_fixed_input_are_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every path of the pipeline (the plain fast path, extra fields, coerced values, conditions, signals, plain
    # records, scrubbed secrets) against the bytes the writer wrote before the codec took over the line.
    clock = itertools.count(0)
    monkeypatch.setattr(_collector, "now", lambda: 1_755_640_800.0 + next(clock) * 0.25)
    ids = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, False, TraceFlags(1))
    with DiagnosticsCollector(session_id="fixed", output_dir=tmp_path, settings=Settings.from_env({}),
                              sinks=["jsonl"]) as c:  # fmt: skip
        c.record_filter("liquidity", "BTC/USDT", "min_volume", 950_000.0, 1_000_000.0, False, direction="min")
        c.record_filter("liquidity", "ETH/USDT", "min_volume", 2_000_000, 1_000_000, True, direction="min",
                        candle_ts=1_755_640_800, close=3_100.5)  # fmt: skip
        with trace.use_span(NonRecordingSpan(ids)):
            c.record_filter("volatility", "SOL/USDT", "atr", 0.011, 0.012, False, {"venue": "x", "filter": "shadow"},
                            direction="min")  # fmt: skip
            c.record_filter("volatility", "SOL/USDT", "atr", float("nan"), 0.012, False)
            c.record_filter("volatility", "XRP/USDT", "atr", 2**70, 0.012, True, direction="max")
            c.record_signal_condition("momentum", "BTC/USDT", "rsi_max", 71.5, 70.0, False, 1_755_640_800,
                                      direction="max", close=64_000.0)  # fmt: skip
            c.record_signal_condition("momentum", "BTC/USDT", "volume", 1.6, 1.5, True, 1_755_640_800, {"window": 20})
            c.record_signal("momentum", "BTC/USDT", {"size": 0.5, "api_key": "sk-live-123"})
        c.record("engine", "cycle", payload={"duration_ms": 12.5, "password": "hunter2"})
        c.record("risk", "position_limit", "DOGE/USDT", {"open": 3, "limit": 3}, "risk:max_positions", False)
        c.record("engine", "note", None, None, None, None)
        c.record_filter("liquidity", "\u00fcn\u00efcode/USDT", "min_volume", 5, 10, 0, direction="min")  # type: ignore[arg-type]
        c.increment_reason("manual")
    assert c.output_path.read_bytes() == FIXED_JOURNAL.read_bytes()
