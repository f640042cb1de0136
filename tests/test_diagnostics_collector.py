from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from otel_breakout import ConfigError, DiagnosticsCollector, DiagnosticsEvent, Settings
from otel_breakout.diagnostics import JOURNAL_FIELDS, REDACTED, rotated_paths
from otel_breakout.diagnostics import _registry as registry
from otel_breakout.diagnostics._coerce import Sanitizer
from otel_breakout.testing import TelemetryCapture, capture_telemetry

ROOT = Path(__file__).resolve().parent.parent


def journal(collector: DiagnosticsCollector) -> list[dict[str, Any]]:
    assert collector.flush()
    paths = [*rotated_paths(collector.output_path), collector.output_path]
    return [orjson.loads(line) for path in paths if path.exists() for line in path.read_bytes().splitlines()]


def log_records(capture: TelemetryCapture) -> list[Any]:
    return [data.log_record for data in capture.logs()]


@pytest.fixture
def collector(capture: TelemetryCapture, tmp_path: Path) -> Iterator[DiagnosticsCollector]:
    with capture.diagnostics_collector(tmp_path / "diag", session_id="S1") as made:
        yield made


def test_a_failed_filter_reaches_every_sink(capture: TelemetryCapture, collector: DiagnosticsCollector) -> None:
    with capture.telemetry.get_tracer().start_as_current_span("scan") as span:
        collector.record_filter("liquidity", "BTCUSDT", "min_volume", 95.0, 100.0, False, {"window": "1h"})
    context = span.get_span_context()
    trace_id, span_id = format(context.trace_id, "032x"), format(context.span_id, "016x")

    [line] = journal(collector)
    assert tuple(line) == JOURNAL_FIELDS
    assert line == {
        "v": 1,
        "ts": line["ts"],
        "session_id": "S1",
        "component": "scanner",
        "stage": "liquidity",
        "symbol": "BTCUSDT",
        "passed": False,
        "reason": "filter:min_volume",
        "near_miss": True,
        "trace_id": trace_id,
        "span_id": span_id,
        "payload": {"filter": "min_volume", "value": 95.0, "threshold": 100.0, "direction": "min", "window": "1h"},
    }
    assert collector.output_path.name.startswith("diag_S1_") and collector.output_path.parent.name == "diag"

    [record] = log_records(capture)
    assert record.severity_text == "INFO" and record.body == "BTCUSDT failed filter:min_volume (near miss)"
    assert (record.trace_id, record.span_id) == (context.trace_id, context.span_id)
    assert dict(record.attributes) == {
        "breakout.diag.component": "scanner",
        "breakout.diag.stage": "liquidity",
        "breakout.diag.symbol": "BTCUSDT",
        "breakout.diag.reason": "filter:min_volume",
        "breakout.diag.near_miss": True,
        "breakout.diag.payload.filter": "min_volume",
        "breakout.diag.payload.value": 95.0,
        "breakout.diag.payload.threshold": 100.0,
        "breakout.diag.payload.direction": "min",
        "breakout.diag.payload.window": "1h",
    }

    [finished] = capture.spans()
    [event] = finished.events
    assert event.name == "breakout.diag.near_miss"
    assert event.attributes is not None and dict(event.attributes) == dict(record.attributes)

    evaluations = capture.metric_points("breakout.diag.evaluations")
    assert evaluations == {
        frozenset({"component": "scanner", "stage": "liquidity", "check": "min_volume", "outcome": "fail"}.items()): 1
    }
    assert capture.metric_points("breakout.diag.reasons") == {frozenset({("reason", "filter:min_volume")}): 1}
    assert capture.metric_points("breakout.diag.near_misses") == {
        frozenset({"component": "scanner", "stage": "liquidity", "check": "min_volume"}.items()): 1
    }
    [captured] = capture.diagnostics()
    assert captured == DiagnosticsEvent.from_json(line)


