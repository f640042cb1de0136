from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as _parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.utils import floatToGoString as _go_float

from otel_breakout._exposition import ExpositionWriter, format_value
from otel_breakout.catalogue import CATALOGUE, IDENTITY_ATTRIBUTES, prometheus_name
from otel_breakout.testing import capture_telemetry
from tests.support.binaries import require_binary


def parse_openmetrics(text: str) -> Iterator[Metric]:
    families: Iterator[Metric] = _parse_openmetrics(text)  # type: ignore[no-untyped-call]  # untyped upstream
    return families


def floatToGoString(value: float) -> str:  # the upstream name, for the comparison
    text: str = _go_float(value)  # type: ignore[no-untyped-call]  # untyped upstream
    return text


RESOURCE = Resource.create({"service.name": "unit", "deployment.environment": 'prod "eu"'})


class Pair:
    """One meter provider feeding our writer and the OTel Prometheus exporter (the reference) alike."""

    def __init__(self, views: list[View] | None = None) -> None:
        self.reader = InMemoryMetricReader()
        self.registry = CollectorRegistry(auto_describe=False)
        self.reference = PrometheusMetricReader(registry=self.registry)
        self.provider = MeterProvider(
            metric_readers=[self.reader, self.reference], resource=RESOURCE, views=views or []
        )
        self.writer = ExpositionWriter()

    def meter(self, name: str = "otel_breakout", version: str = "0.1.0") -> Meter:
        return self.provider.get_meter(name, version)

    def ours(self, *, openmetrics: bool = False) -> str:
        return self.writer.write(self.reader.get_metrics_data(), openmetrics=openmetrics).decode()

    def theirs(self) -> str:
        return generate_latest(self.registry).decode()

    def close(self) -> None:
        self.provider.shutdown()


@pytest.fixture
def pair() -> Iterator[Pair]:
    pair = Pair()
    yield pair
    pair.close()


def record_catalogue(meter: Meter) -> None:
    for spec in CATALOGUE:
        attributes = {key: f"{key}-value" for key in spec.attributes}
        if spec.kind == "counter":
            meter.create_counter(spec.name, spec.unit, spec.description).add(3, attributes)
        elif spec.kind == "updown_counter":
            meter.create_up_down_counter(spec.name, spec.unit, spec.description).add(-2, attributes)
        elif spec.kind == "gauge":
            meter.create_gauge(spec.name, spec.unit, spec.description).set(0.25, attributes)
        else:
            histogram = meter.create_histogram(
                spec.name, spec.unit, spec.description, explicit_bucket_boundaries_advisory=spec.buckets
            )
            for value in (0.004, 0.3, 2.0, 40.0):
                histogram.record(value, attributes)


