"""The synthetic journal generator writes exactly the contract's schema, deterministically."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from otel_breakout.diagnostics import JOURNAL_FIELDS
from tests.support.synthetic import JournalSpec, iter_events, write_journal

KEYS = list(JOURNAL_FIELDS)


def test_schema_and_key_order() -> None:
    events = list(iter_events(JournalSpec(seed=1, cycles=20)))
    assert events
    for ev in events:
        assert list(ev) == KEYS
        assert ev["v"] == 1 and isinstance(ev["ts"], float)
        payload = ev["payload"]
        if ev["component"] == "scanner":
            assert list(payload)[:4] == ["filter", "value", "threshold", "direction"]
            assert ev["reason"] == (None if ev["passed"] else f"filter:{payload['filter']}")
        if ev["component"] == "signal":
            assert list(payload) == ["strategy", "condition", "value", "threshold", "direction", "candle_ts"]
            assert ev["reason"] == (None if ev["passed"] else f"signal:{ev['stage']}:{payload['condition']}")
        if ev["trace_id"] is not None:
            assert len(ev["trace_id"]) == 32 and int(ev["trace_id"], 16) >= 0
        if ev["near_miss"]:
            value, threshold = payload["value"], payload["threshold"]
            assert not ev["passed"] and abs(value - threshold) <= 0.1 * abs(threshold)
        if payload.get("value__coerced") == "nan":
            assert payload["value"] is None and ev["passed"] is False
    timestamps = [ev["ts"] for ev in events]
    assert timestamps == sorted(timestamps)


def test_passed_agrees_with_direction() -> None:
    for ev in iter_events(JournalSpec(seed=2, cycles=10)):
        payload = ev["payload"]
        if ev["component"] in ("scanner", "signal") and payload["value"] is not None:
            ok = (
                payload["value"] >= payload["threshold"]
                if payload["direction"] == "min"
                else (payload["value"] <= payload["threshold"])
            )
            assert ok == ev["passed"]


def test_same_seed_same_bytes_and_rotation(tmp_path: Path) -> None:
    spec = JournalSpec(seed=9, sessions=2, cycles=10)
    first = write_journal(tmp_path / "a", spec, rotate_bytes=20_000)
    second = write_journal(tmp_path / "b", spec, rotate_bytes=20_000)
    assert [p.name for p in first] == [p.name for p in second]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert first[0].name == "diag_S9-0_1755640800.jsonl" and first[1].name == "diag_S9-0_1755640800.1.jsonl"
    assert all(p.stat().st_size <= 20_000 for p in first)
    compressed = write_journal(tmp_path / "c", JournalSpec(seed=9, cycles=3), compress=True)
    with gzip.open(compressed[0]) as handle:
        lines = handle.read().splitlines()
    assert [orjson.loads(line) for line in lines] == list(iter_events(JournalSpec(seed=9, cycles=3)))
