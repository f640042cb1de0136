"""The OpenTelemetry specification's variables, each declared once (per-signal OTLP ones derived from the generic).

The rules that combine them (endpoint per signal, headers, batch sizes, exporter names) are in
:mod:`otel_breakout._settings_otlp`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from otel_breakout._setting import Variable

__all__ = [
    "BLRP",
    "BSP",
    "BUILTIN_EXPORTERS",
    "EXPORTERS",
    "HISTOGRAM_AGGREGATION",
    "METRIC_EXPORT_INTERVAL",
    "METRIC_EXPORT_TIMEOUT",
    "OTEL_VARIABLES",
    "OTLP",
    "RESOURCE_ARGUMENTS",
    "RESOURCE_ATTRIBUTES",
    "SAMPLER",
    "SAMPLER_ARG",
    "SDK_DISABLED",
    "SERVICE_NAME",
    "SIGNALS",
    "SIGNAL_OTLP",
    "TEMPORALITY",
    "BatchSettings",
    "OtlpExporterSettings",
    "Protocol",
    "Signal",
    "batch_defaults",
]

Protocol = Literal["grpc", "http/protobuf"]
Signal = Literal["traces", "metrics", "logs"]
SIGNALS: tuple[Signal, ...] = ("traces", "metrics", "logs")
# configure() keywords that set resource attributes rather than a variable.
RESOURCE_ARGUMENTS = {"service_version": "service.version", "service_instance_id": "service.instance.id"}


@dataclass(frozen=True, slots=True)
class OtlpExporterSettings:
    """Resolved OTLP exporter settings for one signal."""

    endpoint: str
    protocol: Protocol
    headers: tuple[tuple[str, str], ...] = ()
    timeout_ms: int = 10_000
    compression: Literal["none", "gzip"] = "none"
    insecure: bool | None = None
    certificate: str | None = None
    client_key: str | None = None
    client_certificate: str | None = None


@dataclass(frozen=True, slots=True)
class BatchSettings:
    """Batch processor settings (``OTEL_BSP_*`` for spans, ``OTEL_BLRP_*`` for log records)."""

    schedule_delay_ms: int
    export_timeout_ms: int
    max_queue_size: int
    max_export_batch_size: int


def _otel(name: str, default: Any, description: str, **rule: Any) -> Variable[Any]:
    return Variable(name, default, description, on_invalid=rule.pop("on_invalid", "warn"), **rule)


SDK_DISABLED = _otel(
    "OTEL_SDK_DISABLED",
    False,
    "`true` turns every signal into a no-op: no threads, no servers, no files",
    kind="bool",
    argument="sdk_disabled",
)
SERVICE_NAME = _otel("OTEL_SERVICE_NAME", "breakout-bot", "`service.name` resource attribute", argument="service_name")
RESOURCE_ATTRIBUTES = _otel(
    "OTEL_RESOURCE_ATTRIBUTES",
    (),
    "extra resource attributes, `k=v,k2=v2` (percent-encoded values)",
    kind="rule",
    shown="",
    argument="resource_attributes",
)
BUILTIN_EXPORTERS: dict[Signal, tuple[str, ...]] = {
    "traces": ("otlp", "console", "none"),
    "metrics": ("prometheus", "otlp", "console", "none"),
    "logs": ("otlp", "console", "none"),
}
_PUSH_ONLY = "`otlp` if an OTLP endpoint is set, else `none`"
_EXPORTER_DOCS: tuple[tuple[Signal, str, str], ...] = (
    ("traces", _PUSH_ONLY, "comma list of `otlp`, `console`, `none` or an installed exporter entry point"),
    (
        "metrics",
        "`prometheus`, plus `otlp` if an OTLP endpoint is set",
        "comma list of `prometheus` (pull, served by the API), `otlp`, `console`, `none`",
    ),
    ("logs", _PUSH_ONLY, "comma list of `otlp`, `console`, `none`"),
)
EXPORTERS: dict[Signal, Variable[Any]] = {
    signal: _otel(
        f"OTEL_{signal.upper()}_EXPORTER",
        (),
        description,
        kind="rule",
        on_invalid="error",  # a silent default would lose the whole signal
        shown=shown,
        argument=f"{signal}_exporter",
    )
    for signal, shown, description in _EXPORTER_DOCS
}
# The generic OTLP variables, by the suffix their per-signal variants share.
OTLP: dict[str, Variable[Any]] = {
    "ENDPOINT": _otel(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        None,
        "base endpoint for every signal; HTTP appends `/v1/<signal>`",
        kind="rule",
        shown="unset (gRPC `http://localhost:4317`, HTTP `http://localhost:4318`)",
        argument="otlp_endpoint",
    ),
    "PROTOCOL": _otel(
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "grpc",
        "`grpc` or `http/protobuf`",
        kind="choice",
        choices=("grpc", "http/protobuf"),
        argument="otlp_protocol",
    ),
    "HEADERS": _otel(
        "OTEL_EXPORTER_OTLP_HEADERS",
        (),
        "`k=v,k2=v2` sent with every export (masked by `otel-breakout env`)",
        kind="rule",
        secret=True,
        shown="",
        argument="otlp_headers",
    ),
    "TIMEOUT": _otel(
        "OTEL_EXPORTER_OTLP_TIMEOUT", 10_000, "export timeout in milliseconds", kind="int", argument="otlp_timeout_ms"
    ),
    "COMPRESSION": _otel(
        "OTEL_EXPORTER_OTLP_COMPRESSION", "none", "`none` or `gzip`", kind="choice", choices=("none", "gzip")
    ),
    "INSECURE": _otel(
        "OTEL_EXPORTER_OTLP_INSECURE",
        False,
        "plaintext gRPC",
        kind="bool",
        shown="false (true for `http://` gRPC endpoints)",
    ),
    "CERTIFICATE": _otel("OTEL_EXPORTER_OTLP_CERTIFICATE", None, "CA certificate file for TLS", shown=""),
    "CLIENT_KEY": _otel("OTEL_EXPORTER_OTLP_CLIENT_KEY", None, "client private key file for mTLS", shown=""),
    "CLIENT_CERTIFICATE": _otel(
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", None, "client certificate file for mTLS", shown=""
    ),
}
_SIGNAL_DESCRIPTIONS = {
    "ENDPOINT": "endpoint, used as is (no path appended)",
    "PROTOCOL": "protocol override",
    "HEADERS": "headers override",
    "TIMEOUT": "timeout override (ms)",
    "COMPRESSION": "compression override",
    "INSECURE": "insecure override (gRPC)",
    "CERTIFICATE": "CA certificate override",
    "CLIENT_KEY": "client key override",
    "CLIENT_CERTIFICATE": "client certificate override",
}
# Per signal, the generic variable's rule under the signal's name; its default is the generic one's value.
SIGNAL_OTLP: dict[Signal, dict[str, Variable[Any]]] = {
    signal: {
        suffix: replace(
            generic,
            name=f"OTEL_EXPORTER_OTLP_{signal.upper()}_{suffix}",
            description=f"{signal} {_SIGNAL_DESCRIPTIONS[suffix]}",
            shown="",
            argument=None,
        )
        for suffix, generic in OTLP.items()
    }
    for signal in SIGNALS
}
TEMPORALITY = _otel(
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
    "cumulative",
    "`cumulative`, `delta` or `lowmemory`",
    kind="choice",
    choices=("cumulative", "delta", "lowmemory"),
)
HISTOGRAM_AGGREGATION = _otel(
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
    "explicit_bucket_histogram",
    "`explicit_bucket_histogram` or `base2_exponential_bucket_histogram` (OTLP only)",
    kind="choice",
    choices=("explicit_bucket_histogram", "base2_exponential_bucket_histogram"),
)
METRIC_EXPORT_INTERVAL = _otel(
    "OTEL_METRIC_EXPORT_INTERVAL",
    60_000,
    "push interval of periodic metric readers (ms)",
    kind="int",
    minimum=1,
    argument="metric_export_interval_ms",
)
METRIC_EXPORT_TIMEOUT = _otel(
    "OTEL_METRIC_EXPORT_TIMEOUT", 30_000, "push timeout of periodic metric readers (ms)", kind="int"
)


def _batch(prefix: str, item: str, items: str, delay_ms: int) -> dict[str, Variable[Any]]:
    return {
        "schedule_delay_ms": _otel(
            f"{prefix}_SCHEDULE_DELAY", delay_ms, f"{item} batch delay (ms)", kind="int", minimum=1
        ),
        "export_timeout_ms": _otel(f"{prefix}_EXPORT_TIMEOUT", 30_000, f"{item} export timeout (ms)", kind="int"),
        "max_queue_size": _otel(
            f"{prefix}_MAX_QUEUE_SIZE",
            2048,
            f"{item} queue bound; {items} beyond it are dropped, never block",
            kind="int",
            minimum=1,
        ),
        "max_export_batch_size": _otel(
            f"{prefix}_MAX_EXPORT_BATCH_SIZE", 512, f"{items if item == 'span' else 'log records'} per export",
            kind="int", minimum=1,
        ),
    }  # fmt: skip


BSP = _batch("OTEL_BSP", "span", "spans", 5000)
BLRP = _batch("OTEL_BLRP", "log", "records", 1000)
_SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
SAMPLER = _otel(
    "OTEL_TRACES_SAMPLER",
    "parentbased_always_on",
    ", ".join(f"`{name}`" for name in _SAMPLERS),
    kind="choice",
    choices=_SAMPLERS,
    argument="sampler",
)
SAMPLER_ARG = _otel(
    "OTEL_TRACES_SAMPLER_ARG",
    1.0,
    "ratio for the `traceidratio` samplers, 0 to 1",
    kind="float",
    minimum=0,
    maximum=1,
    shown="1.0",
    argument="sampler_arg",
)

OTEL_VARIABLES: tuple[Variable[Any], ...] = (
    SDK_DISABLED,
    SERVICE_NAME,
    RESOURCE_ATTRIBUTES,
    *EXPORTERS.values(),
    *OTLP.values(),
    *(variable for signal in SIGNALS for variable in SIGNAL_OTLP[signal].values()),
    TEMPORALITY,
    HISTOGRAM_AGGREGATION,
    METRIC_EXPORT_INTERVAL,
    METRIC_EXPORT_TIMEOUT,
    *BSP.values(),
    *BLRP.values(),
    SAMPLER,
    SAMPLER_ARG,
)


def batch_defaults(variables: Mapping[str, Variable[Any]]) -> BatchSettings:
    """The batch settings when no variable is set."""
    return BatchSettings(**{name: variable.default for name, variable in variables.items()})
