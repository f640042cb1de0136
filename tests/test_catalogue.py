from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest
from opentelemetry.metrics import Counter, Histogram, UpDownCounter

from otel_breakout import LATENCY_BUCKETS_SECONDS
from otel_breakout.catalogue import (
    CATALOGUE,
    ENGINE_STATES,
    GROUPS,
    LEGACY_ALIASES,
    MetricSpec,
    UnknownMetricError,
    bucket_boundaries,
    create_instrument,
    get_spec,
    names_in,
    prometheus_name,
)
from otel_breakout.metrics import MetricsLogger, ResourceMonitor
from otel_breakout.testing import TelemetryCapture, capture_telemetry
from tests.support.binaries import require_binary

# OTel semantic-convention names that promtool's linter dislikes ("_count" suffix on a gauge). The issue
# names them, and Prometheus's own OTLP ingestion produces the same names, so we keep them; every
# other lint problem fails the test.
SEMCONV_COUNT_NAMES = {"process_thread_count", "process_open_file_descriptor_count"}


@pytest.fixture
def everything() -> Iterator[TelemetryCapture]:
    """One Telemetry with every catalogue instrument holding data."""
    capture = capture_telemetry()
    meter = capture.telemetry.get_meter()
    logger = MetricsLogger(capture.telemetry)
    monitor = ResourceMonitor(capture.telemetry)
    logger.set_state("IDLE")
    logger.set_state("SCANNING")
    with logger.cycle():
        logger.scan({"universe": 40, "volume": 12, "breakout": 2})
    logger.signal("momentum")
    logger.trade_opened("momentum")
    logger.trade_closed("momentum", -4.5)
    logger.update_equity(1000.0)
    logger.set_open_positions(1)
    with pytest.raises(UnknownMetricError):  # counted in breakout.metrics.dropped on its way out
        logger.record("breakout.nope", 1)
    monitor.run_once()
    monitor._actions.counter.add(1, {"action": "gc"})
    for spec in CATALOGUE:
        if spec.group == "diag":
            instrument = create_instrument(meter, spec.name)
            attributes = {key: "x" for key in spec.attributes}
            if isinstance(instrument, Counter):
                instrument.add(1, attributes)
    try:
        yield capture
    finally:
        capture.close()


def test_names_are_unique_and_well_formed() -> None:
    names = [spec.name for spec in CATALOGUE]
    assert len(names) == len(set(names))
    for spec in CATALOGUE:
        assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+", spec.name), spec.name
        assert spec.description.endswith("."), spec.name
        assert spec.group in GROUPS
        # Attribute keys of the metrics a bot records must be usable as keyword arguments.
        if spec.group in ("engine", "scanner", "trading"):
            for key in (*spec.attributes, *spec.optional_attributes):
                assert key.isidentifier(), (spec.name, key)
        for key, _ in spec.values:
            assert key in spec.attributes, (spec.name, key)
        if spec.signed:
            assert spec.kind == "histogram" and "outcome" in spec.attributes


def test_histograms_have_buckets_and_units_are_ucum() -> None:
    for spec in CATALOGUE:
        assert spec.unit in ("s", "By", "1") or re.fullmatch(r"\{[a-z_]+\}", spec.unit), (spec.name, spec.unit)
        if spec.kind == "histogram":
            buckets = bucket_boundaries(spec)
            assert buckets is not None and list(buckets) == sorted(buckets) and buckets[0] > 0, spec.name
    assert bucket_boundaries(get_spec("breakout.engine.cycle.duration")) == LATENCY_BUCKETS_SECONDS
    assert LATENCY_BUCKETS_SECONDS[0] == 0.001 and LATENCY_BUCKETS_SECONDS[-1] == 10.0
    assert bucket_boundaries(get_spec("breakout.equity")) is None


def test_issue_metrics_are_all_there() -> None:
    names = {spec.name for spec in CATALOGUE}
    assert {
        "breakout.engine.cycle.duration",
        "breakout.engine.cycles",
        "breakout.engine.state",
        "breakout.engine.state.transitions",
        "breakout.engine.cycles_since_signal",
        "breakout.engine.last_cycle.timestamp",
        "breakout.scanner.symbols.scanned",
        "breakout.scanner.candidates",
        "breakout.signals",
        "breakout.trades.opened",
        "breakout.trades.closed",
        "breakout.trade.pnl",
        "breakout.equity",
        "breakout.drawdown",
        "breakout.positions.open",
        "process.cpu.utilization",
        "process.memory.usage",
        "process.thread.count",
        "process.open_file_descriptor.count",
        "system.cpu.utilization",
        "system.memory.utilization",
        "system.filesystem.utilization",
    } <= names
    assert get_spec("breakout.engine.state").allowed_values("state") == ENGINE_STATES
    assert names_in("engine")[0] == "breakout.engine.cycle.duration"
    assert set(names_in("diag")) == {s.name for s in CATALOGUE if s.name.startswith("breakout.diag.")}
    assert sum(len(names_in(group)) for group in GROUPS) == len(CATALOGUE)
    for spec in CATALOGUE:
        if spec.group in ("engine", "scanner", "trading"):
            assert "symbol" not in spec.attributes, f"{spec.name}: symbol must stay opt-in"