def samples(text: str, *, rename: dict[str, str] | None = None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample keyed by (name, labels without empty values), as Prometheus would store it."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in parse_text(text):
        for sample in family.samples:
            name = (rename or {}).get(sample.name, sample.name)
            labels = frozenset((k, v) for k, v in sample.labels.items() if v != "")
            # le="1.0" and le="1" are one bucket.
            if "le" in sample.labels:
                labels = frozenset((k, str(float(v)) if k == "le" else v) for k, v in labels)
            found[(name, labels)] = sample.value
    return found


def test_same_samples_as_the_otel_exporter(pair: Pair) -> None:
    record_catalogue(pair.meter())
    other = pair.meter("third.party", "2.0")
    other.create_counter("http.requests", "{request}", "Requests.").add(5, {"path": "/a\\b", "ok": True, "n": 3})
    other.create_up_down_counter("queue.depth", "{item}", "Depth.").add(-4, {"q": 'say "hi"\nbye'})
    other.create_counter("bytes_total", "By").add(10, {"tags": ("a", "b")})
    ours, theirs = pair.ours(), pair.theirs()
    # Gauges with unit "1" get _ratio here (the specification and the catalogue); the exporter leaves it out.
    ratio = {prometheus_name(s).removesuffix("_ratio"): prometheus_name(s) for s in CATALOGUE if s.unit == "1"}
    assert samples(ours) == samples(theirs, rename=ratio)


def test_catalogue_names_are_what_we_expose(pair: Pair) -> None:
    record_catalogue(pair.meter())
    families = {family.name: family for family in parse_text(pair.ours())}
    for spec in CATALOGUE:
        name = prometheus_name(spec)
        family = families[name.removesuffix("_total")] if spec.kind == "counter" else families[name]
        assert family.documentation == spec.description, spec.name
        expected = {"counter": "counter", "histogram": "histogram"}.get(spec.kind, "gauge")
        assert family.type == expected, spec.name


def test_openmetrics_parses_strictly_and_keeps_units(pair: Pair) -> None:
    record_catalogue(pair.meter())
    text = pair.ours(openmetrics=True)
    assert text.endswith("# EOF\n")
    families = {family.name: family for family in parse_openmetrics(text)}
    assert families["breakout_engine_cycle_duration_seconds"].unit == "seconds"
    assert families["breakout_engine_cycles"].type == "counter"
    assert families["target"].type == "info"
    assert families["target"].samples[0].labels["service_name"] == "unit"
    assert families["breakout_drawdown_ratio"].unit == "ratio"
    assert {s.name for s in families["breakout_trade_pnl"].samples} >= {"breakout_trade_pnl_sum"}
    assert "breakout_engine_cycle_duration_seconds_sum" in {
        s.name for s in families["breakout_engine_cycle_duration_seconds"].samples
    }


def test_histograms_with_negative_buckets_have_no_sum_or_count(pair: Pair) -> None:
    signed = pair.meter().create_histogram(
        "slippage", "{tick}", "Signed.", explicit_bucket_boundaries_advisory=[-5, 0, 5]
    )
    signed.record(3)
    # OpenMetrics allows no _sum or _count on a histogram with negative buckets; neither format has them.
    (family,) = [f for f in parse_openmetrics(pair.ours(openmetrics=True)) if f.name == "slippage"]
    assert {s.name for s in family.samples} == {"slippage_bucket"}
    assert "slippage_sum" not in pair.ours() and "slippage_count" not in pair.ours()


def test_escaping_round_trips(pair: Pair) -> None:
    nasty = 'back\\slash "quoted"\nnew line ünïcødé'
    pair.meter().create_gauge("odd.gauge", "{x}", 'help with \\ and "quotes"\nand a line').set(1, {"v": nasty})
    for text, parse in ((pair.ours(), parse_text), (pair.ours(openmetrics=True), parse_openmetrics)):
        (family,) = [f for f in parse(text) if f.name == "odd_gauge"]
        assert family.samples[0].labels["v"] == nasty
        assert family.documentation == 'help with \\ and "quotes"\nand a line'


def test_label_names_that_clash_after_sanitising_are_joined(pair: Pair) -> None:
    pair.meter().create_counter("clash").add(1, {"a.b": "first", "a_b": "second"})
    (family,) = [f for f in parse_text(pair.ours()) if f.name == "clash"]
    assert family.samples[0].labels["a_b"] == "first;second"


def test_counter_names_and_units_are_not_doubled(pair: Pair) -> None:
    meter = pair.meter()
    meter.create_counter("already_total").add(1)
    meter.create_counter("wait_seconds_total", "s").add(1)
    meter.create_gauge("size_bytes", "By").set(3)
    meter.create_counter("hits/x-y", "1").add(1)
    meter.create_gauge("speed", "m/s").set(2)
    names = {s.name for f in parse_text(pair.ours()) for s in f.samples}
    assert {"already_total", "wait_seconds_total", "size_bytes", "hits_x_y_total", "speed_meters_per_second"} <= names


def test_repeated_writes_reuse_labels_and_follow_changes(pair: Pair) -> None:
    counter = pair.meter().create_counter("c")
    attributes = {"symbol": "BTCUSDT"}
    counter.add(1, attributes)
    first = pair.ours()
    counter.add(1, attributes)
    counter.add(5, {"symbol": 'ETH"USDT'})
    second = pair.ours()
    scope = 'otel_scope_name="otel_breakout",otel_scope_schema_url="",otel_scope_version="0.1.0"'
    assert f'c_total{{{scope},symbol="BTCUSDT"}} 1.0' in first
    assert 'symbol="BTCUSDT"} 2.0' in second and 'symbol="ETH\\"USDT"} 5.0' in second


def test_no_metrics() -> None:
    writer = ExpositionWriter()
    assert writer.write(None) == b""
    assert writer.write(None, openmetrics=True) == b"# EOF\n"


def test_target_info_and_scope_labels_can_be_left_out() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], resource=RESOURCE)
    provider.get_meter("m").create_counter("c").add(1)
    text = ExpositionWriter(target_info=False, scope_labels=False).write(reader.get_metrics_data()).decode()
    assert text == "# HELP c_total \n# TYPE c_total counter\nc_total 1.0\n"
    provider.shutdown()


def test_exponential_histograms_are_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    pair = Pair(views=[View(instrument_name="expo", aggregation=ExponentialBucketHistogramAggregation())])
    try:
        pair.meter().create_histogram("expo").record(1.5)
        pair.meter().create_counter("kept").add(1)
        text = pair.ours()
        assert "expo" not in text and "kept_total" in text
        assert "ExponentialHistogram has no Prometheus form" in caplog.text
    finally:
        pair.close()


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(min_value=-(2**62), max_value=2**62))
def test_values_are_formatted_like_go(value: float) -> None:
    assert format_value(value) == floatToGoString(value)


def test_special_values() -> None:
    assert [format_value(v) for v in (math.inf, -math.inf, math.nan, 3, 1234567.0)] == [
        "+Inf", "-Inf", "NaN", "3.0", "1.234567e+06",
    ]  # fmt: skip


# promtool's naming lint dislikes `_count` on gauges; these names come from the OTel semantic conventions
# (process.thread.count, process.open_file_descriptor.count), so they stay. Anything else fails the test.
CONVENTION_LINTS = {
    'process_open_file_descriptor_count non-histogram and non-summary metrics should not have "_count" suffix',
    'process_thread_count non-histogram and non-summary metrics should not have "_count" suffix',
}