def test_log_records_carry_the_span_current_at_record_time(
    capture: TelemetryCapture, collector: DiagnosticsCollector
) -> None:
    tracer = capture.telemetry.get_tracer()
    seen: dict[str, tuple[int, int]] = {}

    def other_thread() -> None:
        with tracer.start_as_current_span("worker") as span:
            collector.record_filter("s", "ETHUSDT", "f", 1.0, 2.0, False)
            seen["ETHUSDT"] = (span.get_span_context().trace_id, span.get_span_context().span_id)

    with tracer.start_as_current_span("cycle"):
        with tracer.start_as_current_span("scan") as inner:
            collector.record_filter("s", "BTCUSDT", "f", 1.0, 2.0, False)
            seen["BTCUSDT"] = (inner.get_span_context().trace_id, inner.get_span_context().span_id)
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    collector.record_filter("s", "SOLUSDT", "f", 1.0, 2.0, False)  # no span: no trace context
    assert collector.flush()  # every span ended long before the writer ran

    by_symbol = {r.attributes["breakout.diag.symbol"]: r for r in log_records(capture)}
    for symbol, (trace_id, span_id) in seen.items():
        assert (by_symbol[symbol].trace_id, by_symbol[symbol].span_id) == (trace_id, span_id)
    assert by_symbol["BTCUSDT"].trace_id != by_symbol["ETHUSDT"].trace_id  # the thread started its own trace
    assert not by_symbol["SOLUSDT"].trace_id and not by_symbol["SOLUSDT"].span_id
    lines = {line["symbol"]: line for line in journal(collector)}
    assert lines["BTCUSDT"]["span_id"] == format(seen["BTCUSDT"][1], "016x")
    assert lines["SOLUSDT"]["trace_id"] is None and lines["SOLUSDT"]["span_id"] is None


def test_passes_are_logged_at_debug_only_when_asked(capture: TelemetryCapture, tmp_path: Path) -> None:
    with capture.diagnostics_collector(tmp_path / "a") as quiet:
        quiet.record_filter("s", "BTCUSDT", "f", 3.0, 2.0, True)
        quiet.flush()
    assert log_records(capture) == []
    chatty_settings = Settings.from_env({"OTEL_BREAKOUT_DIAG_LOG_PASSES": "true"})
    with capture.diagnostics_collector(tmp_path / "b", settings=chatty_settings) as chatty:
        chatty.record_filter("s", "BTCUSDT", "f", 3.0, 2.0, True)
        chatty.flush()
    [record] = log_records(capture)
    assert record.severity_text == "DEBUG" and record.body == "BTCUSDT passed scanner/s/f"
    assert record.attributes["breakout.diag.passed"] is True and "breakout.diag.reason" not in record.attributes


def test_signal_conditions_and_signals(capture: TelemetryCapture, collector: DiagnosticsCollector) -> None:
    candle = dt.datetime(2025, 8, 19, 21, 40, tzinfo=dt.timezone.utc)
    collector.record_signal_condition("breakout", "BTCUSDT", "close_above_high", 99.0, 100.0, False, candle)
    collector.record_signal_condition("breakout", "BTCUSDT", "volume_spike", 3.0, 2.0, True, 1755640800, {"k": 1})
    collector.record_signal("breakout", "BTCUSDT", {"side": "long"})
    failed, passed, signal = journal(collector)
    assert failed["component"] == "signal" and failed["stage"] == "breakout"
    assert failed["reason"] == "signal:breakout:close_above_high" and failed["near_miss"] is True
    assert failed["payload"] == {
        "strategy": "breakout",
        "condition": "close_above_high",
        "value": 99.0,
        "threshold": 100.0,
        "direction": "min",
        "candle_ts": "2025-08-19T21:40:00+00:00",
    }
    assert passed["reason"] is None and passed["payload"]["candle_ts"] == 1755640800 and passed["payload"]["k"] == 1
    assert signal["passed"] is True and signal["payload"] == {"strategy": "breakout", "signal": True, "side": "long"}
    bodies = [(r.severity_text, r.body) for r in log_records(capture)]
    assert bodies == [
        ("INFO", "BTCUSDT failed signal:breakout:close_above_high (near miss)"),
        ("INFO", "BTCUSDT signal from breakout"),
    ]
    snapshot = collector.snapshot()
    assert snapshot["signals"] == 1 and snapshot["near_misses"] == 1


def test_direction_is_inferred_when_omitted_and_extra_cannot_overwrite_the_schema(
    collector: DiagnosticsCollector,
) -> None:
    collector.record_filter("s", "A", "max_spread", 0.5, 0.2, False)
    collector.record_filter("s", "B", "min_volume", 10, 10, True)
    collector.record_filter("s", "C", "f", 1.0, 2.0, False, {"value": "mine", "reason": "x"}, direction="sideways")
    first, second, third = journal(collector)
    assert first["payload"]["direction"] == "max"
    assert second["payload"]["direction"] is None  # equality passes either way: unknown, not guessed
    assert third["payload"] == {
        "filter": "f",
        "value": 1.0,
        "threshold": 2.0,
        "direction": "min",
        "extra_value": "mine",
        "reason": "x",
        "direction__coerced": "invalid",
    }


