"""Exporters and readers chosen by ``OTEL_*_EXPORTER``, built from :class:`Settings` only.

Every OTLP argument is passed explicitly so that an ``environ`` given to ``configure()`` is the whole
truth: the OTLP exporters would otherwise fill gaps from ``os.environ`` behind our back.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter, LogRecordExporter
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
)
from opentelemetry.sdk.metrics.view import Aggregation, ExponentialBucketHistogramAggregation
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from otel_breakout._flush import PeriodicFlushingReader
from otel_breakout._outage import ExportGuards
from otel_breakout._settings import OtlpExporterSettings, Settings, Signal
from otel_breakout._views import cardinality_limits

__all__ = ["build_log_exporters", "build_metric_readers", "build_span_exporters"]

_C = AggregationTemporality.CUMULATIVE
_D = AggregationTemporality.DELTA
_TEMPORALITY: dict[str, dict[type, AggregationTemporality]] = {
    "cumulative": {},
    # As defined by the OTLP exporter specification for each preference.
    "delta": {
        Counter: _D,
        UpDownCounter: _C,
        Histogram: _D,
        ObservableCounter: _D,
        ObservableUpDownCounter: _C,
        ObservableGauge: _C,
    },
    "lowmemory": {
        Counter: _D,
        UpDownCounter: _C,
        Histogram: _D,
        ObservableCounter: _C,
        ObservableUpDownCounter: _C,
        ObservableGauge: _C,
    },
}


def _read(path: str | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


def _otlp_kwargs(otlp: OtlpExporterSettings) -> dict[str, Any]:
    timeout = otlp.timeout_ms / 1000 or None
    headers = dict(otlp.headers)
    if otlp.protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression

        return {
            "endpoint": otlp.endpoint,
            "headers": headers,
            "timeout": timeout,
            "compression": HttpCompression(otlp.compression),
            "certificate_file": otlp.certificate,
            "client_key_file": otlp.client_key,
            "client_certificate_file": otlp.client_certificate,
        }
    from grpc import Compression as GrpcCompression
    from grpc import ssl_channel_credentials

    insecure = otlp.insecure if otlp.insecure is not None else otlp.endpoint.startswith("http://")
    if otlp.endpoint.startswith("https://"):
        insecure = False
    credentials = None
    if not insecure:
        credentials = ssl_channel_credentials(
            root_certificates=_read(otlp.certificate),
            private_key=_read(otlp.client_key),
            certificate_chain=_read(otlp.client_certificate),
        )
    return {
        "endpoint": otlp.endpoint,
        "insecure": insecure,
        "credentials": credentials,
        "headers": headers,
        "timeout": timeout,
        "compression": GrpcCompression.Gzip if otlp.compression == "gzip" else GrpcCompression.NoCompression,
    }


def _entry_point(signal: Signal, name: str) -> Any:
    for ep in entry_points(group=f"opentelemetry_{signal}_exporter", name=name):
        return ep.load()
    raise LookupError(f"no opentelemetry_{signal}_exporter entry point named {name!r}")  # settings checked names


def build_span_exporters(settings: Settings, guards: ExportGuards | None = None) -> list[SpanExporter]:
    """The exporters ``OTEL_TRACES_EXPORTER`` names; with ``guards``, each OTLP one is wrapped by them."""
    exporters: list[SpanExporter] = []
    for name in settings.traces_exporters:
        if name == "otlp":
            kwargs = _otlp_kwargs(settings.otlp_traces)
            span_exporter: SpanExporter
            if settings.otlp_traces.protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans

                span_exporter = GrpcSpans(**kwargs)
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans

                span_exporter = HttpSpans(**kwargs)
            exporters.append(span_exporter if guards is None else guards.span(span_exporter, kwargs["endpoint"]))
        elif name == "console":
            exporters.append(ConsoleSpanExporter())
        else:
            exporters.append(_entry_point("traces", name)())
    return exporters


def build_log_exporters(settings: Settings, guards: ExportGuards | None = None) -> list[LogRecordExporter]:
    """The exporters ``OTEL_LOGS_EXPORTER`` names; with ``guards``, each OTLP one is wrapped by them."""
    exporters: list[LogRecordExporter] = []
    for name in settings.logs_exporters:
        if name == "otlp":
            kwargs = _otlp_kwargs(settings.otlp_logs)
            log_exporter: LogRecordExporter
            if settings.otlp_logs.protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs

                log_exporter = GrpcLogs(**kwargs)
            else:
                from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs

                log_exporter = HttpLogs(**kwargs)
            exporters.append(log_exporter if guards is None else guards.log(log_exporter, kwargs["endpoint"]))
        elif name == "console":
            exporters.append(ConsoleLogRecordExporter())
        else:
            exporters.append(_entry_point("logs", name)())
    return exporters


def build_metric_readers(
    settings: Settings, prometheus_reader: MetricReader | None, guards: ExportGuards | None = None
) -> list[MetricReader]:
    """Push readers for ``otlp``/``console``/entry points; ``prometheus`` is the pull reader passed in."""
    readers: list[MetricReader] = []
    for name in settings.metrics_exporters:
        exporter: MetricExporter
        if name == "prometheus":
            if prometheus_reader is not None:
                readers.append(prometheus_reader)
            continue
        if name == "otlp":
            kwargs = _otlp_kwargs(settings.otlp_metrics)
            kwargs["preferred_temporality"] = _TEMPORALITY[settings.metrics_temporality]
            aggregation: dict[type, Aggregation] = {}
            if settings.metrics_histogram_aggregation == "base2_exponential_bucket_histogram":
                aggregation[Histogram] = ExponentialBucketHistogramAggregation()
            kwargs["preferred_aggregation"] = aggregation
            if settings.otlp_metrics.protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics

                exporter = GrpcMetrics(**kwargs)
            else:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics

                exporter = HttpMetrics(**kwargs)
            if guards is not None:
                exporter = guards.metric(exporter, kwargs["endpoint"])
        elif name == "console":
            exporter = ConsoleMetricExporter()
        else:
            exporter = _entry_point("metrics", name)()
            if isinstance(exporter, MetricReader):  # e.g. a third-party pull reader
                readers.append(exporter)
                continue
        readers.append(
            PeriodicFlushingReader(
                exporter,
                export_interval_millis=settings.metric_export_interval_ms,
                export_timeout_millis=settings.metric_export_timeout_ms,
                cardinality_limits=cardinality_limits(settings.cardinality_limit),
            )
        )
    return readers
