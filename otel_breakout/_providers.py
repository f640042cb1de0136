"""The SDK providers a :class:`Settings` asks for: sampler, batch processors, metric readers and views, one resource."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased

from otel_breakout._exporters import build_log_exporters, build_metric_readers, build_span_exporters
from otel_breakout._log_batches import LogBatchProcessor
from otel_breakout._outage import ExportGuards
from otel_breakout._prometheus import PrometheusPullReader
from otel_breakout._settings import BatchSettings, Settings
from otel_breakout._views import cardinality_limits, latency_views

__all__ = ["Providers", "build_providers", "sampler"]

# Exporters with no backend that could keep a shutdown waiting.
_LOCAL_EXPORTERS = frozenset({"console", "prometheus"})
_Processor = TypeVar("_Processor")


@dataclass(frozen=True, slots=True)
class Providers:
    """What :func:`build_providers` built; ``local_only`` when nothing waits on anything outside the process."""

    tracer_provider: SdkTracerProvider
    meter_provider: SdkMeterProvider
    logger_provider: SdkLoggerProvider
    prometheus_reader: PrometheusPullReader | None
    guards: ExportGuards
    local_only: bool


def sampler(settings: Settings) -> Sampler:
    """``OTEL_TRACES_SAMPLER`` and its argument as a sampler (the settings checked the name)."""
    name, ratio = settings.sampler, settings.sampler_arg
    root: Sampler = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": TraceIdRatioBased(ratio),
    }.get(name.removeprefix("parentbased_"), ALWAYS_ON)
    return ParentBased(root) if name.startswith("parentbased_") else root


def _batched(build: Callable[..., _Processor], exporters: Sequence[Any], batch: BatchSettings) -> list[_Processor]:
    """One batch processor per exporter, sized by ``OTEL_BSP_*`` or ``OTEL_BLRP_*``."""
    return [
        build(
            exporter,
            max_queue_size=batch.max_queue_size,
            schedule_delay_millis=batch.schedule_delay_ms,
            max_export_batch_size=batch.max_export_batch_size,
            export_timeout_millis=batch.export_timeout_ms,
        )
        for exporter in exporters
    ]


def build_providers(
    settings: Settings,
    resource: Resource,
    *,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
    log_processors: Sequence[LogRecordProcessor] = (),
) -> Providers:
    """Providers for the exporters the settings name, then the extra processors and readers given.

    None of them registers the SDK's own exit hooks (unbounded): the ``Telemetry`` that owns them stops them
    within its budget. Log exporters get a :class:`LogBatchProcessor` (the SDK's batch processor, without the
    per-record copy for diagnostics records).
    """
    guards = ExportGuards()
    tracer_provider = SdkTracerProvider(resource=resource, sampler=sampler(settings), shutdown_on_exit=False)
    for span_processor in (
        *_batched(BatchSpanProcessor, build_span_exporters(settings, guards), settings.bsp),
        *span_processors,
    ):
        tracer_provider.add_span_processor(span_processor)

    limits = cardinality_limits(settings.cardinality_limit)
    pull = PrometheusPullReader(cardinality_limits=limits) if "prometheus" in settings.metrics_exporters else None
    readers = [*build_metric_readers(settings, pull, guards), *metric_readers]
    meter_provider = SdkMeterProvider(
        metric_readers=readers, resource=resource, views=latency_views(), shutdown_on_exit=False
    )

    logger_provider = SdkLoggerProvider(resource=resource, shutdown_on_exit=False)
    for log_processor in (
        *_batched(LogBatchProcessor, build_log_exporters(settings, guards), settings.blrp),
        *log_processors,
    ):
        logger_provider.add_log_record_processor(log_processor)

    local_only = not (span_processors or metric_readers or log_processors) and _LOCAL_EXPORTERS.issuperset(
        (*settings.traces_exporters, *settings.logs_exporters, *settings.metrics_exporters)
    )
    return Providers(tracer_provider, meter_provider, logger_provider, pull, guards, local_only)