def test_span_events_are_bounded_counted_and_flagged(capture: TelemetryCapture, tmp_path: Path) -> None:
    settings = Settings.from_env({"OTEL_BREAKOUT_DIAG_SPAN_EVENTS": "8"})  # B=8: failures 4, near misses 6
    with capture.diagnostics_collector(tmp_path, settings=settings) as diag:
        with capture.telemetry.get_tracer().start_as_current_span("scan"):
            for n in range(10):
                diag.record_filter("s", f"S{n}", "f", 1.0, 100.0, False)  # first failures: 4 fit, 6 left out
                diag.record_filter("s", f"S{n}", "g", 1.0, 100.0, False)  # not first: never a candidate
            for n in range(3):
                diag.record_filter("s", f"N{n}", "f", 99.0, 100.0, False)  # near misses: 2 fit, 1 left out
            for n in range(3):
                diag.record_signal("breakout", f"G{n}")  # signals: 2 fit, 1 left out
        diag.flush()
        snapshot = diag.snapshot()
    [span] = capture.spans()
    names = [event.name for event in span.events]
    assert names == ["breakout.diag.failure"] * 4 + ["breakout.diag.near_miss"] * 2 + ["breakout.diag.signal"] * 2
    assert span.attributes is not None and span.attributes["breakout.diag.span_events.truncated"] is True
    assert snapshot["dropped"] == {"span_events:budget": 8}
    dropped = capture.metric_points("breakout.diag.dropped")
    assert dropped == {frozenset({("sink", "span_events"), ("cause", "budget")}): 8}
    assert len(log_records(capture)) == 26  # the logs and the journal keep everything


def test_metrics_count_outcomes_without_symbols(capture: TelemetryCapture, collector: DiagnosticsCollector) -> None:
    for n in range(30):
        collector.record_filter("universe", f"S{n}", "min_volume", float(n), 10.0, n >= 10)
    collector.record_signal_condition("breakout", "S1", "retest", 0.0, 1.0, False)
    collector.record("engine", "cycle", payload={"n": 1})  # no outcome: not an evaluation
    collector.increment_reason("filter:min_volume")
    collector.flush()
    evaluations = capture.metric_points("breakout.diag.evaluations")
    assert evaluations == {
        frozenset({"component": "scanner", "stage": "universe", "check": "min_volume", "outcome": "pass"}.items()): 20,
        frozenset({"component": "scanner", "stage": "universe", "check": "min_volume", "outcome": "fail"}.items()): 10,
        frozenset({"component": "signal", "stage": "breakout", "check": "retest", "outcome": "fail"}.items()): 1,
    }
    assert capture.metric_points("breakout.diag.reasons") == {
        frozenset({("reason", "filter:min_volume")}): 11,
        frozenset({("reason", "signal:breakout:retest")}): 1,
    }
    assert capture.metric_points("breakout.diag.near_misses") == {
        frozenset({"component": "scanner", "stage": "universe", "check": "min_volume"}.items()): 1  # 9 vs 10
    }
    for metric in capture.metrics().values():
        for point in metric.data.data_points:
            assert "symbol" not in (point.attributes or {})
    snapshot = collector.snapshot()
    assert snapshot["event_count"] == 32
    assert snapshot["reasons"] == {"filter:min_volume": 11, "signal:breakout:retest": 1}
    assert list(snapshot["reasons"]) == ["filter:min_volume", "signal:breakout:retest"]  # ranked


def test_free_form_reasons_are_bounded_in_counters_snapshot_and_exposition(tmp_path: Path) -> None:
    # 5,000 distinct reasons (an error message with an id in it) against a bound of 50: the counter, the
    # snapshot and /api/metrics keep 50 names and "(other)", the journal keeps every reason as given.
    settings = Settings.from_env({"OTEL_BREAKOUT_DIAG_MAX_REASONS": "50"})
    capture = capture_telemetry(settings=settings)
    try:
        with capture.diagnostics_collector(tmp_path, session_id="R", queue_size=100_000) as diag:
            for n in range(5_000):
                diag.record("engine", "order", payload={"n": n}, reason=f"exchange error {n}", passed=False)
            for _ in range(3):
                diag.increment_reason("exchange error 7")  # known: counted by name
                diag.increment_reason("exchange error 9999")  # past the bound: "(other)"
            diag.record_filter("universe", "S", "min_volume", 1.0, 2.0, False)  # past the bound too
            lines = journal(diag)
            snapshot = diag.snapshot()
        reasons = capture.metric_points("breakout.diag.reasons")
        exposition = capture.telemetry.prometheus_text().decode()
    finally:
        capture.close()
    folded = 5_000 - 50 + 3 + 1
    assert len(snapshot["reasons"]) == 51
    assert snapshot["reasons"]["(other)"] == folded
    assert snapshot["reasons"]["exchange error 7"] == 4
    assert snapshot["dropped"]["reasons:overflow"] == folded
    assert len(reasons) == 51 and reasons[frozenset({("reason", "(other)")})] == folded
    assert capture.metric_points("breakout.diag.dropped")[frozenset({("sink", "reasons"), ("cause", "overflow")})] == (
        folded
    )
    assert sum(line.startswith("breakout_diag_reasons_total{") for line in exposition.splitlines()) == 51
    assert {line["reason"] for line in lines} == {f"exchange error {n}" for n in range(5_000)} | {"filter:min_volume"}


