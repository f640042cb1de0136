"""Start-up cost of a full ``Telemetry`` against the same providers written by hand with the SDK."""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from benchmarks._harness import Row, compare
from otel_breakout import Settings, Telemetry


def _ours() -> None:
    telemetry = Telemetry.create(Settings.from_env({}))
    telemetry.shutdown()


def _hand_written() -> None:
    resource = Resource.create({"service.name": "breakout-bot"})
    tracer_provider = TracerProvider(resource=resource)
    reader = PrometheusMetricReader(registry=CollectorRegistry(auto_describe=False))
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
    logger_provider = LoggerProvider(resource=resource)
    tracer_provider.shutdown()
    logger_provider.shutdown()
    meter_provider.shutdown()


def run(quick: bool) -> Iterator[Row]:
    loops = 20 if quick else 200

    def ours() -> None:
        for _ in range(loops):
            _ours()

    def baseline() -> None:
        for _ in range(loops):
            _hand_written()

    a, b = compare(ours, baseline, repeats=3 if quick else 7)
    yield Row("configure(): settings + providers + shutdown", a / loops, b / loops, "s", budget="<= 2x")
