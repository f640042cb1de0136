from __future__ import annotations

from opentelemetry.sdk.metrics.export import HistogramDataPoint

from otel_breakout import LATENCY_BUCKETS_SECONDS
from otel_breakout.testing import capture_telemetry


def test_histograms_in_seconds_get_latency_buckets() -> None:
    capture = capture_telemetry()
    histogram = capture.telemetry.get_meter().create_histogram("breakout.engine.cycle.duration", unit="s")
    for value in (0.0005, 0.003, 0.2, 12.0):
        histogram.record(value)
    (point,) = capture.metric_points("breakout.engine.cycle.duration").values()
    assert isinstance(point, HistogramDataPoint)
    assert tuple(point.explicit_bounds) == LATENCY_BUCKETS_SECONDS
    assert point.explicit_bounds[0] == 0.001 and point.explicit_bounds[-1] == 10.0
    assert point.count == 4
    assert point.bucket_counts[0] == 1  # 0.5 ms
    assert point.bucket_counts[-1] == 1  # 12 s overflows into +Inf
    capture.close()


def test_other_histograms_keep_their_advice() -> None:
    capture = capture_telemetry()
    pnl = capture.telemetry.get_meter().create_histogram(
        "breakout.trade.pnl", unit="{quote}", explicit_bucket_boundaries_advisory=[1.0, 10.0, 100.0]
    )
    pnl.record(3.0)
    (point,) = capture.metric_points("breakout.trade.pnl").values()
    assert tuple(point.explicit_bounds) == (1.0, 10.0, 100.0)
    capture.close()


def test_cardinality_limit_folds_new_attribute_sets_into_overflow() -> None:
    capture = capture_telemetry(cardinality_limit=10)
    counter = capture.telemetry.get_meter().create_counter("breakout.signals")
    for i in range(100):
        counter.add(1, {"symbol": f"SYM{i}"})
    counter.add(5, {"symbol": "SYM0"})  # a known set keeps counting on its own series
    points = capture.metric_points("breakout.signals")
    assert len(points) == 11  # ten attribute sets, then the overflow point
    overflow = points[frozenset({("otel.metric.overflow", True)})]
    assert overflow == 90
    assert points[frozenset({("symbol", "SYM0")})] == 6
    assert sum(points.values()) == 105  # nothing lost, only folded
    capture.close()


def test_cardinality_limit_reaches_the_pull_reader() -> None:
    from otel_breakout import Settings, Telemetry

    telemetry = Telemetry.create(Settings.from_env({"OTEL_BREAKOUT_METRIC_CARDINALITY_LIMIT": "5"}))
    counter = telemetry.get_meter().create_counter("breakout.signals", description="Signals.")
    for i in range(50):
        counter.add(1, {"symbol": f"SYM{i}"})
    text = telemetry.prometheus_text().decode()
    telemetry.shutdown()
    series = [line for line in text.splitlines() if line.startswith("breakout_signals_total")]
    assert len(series) == 6
    assert any('otel_metric_overflow="true"' in line and line.endswith(" 45.0") for line in series)


def test_cardinality_limit_applies_to_histograms_too() -> None:
    capture = capture_telemetry(cardinality_limit=3)
    histogram = capture.telemetry.get_meter().create_histogram("breakout.engine.cycle.duration", unit="s")
    for i in range(20):
        histogram.record(0.01, {"order_id": str(i)})
    points = capture.metric_points("breakout.engine.cycle.duration")
    assert len(points) == 4
    assert sum(p.count for p in points.values()) == 20
    capture.close()