def test_a_full_queue_drops_and_counts_and_never_blocks(capture: TelemetryCapture, tmp_path: Path) -> None:
    release = threading.Event()

    def stall(event: DiagnosticsEvent) -> None:
        release.wait(10)  # the writer stalls on the first event

    registry.add_listener(capture.telemetry, stall)
    with capture.diagnostics_collector(tmp_path, queue_size=16, flush_interval=0.01) as diag:
        for n in range(200):
            diag.record_filter("s", f"S{n}", "f", 1.0, 2.0, False)
        stalled = diag.snapshot()
        release.set()
        diag.flush()
        snapshot = diag.snapshot()
    dropped = snapshot["dropped"]["queue:full"]
    assert stalled["queue_depth"] <= 16 and 200 - 17 <= dropped < 200
    assert snapshot["event_count"] + dropped == 200
    assert len(journal(diag)) == snapshot["event_count"]
    assert capture.metric_points("breakout.diag.dropped")[frozenset({("sink", "queue"), ("cause", "full")})] == dropped


@pytest.mark.parametrize(
    "environ",
    [{}, {"OTEL_SDK_DISABLED": "true"}, {"OTEL_BREAKOUT_DIAG_ENABLED": "false"}],
    ids=["enabled=False", "OTEL_SDK_DISABLED", "OTEL_BREAKOUT_DIAG_ENABLED"],
)
def test_a_disabled_collector_starts_nothing_and_writes_nothing(tmp_path: Path, environ: dict[str, str]) -> None:
    threads = set(threading.enumerate())
    settings = Settings.from_env(environ)
    enabled = bool(environ)  # the first case disables by argument, the others by environment
    diag = DiagnosticsCollector(enabled, "S", tmp_path / "d", settings=settings)
    assert diag.enabled is False
    diag.record_filter("s", "BTCUSDT", "f", 1.0, 2.0, False)
    diag.record_signal_condition("x", "BTCUSDT", "c", 1.0, 2.0, False)
    diag.record("engine", "cycle")
    diag.record_signal("x", "BTCUSDT")
    diag.increment_reason("r")
    assert diag.flush()
    diag.close()
    assert set(threading.enumerate()) == threads
    assert not (tmp_path / "d").exists()
    snapshot = diag.snapshot()
    assert snapshot["enabled"] is False and snapshot["event_count"] == 0
    assert snapshot["sinks"] == {"jsonl": "off", "logs": "off", "spans": "off", "metrics": "off"}


def test_planted_secrets_reach_no_sink(capture: TelemetryCapture, tmp_path: Path) -> None:
    settings = Settings.from_env({"OTEL_BREAKOUT_DIAG_SECRET_KEYS": "account_pin,^otp$"})
    planted = {
        "api_key": "PLANTED-1",
        "nested": {"exchange": {"apiSecret": "PLANTED-2"}, "list": [{"password": "PLANTED-3"}]},
        "headers": {"Authorization": "PLANTED-4", "Cookie": "PLANTED-5"},
        "note": "Bearer PLANTED-6",
        "pem": "-----BEGIN EC PRIVATE KEY-----PLANTED-7",
        "account_pin": "PLANTED-8",
        "otp": "PLANTED-9",
        "passphrase": b"PLANTED-10",
        "session_token": "PLANTED-11",
        "ok": "visible",
    }
    with capture.diagnostics_collector(tmp_path, settings=settings) as diag:
        with capture.telemetry.get_tracer().start_as_current_span("scan"):
            diag.record_filter("s", "BTCUSDT", "f", 1.0, 2.0, False, planted)
            diag.record_signal_condition("st", "BTCUSDT", "c", 1.0, 2.0, False, None, planted)
            diag.record("engine", "auth", "BTCUSDT", planted, "auth failed", False)
            diag.record_signal("st", "ETHUSDT", planted)
        lines = journal(diag)
        snapshot = diag.snapshot()
    everything = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    everything += repr([(r.body, dict(r.attributes)) for r in log_records(capture)]).encode()
    everything += repr([(e.name, dict(e.attributes or {})) for s in capture.spans() for e in s.events]).encode()
    everything += repr(capture.metrics()).encode() + repr(snapshot).encode()
    everything += repr(capture.diagnostics()).encode()
    assert b"PLANTED" not in everything
    assert b"visible" in everything
    assert len(lines) == 4 and all(line["payload"]["api_key"] == REDACTED for line in lines)
    assert lines[0]["payload"]["nested"]["list"] == [{"password": REDACTED}]
    assert len(capture.spans()[0].events) == 4  # each component's first failure, and the signal


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque>"


