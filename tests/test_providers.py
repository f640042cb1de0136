from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased

from otel_breakout import Settings
from otel_breakout._log_batches import LogBatchProcessor
from otel_breakout._providers import Providers, build_providers, sampler
from otel_breakout._resource import build_resource


def _build(environ: dict[str, str], **extra: object) -> Providers:
    settings = Settings.from_env(environ)
    return build_providers(settings, build_resource(settings), **extra)  # type: ignore[arg-type]


def _stop(built: Providers) -> None:
    built.tracer_provider.shutdown()
    built.meter_provider.shutdown()
    built.logger_provider.shutdown()


def test_each_signal_gets_its_batch_settings() -> None:
    built = _build(
        {
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_LOGS_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_BSP_MAX_QUEUE_SIZE": "17",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "5",
            "OTEL_BLRP_MAX_QUEUE_SIZE": "23",
            "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": "7",
            "OTEL_BLRP_SCHEDULE_DELAY": "250",
        }
    )
    try:
        (spans,) = built.tracer_provider._active_span_processor._span_processors
        (logs,) = built.logger_provider._multi_log_record_processor._log_record_processors
        assert isinstance(spans, BatchSpanProcessor) and isinstance(logs, LogBatchProcessor)
        assert (spans._batch_processor._max_queue_size, spans._batch_processor._max_export_batch_size) == (17, 5)
        assert (logs._batch_processor._max_queue_size, logs._batch_processor._max_export_batch_size) == (23, 7)
        assert logs._batch_processor._schedule_delay_millis == 250
        assert built.prometheus_reader is None and built.local_only
    finally:
        _stop(built)


def test_extra_processors_come_after_the_configured_ones_and_make_it_not_local() -> None:
    extra = SimpleSpanProcessor(InMemorySpanExporter())
    built = _build({"OTEL_TRACES_EXPORTER": "console"}, span_processors=[extra])
    try:
        processors = built.tracer_provider._active_span_processor._span_processors
        assert isinstance(processors[0], BatchSpanProcessor) and processors[1] is extra
        assert built.prometheus_reader is not None  # the default metrics exporter
        assert not built.local_only  # an outside processor may wait on anything
    finally:
        _stop(built)


def test_an_otlp_exporter_is_not_local() -> None:
    built = _build({"OTEL_LOGS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    try:
        assert not built.local_only
        assert [endpoint.address for endpoint in built.guards.endpoints] == ["127.0.0.1:9"]
    finally:
        _stop(built)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("always_on", ALWAYS_ON),
        ("always_off", ALWAYS_OFF),
        ("parentbased_always_off", ParentBased(ALWAYS_OFF)),
    ],
)
def test_sampler_names(name: str, expected: object) -> None:
    chosen = sampler(Settings.from_env({"OTEL_TRACES_SAMPLER": name}))
    assert chosen.get_description() == expected.get_description()  # type: ignore[attr-defined]


def test_ratio_sampler_takes_its_argument() -> None:
    chosen = sampler(Settings.from_env({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}))
    assert isinstance(chosen, TraceIdRatioBased) and chosen.rate == 0.25