@pytest.mark.integration
def test_promtool_accepts_the_text_format(pair: Pair) -> None:
    promtool = require_binary("promtool")
    record_catalogue(pair.meter())
    pair.meter().create_gauge("odd.value", "{x}", 'help \\ "q"\nline').set(1, {"v": 'a\\b"c\nd'})
    result = subprocess.run(
        [promtool, "check", "metrics"], input=pair.ours(), capture_output=True, text=True, timeout=60
    )
    # Exit 1 is a parse error; 3 means lint findings only.
    assert result.returncode in (0, 3), result.stdout + result.stderr
    findings = {line for line in (result.stdout + result.stderr).splitlines() if line.strip()}
    assert findings <= CONVENTION_LINTS


def test_the_telemetry_pull_reader_uses_this_writer() -> None:
    capture = capture_telemetry()
    try:
        capture.telemetry.get_meter().create_gauge("breakout.drawdown", "1", "Drawdown.").set(0.1)
        text: Any = capture.telemetry.prometheus_text().decode()
        assert "breakout_drawdown_ratio{" in text
        assert capture.telemetry.prometheus_text(openmetrics=True).endswith(b"# EOF\n")
    finally:
        capture.close()


def test_openmetrics_carries_exemplars_of_traced_measurements() -> None:
    capture = capture_telemetry()
    try:
        meter = capture.telemetry.get_meter()
        histogram = meter.create_histogram("breakout.engine.cycle.duration", "s", "Cycle.")
        counter = meter.create_counter("breakout.signals", "{signal}", "Signals.")
        histogram.record(0.5)  # outside any span: no exemplar
        with capture.telemetry.get_tracer().start_as_current_span("engine.cycle") as span:
            histogram.record(0.03)
            counter.add(1, {"strategy": "momentum"})
        context = span.get_span_context()
        text = capture.telemetry.prometheus_text(openmetrics=True).decode()
        families = {family.name: family for family in parse_openmetrics(text)}
        expected = {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
        buckets = families["breakout_engine_cycle_duration_seconds"].samples
        with_exemplars = [(s.labels.get("le"), s.exemplar) for s in buckets if s.exemplar is not None]
        assert len(with_exemplars) == 1
        le, exemplar = with_exemplars[0]
        assert le == "0.05" and exemplar.labels == expected and exemplar.value == 0.03
        (signal,) = [s for s in families["breakout_signals"].samples if s.name == "breakout_signals_total"]
        assert signal.exemplar is not None and signal.exemplar.labels == expected
        # The text format has no exemplars.
        assert "trace_id" not in capture.telemetry.prometheus_text().decode()
    finally:
        capture.close()


def _identity_text(resource: Resource, attributes: dict[str, str] | None = None) -> str:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], resource=resource)
    try:
        meter = provider.get_meter("m")
        meter.create_counter("c").add(1, attributes or {})
        meter.create_histogram("h", unit="s").record(0.5)
        writer = ExpositionWriter(scope_labels=False, resource_labels=IDENTITY_ATTRIBUTES)
        return writer.write(reader.get_metrics_data()).decode()
    finally:
        provider.shutdown()


def test_identity_attributes_label_every_series_and_target_info_keeps_the_whole_resource() -> None:
    resource = Resource.create(
        {"service.name": "bot-a", "service.instance.id": "i-1", "deployment.environment.name": "prod", "x.y": "z"}
    )
    text = _identity_text(resource)
    identity = 'deployment_environment_name="prod",service_instance_id="i-1",service_name="bot-a"'
    assert f"c_total{{{identity}}} 1.0\n" in text
    # le keeps its place in name order, as prometheus_client writes bucket lines.
    assert 'h_seconds_bucket{deployment_environment_name="prod",le="+Inf",service_instance_id="i-1",' in text
    assert f"h_seconds_count{{{identity}}} 1.0\n" in text
    (target,) = [line for line in text.splitlines() if line.startswith("target_info{")]
    assert 'x_y="z"' in target and 'service_name="bot-a"' in target


def test_identity_labels_skip_absent_attributes_and_yield_to_point_attributes() -> None:
    text = _identity_text(Resource({"service.name": "bot-a"}), {"service.name": "from-the-point"})
    (line,) = [line for line in text.splitlines() if line.startswith("c_total{")]
    # Neither environment nor instance id in the resource: no empty labels.
    assert line == 'c_total{service_name="from-the-point"} 1.0'


def test_the_pull_reader_labels_series_with_the_identity_by_default() -> None:
    from otel_breakout._prometheus import PrometheusPullReader

    resource = Resource.create({"service.name": "bot-b", "service.instance.id": "i-2"})
    for reader, labelled in ((PrometheusPullReader(), True), (PrometheusPullReader(resource_labels=()), False)):
        provider = MeterProvider(metric_readers=[reader], resource=resource)
        try:
            provider.get_meter("m").create_counter("c").add(2)
            (line,) = [line for line in reader.render().decode().splitlines() if line.startswith("c_total")]
            assert ('service_instance_id="i-2",service_name="bot-b"' in line) is labelled
        finally:
            provider.shutdown()