class Exploding:
    def __repr__(self) -> str:
        raise RuntimeError("boom")

    def __str__(self) -> str:
        raise RuntimeError("boom")


def _hostile() -> dict[Any, Any]:
    cycle: list[Any] = ["loop"]
    cycle.append(cycle)
    return {
        "nan": float("nan"),
        "inf": float("inf"),
        "ninf": float("-inf"),
        "dec": Decimal("1.10"),
        "when": dt.datetime(2025, 1, 2, 3, 4, 5),
        "raw": b"\x00\xff",
        "tags": {"b", "a"},
        "obj": Opaque(),
        "boom": Exploding(),
        "cycle": cycle,
        "long": "L" * 100_000,
        7: "int key",
    }


def _numpy_hostile() -> dict[Any, Any]:
    np = pytest.importorskip("numpy")
    return {"f": np.float32(0.5), "i": np.int64(7), "nan": np.float64("nan"), "arr": np.arange(3)}


@pytest.mark.parametrize("kind", ["plain", "numpy"])
def test_hostile_values_reach_every_sink_coerced(capture: TelemetryCapture, tmp_path: Path, kind: str) -> None:
    extra = _hostile() if kind == "plain" else _numpy_hostile()
    with capture.diagnostics_collector(tmp_path) as diag:
        with capture.telemetry.get_tracer().start_as_current_span("scan"):
            diag.record_filter("s", Exploding(), "f", Decimal("99"), float("nan"), False, extra)  # type: ignore[arg-type]
            diag.record_filter("s", "ETHUSDT", Opaque(), float("inf"), Decimal("10"), False, extra)  # type: ignore[arg-type]
            diag.record_signal_condition("st", "BTCUSDT", "c", b"x", {1}, False, Opaque(), extra)
            diag.record(Opaque(), ["stage"], None, extra, None, "maybe")  # type: ignore[arg-type]
            diag.record_signal(Exploding(), "SOLUSDT", extra)  # type: ignore[arg-type]
            diag.record_filter("s", "ADAUSDT", "f", 1.0, 2.0, False, "not a mapping")  # type: ignore[arg-type]
        lines = journal(diag)
    assert len(lines) == 6 and all(tuple(line) == JOURNAL_FIELDS for line in lines)
    first = lines[0]
    assert first["symbol"] == "<unprintable Exploding>"
    assert first["payload"]["value"] == 99.0 and first["payload"]["threshold"] is None
    assert first["payload"]["threshold__coerced"] == "nan"
    assert lines[1]["payload"]["filter"] == "<Opaque>" and lines[1]["reason"] == "filter:<Opaque>"
    assert lines[3]["component"] == "<Opaque>" and lines[3]["stage"] == "['stage']" and lines[3]["passed"] is None
    assert lines[5]["payload"]["extra"] == "not a mapping"
    if kind == "plain":
        payload = first["payload"]
        assert payload["nan"] is None and payload["nan__coerced"] == "nan"
        assert payload["inf__coerced"] == "inf" and payload["ninf__coerced"] == "-inf"
        assert payload["dec"] == 1.1 and payload["when"] == "2025-01-02T03:04:05"
        assert payload["raw"] == "\x00\\xff" and payload["raw__coerced"] == "bytes"
        assert payload["tags"] == ["a", "b"] and payload["obj"] == "<Opaque>"
        assert payload["boom"] == "<unreprable Exploding>" and payload["cycle"] == ["loop", "<cycle>"]
        assert len(payload["long"]) < 4200 and payload["long__coerced"] == "truncated"
        assert payload["7"] == "int key"
    else:
        assert first["payload"]["f"] == 0.5 and first["payload"]["i"] == 7 and first["payload"]["arr"] == [0, 1, 2]
    primitives = (str, bool, int, float)
    records = log_records(capture)
    assert len(records) == 5  # the four failures and the signal
    events = [e for s in capture.spans() for e in s.events]
    assert events
    for attributes in [r.attributes for r in records] + [e.attributes for e in events]:
        for value in attributes.values():
            assert isinstance(value, primitives) or all(isinstance(v, primitives) for v in value)
            assert not isinstance(value, str) or len(value) < 4200
    assert [event.payload for event in capture.diagnostics()] == [line["payload"] for line in lines]
    assert sum(capture.metric_points("breakout.diag.evaluations").values()) == 4