def test_get_spec_explains_unknown_names_and_accepts_seed_aliases() -> None:
    for alias, name in LEGACY_ALIASES.items():
        assert get_spec(alias).name == name
    with pytest.raises(UnknownMetricError) as caught:
        get_spec("breakout.signal")
    message = str(caught.value)
    assert message.startswith("'breakout.signal' is not in the otel-breakout metric catalogue")
    assert "breakout.signals" in message
    assert isinstance(caught.value, KeyError)


def test_create_instrument_builds_sync_instruments_with_advisory_buckets() -> None:
    capture = capture_telemetry()
    try:
        meter = capture.telemetry.get_meter()
        assert isinstance(create_instrument(meter, "breakout.diag.evaluations"), Counter)
        histogram = create_instrument(meter, "breakout.trade.pnl")
        assert isinstance(histogram, Histogram)
        histogram.record(3.0, {"strategy": "momentum", "outcome": "win"})
        point = next(iter(capture.metric_points("breakout.trade.pnl").values()))
        assert tuple(point.explicit_bounds) == get_spec("breakout.trade.pnl").buckets
        assert isinstance(create_instrument(meter, "process.memory.usage"), UpDownCounter)
        with pytest.raises(ValueError, match="observable"):
            create_instrument(meter, "breakout.equity")
    finally:
        capture.close()


def _families(text: str) -> dict[str, str]:
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


def test_prometheus_names_match_the_real_exposition(everything: TelemetryCapture) -> None:
    families = _families(everything.telemetry.prometheus_text().decode())
    expected_type = {"counter": "counter", "updown_counter": "gauge", "gauge": "gauge", "histogram": "histogram"}
    for spec in CATALOGUE:
        name = prometheus_name(spec)
        assert families.get(name) == expected_type[spec.kind], (spec.name, name, sorted(families))
    assert set(families) - {prometheus_name(spec) for spec in CATALOGUE} == {"target_info"}


def test_every_catalogue_instrument_reaches_the_in_memory_reader(everything: TelemetryCapture) -> None:
    collected = everything.metrics()
    assert set(collected) == {spec.name for spec in CATALOGUE}
    for spec in CATALOGUE:
        metric = collected[spec.name]
        assert metric.unit == spec.unit and metric.description == spec.description, spec.name
        for point in metric.data.data_points:
            keys = set(point.attributes or {})
            assert keys <= set(spec.attributes) | set(spec.optional_attributes), (spec.name, keys)


@pytest.mark.integration
def test_the_whole_catalogue_passes_promtool(everything: TelemetryCapture) -> None:
    promtool = require_binary("promtool")
    text = everything.telemetry.prometheus_text()
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=60)
    problems = [line for line in result.stderr.decode().splitlines() + result.stdout.decode().splitlines() if line]
    unexpected = [
        p for p in problems if not (p.split(" ", 1)[0] in SEMCONV_COUNT_NAMES and 'should not have "_count"' in p)
    ]
    assert unexpected == [], unexpected
    # Exactly the documented exceptions, so a fixed linter or a renamed metric shows up here.
    assert sorted(p.split(" ", 1)[0] for p in problems) == sorted(SEMCONV_COUNT_NAMES)
    assert result.returncode in (0, 3)


def test_prometheus_name_rules() -> None:
    def spec(name: str, kind: str, unit: str) -> MetricSpec:
        return MetricSpec(name, kind, unit, (), "x.")  # type: ignore[arg-type]  # kind from a literal table

    assert prometheus_name(spec("a.b", "histogram", "s")) == "a_b_seconds"
    assert prometheus_name(spec("a.b_seconds", "gauge", "s")) == "a_b_seconds"
    assert prometheus_name(spec("a.b", "counter", "By")) == "a_b_bytes_total"
    assert prometheus_name(spec("a.b_total", "counter", "1")) == "a_b_total"
    assert prometheus_name(spec("a.b", "gauge", "1")) == "a_b_ratio"
    assert prometheus_name(spec("a.b", "updown_counter", "1")) == "a_b"
    assert prometheus_name(spec("a..b", "updown_counter", "{thing}")) == "a_b"
    assert prometheus_name(spec("a.b", "gauge", "m/s")) == "a_b_meters_per_second"
    assert prometheus_name(spec("a.b", "counter", "{request}/s")) == "a_b_per_second_total"


def test_seed_aliases_is_a_deprecated_name_for_legacy_aliases() -> None:
    import otel_breakout.catalogue as catalogue

    with pytest.warns(
        DeprecationWarning, match=r"otel_breakout\.catalogue\.SEED_ALIASES is deprecated; use LEGACY_ALIASES"
    ):
        old = catalogue.SEED_ALIASES
    assert old is LEGACY_ALIASES
    assert "SEED_ALIASES" not in catalogue.__all__  # a star import must not warn
    with pytest.raises(AttributeError, match="has no attribute 'NO_SUCH_NAME'"):
        catalogue.NO_SUCH_NAME  # noqa: B018  # the attribute access is the test