def test_sessions_switch_files(capture: TelemetryCapture, collector: DiagnosticsCollector) -> None:
    first_path = collector.output_path
    collector.record_filter("s", "A", "f", 1.0, 2.0, False)
    collector.update_session("S2")
    collector.record_filter("s", "B", "f", 1.0, 2.0, False)
    assert collector.session_id == "S2" and collector.output_path != first_path
    assert collector.output_path.name.startswith("diag_S2_")
    assert [line["symbol"] for line in journal(collector)] == ["B"]
    assert [orjson.loads(line)["session_id"] for line in first_path.read_bytes().splitlines()] == ["S1"]
    assert collector.snapshot()["session_id"] == "S2"
    with pytest.raises(ConfigError):
        collector.update_session("")


def test_snapshot_keeps_the_seed_fields(collector: DiagnosticsCollector) -> None:
    collector.increment_reason("manual")
    collector.increment_reason("manual")
    collector.record_filter("s", "A", "f", 1.0, 2.0, False)
    collector.flush()
    snapshot = collector.snapshot()
    assert snapshot["session_id"] == "S1" and snapshot["enabled"] is True
    assert snapshot["event_count"] == 1 and snapshot["reasons"] == {"manual": 2, "filter:f": 1}
    assert snapshot["output_path"] == str(collector.output_path)
    assert snapshot["queue_depth"] == 0 and snapshot["queue_capacity"] == 32768 and snapshot["dropped"] == {}
    orjson.dumps(snapshot)


def test_bad_arguments_raise_a_clear_error(tmp_path: Path) -> None:
    settings = Settings.from_env({})
    with pytest.raises(ConfigError, match="near_miss_margin"):
        DiagnosticsCollector(output_dir=tmp_path, settings=settings, near_miss_margin=2.0)
    with pytest.raises(ConfigError, match="flush_interval"):
        DiagnosticsCollector(output_dir=tmp_path, settings=settings, flush_interval=5)
    with pytest.raises(ConfigError, match="sinks"):
        DiagnosticsCollector(output_dir=tmp_path, settings=settings, sinks=["jsonl", "kafka"])
    with pytest.raises(ConfigError, match="session_id"):
        DiagnosticsCollector(session_id="  ", output_dir=tmp_path, settings=settings)


def test_only_the_chosen_sinks_are_fed(capture: TelemetryCapture, tmp_path: Path) -> None:
    with capture.diagnostics_collector(tmp_path / "d", sinks=["logs"]) as diag:
        with capture.telemetry.get_tracer().start_as_current_span("scan"):
            diag.record_filter("s", "A", "f", 1.0, 2.0, False)
        diag.flush()
        assert diag.snapshot()["sinks"] == {"jsonl": "off", "logs": "on", "spans": "off", "metrics": "off"}
    assert len(log_records(capture)) == 1
    assert not (tmp_path / "d").exists() and capture.spans()[0].events == ()
    assert capture.metric_points("breakout.diag.evaluations") == {}


def test_sinks_may_be_one_string_never_read_letter_by_letter(capture: TelemetryCapture, tmp_path: Path) -> None:
    for given, expected in (("jsonl", {"jsonl"}), ("jsonl, logs", {"jsonl", "logs"}), ("none", set())):
        with capture.diagnostics_collector(tmp_path / "d", sinks=given) as diag:
            assert {sink for sink, state in diag.snapshot()["sinks"].items() if state == "on"} == expected
    with pytest.raises(ConfigError, match=r"sinks='kafka'.*jsonl, logs, spans, metrics") as caught:
        DiagnosticsCollector(output_dir=tmp_path, settings=Settings.from_env({}), sinks="kafka")
    assert "'k'" not in str(caught.value)


def test_the_collector_closes_with_its_telemetry(tmp_path: Path) -> None:
    captured = capture_telemetry()
    diag = captured.diagnostics_collector(tmp_path, flush_interval=1.0)
    diag.record_filter("s", "A", "f", 1.0, 2.0, False)
    captured.close()  # shutdown hooks run before the providers flush
    assert [line["symbol"] for line in journal(diag)] == ["A"]
    assert len(captured.logs()) == 1
    diag.record_filter("s", "B", "f", 1.0, 2.0, False)  # after close: a no-op, not an error
    assert len(journal(diag)) == 1


def test_a_global_collector_is_written_at_interpreter_exit(tmp_path: Path) -> None:
    code = f"""
        import otel_breakout
        telemetry = otel_breakout.configure(service_name="exit-test")
        diag = otel_breakout.DiagnosticsCollector(session_id="exit", output_dir={str(tmp_path)!r})
        assert diag.enabled
        for n in range(1000):
            diag.record_filter("s", f"S{{n}}", "f", 1.0, 2.0, False)
        # no close(), no flush(): configure() registered the shutdown, which closes the collector
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    [path] = tmp_path.glob("diag_exit_*.jsonl")
    assert len(path.read_bytes().splitlines()) == 1000


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_writes_its_own_events_once(collector: DiagnosticsCollector) -> None:
    collector.record_filter("s", "parent-before", "f", 1.0, 2.0, False)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child exits without returning to pytest
        try:
            for n in range(50):
                collector.record_filter("s", f"child-{n}", "f", 1.0, 2.0, False)
            os._exit(0 if collector.flush(10) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    collector.record_filter("s", "parent-after", "f", 1.0, 2.0, False)
    symbols = [line["symbol"] for line in journal(collector)]
    assert sorted(symbols) == sorted(["parent-before", "parent-after", *(f"child-{n}" for n in range(50))])


def test_the_pytest_plugin_captures_diagnostics(
    otel_capture: TelemetryCapture, diagnostics_collector: DiagnosticsCollector
) -> None:
    diagnostics_collector.record_filter("universe", "BTCUSDT", "min_volume", 1.0, 2.0, False)
    [event] = otel_capture.diagnostics()
    assert (event.reason, event.symbol, event.session_id) == ("filter:min_volume", "BTCUSDT", "test")
    assert diagnostics_collector.output_path.exists()


@pytest.mark.parametrize(
    ("value", "threshold", "passed"),
    [
        (95.0, 100.0, False),
        (150.0, 100.0, True),
        (0.05, 0.0, False),
        (50.0, 100.0, False),
        (-1.0, -2.0, True),
        (950_000, 1_000_000, False),
        (2**62, 1.5, True),
    ],
)
def test_the_plain_fast_path_writes_what_the_general_path_writes(
    capture: TelemetryCapture,
    collector: DiagnosticsCollector,
    monkeypatch: pytest.MonkeyPatch,
    value: float,
    threshold: float,
    passed: bool,
) -> None:
    sanitized: list[str] = []
    original = Sanitizer.payload

    def payload(self: Sanitizer, data: dict[Any, Any]) -> dict[str, Any]:
        if threading.current_thread().name == "otel-breakout-diagnostics":
            sanitized.append(data["filter"])
        return original(self, data)

    monkeypatch.setattr(Sanitizer, "payload", payload)
    with capture.telemetry.get_tracer().start_as_current_span("scan"):
        collector.record_filter("universe", "BTCUSDT", "fast", value, threshold, passed, direction="min")
        # An (empty) extra mapping takes the general path: sanitizer, inference, near-miss rule.
        collector.record_filter("universe", "BTCUSDT", "general", value, threshold, passed, {}, direction="min")
    fast, general = journal(collector)
    assert sanitized == ["general"]  # the first call really took the fast path
    fast["payload"]["filter"] = general["payload"]["filter"] = "f"
    for line in (fast, general):
        line["reason"] = line["reason"] and "filter:f"
    assert {**fast, "ts": 0} == {**general, "ts": 0}
    records = log_records(capture)
    if not passed:
        assert len(records) == 2
        fast_attributes, general_attributes = (dict(r.attributes) for r in records)
        assert fast_attributes.pop("breakout.diag.payload.filter") == "fast"
        assert fast_attributes.pop("breakout.diag.reason") == "filter:fast"
        assert general_attributes.pop("breakout.diag.payload.filter") == "general"
        assert general_attributes.pop("breakout.diag.reason") == "filter:general"
        assert fast_attributes == general_attributes
        assert [r.body.split()[1:2] for r in records] == [["failed"], ["failed"]]
    events = capture.diagnostics()
    assert {**events[0].payload, "filter": "f"} == {**events[1].payload, "filter": "f"}
    assert events[0].near_miss == events[1].near_miss


def test_the_span_budget_keeps_no_span_alive(capture: TelemetryCapture, collector: DiagnosticsCollector) -> None:
    import gc
    import weakref

    with capture.telemetry.get_tracer().start_as_current_span("scan") as span:
        collector.record_filter("s", "A", "f", 1.0, 2.0, False)
    collector.flush()
    ref = weakref.ref(span)
    del span
    capture.span_exporter.clear()
    gc.collect()
    assert ref() is None


def test_every_diagnostics_metric_is_in_the_catalogue(capture: TelemetryCapture, tmp_path: Path) -> None:
    from otel_breakout.catalogue import get_spec

    with capture.diagnostics_collector(tmp_path, queue_size=16) as diag:
        with capture.telemetry.get_tracer().start_as_current_span("scan"):
            for n in range(100):  # overflows the span budget, and (most likely) the queue
                diag.record_filter("s", f"S{n}", "f", 9.5, 10.0, False)
            diag.record_signal_condition("st", "A", "c", 1.0, 2.0, False)
        diag.flush()
    metrics = capture.metrics()
    assert {"breakout.diag.evaluations", "breakout.diag.reasons", "breakout.diag.near_misses"} <= set(metrics)
    assert "breakout.diag.dropped" in metrics
    for name, metric in metrics.items():
        spec = get_spec(name)
        assert metric.unit == spec.unit and metric.description == spec.description
        for point in metric.data.data_points:
            assert set(point.attributes or {}) <= set(spec.attributes), (name, point.attributes)


@pytest.mark.parametrize("candle_ts", [1_755_640_860.0, 1_755_640_860])
def test_a_filter_carries_its_candle_on_both_paths(
    capture: TelemetryCapture, collector: DiagnosticsCollector, candle_ts: float
) -> None:
    collector.record_filter(
        "liquidity", "BTCUSDT", "min_volume", 5.0, 10.0, False, direction="min", candle_ts=candle_ts
    )
    collector.record_filter(
        "liquidity", "BTCUSDT", "min_volume", 5.0, 10.0, False, {"candle_ts": "shadowed", "venue": "x"},
        direction="min", candle_ts=candle_ts,
    )  # fmt: skip
    fast, general = journal(collector)
    assert fast["payload"] == {"filter": "min_volume", "value": 5.0, "threshold": 10.0, "direction": "min",
                               "candle_ts": candle_ts}  # fmt: skip
    # An extra key may not overwrite the candle: it is kept beside it, as for every schema key.
    assert general["payload"] == {**fast["payload"], "extra_candle_ts": "shadowed", "venue": "x"}
    (record, _) = log_records(capture)
    assert record.attributes is not None and record.attributes["breakout.diag.payload.candle_ts"] == candle_ts


@pytest.mark.parametrize(("candle_ts", "close"), [(1_755_640_860.0, 101.25), (1_755_640_860, 100), (None, 99.5)])
def test_the_fast_path_with_a_candle_and_its_close_writes_what_the_general_path_writes(
    capture: TelemetryCapture, collector: DiagnosticsCollector, candle_ts: float | None, close: float
) -> None:
    kwargs: dict[str, Any] = {"direction": "min", "candle_ts": candle_ts, "close": close}
    collector.record_filter("liquidity", "BTCUSDT", "fast", 5.0, 10.0, False, **kwargs)
    collector.record_filter("liquidity", "BTCUSDT", "general", 5.0, 10.0, False, {}, **kwargs)
    fast, general = journal(collector)
    fast["payload"]["filter"] = general["payload"]["filter"] = "f"
    for line in (fast, general):
        line["reason"] = "filter:f"
    assert {**fast, "ts": 0} == {**general, "ts": 0}
    expected = {"filter": "f", "value": 5.0, "threshold": 10.0, "direction": "min", "close": close}
    if candle_ts is not None:
        expected["candle_ts"] = candle_ts
    assert fast["payload"] == expected
    # The close comes after the candle, in schema order, on both paths.
    assert list(fast["payload"])[-1] == "close"


def test_a_condition_carries_its_close_and_an_extra_close_is_kept_beside_it(
    capture: TelemetryCapture, collector: DiagnosticsCollector
) -> None:
    collector.record_signal_condition("momentum", "BTCUSDT", "volume", 1.5, 2.0, False, 1_755_640_860, close=101.0)
    collector.record_signal_condition(
        "momentum", "BTCUSDT", "volume", 1.5, 2.0, False, 1_755_640_860, {"close": "mine"}, close=101.0
    )
    # Without close=, a close in extra is the candle's close as far as the report is concerned.
    collector.record_filter("liquidity", "BTCUSDT", "min_volume", 5.0, 10.0, False, {"close": 99.0})
    first, second, third = journal(collector)
    assert first["payload"]["close"] == 101.0 and first["payload"]["candle_ts"] == 1_755_640_860
    assert second["payload"] == {**first["payload"], "extra_close": "mine"}
    assert third["payload"]["close"] == 99.0
    (record, *_) = log_records(capture)
    assert record.attributes is not None and record.attributes["breakout.diag.payload.close"] == 101.0
