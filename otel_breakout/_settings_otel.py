"""The OpenTelemetry specification's variables and the rules that combine them (OTLP per signal, batches, exporters).

Each standard variable is declared once below; the per-signal OTLP variables are derived from the generic ones.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from typing import Any, Literal, cast
from urllib.parse import unquote

from otel_breakout._config_errors import ConfigError, ConfigWarning
from otel_breakout._scrub import default_scrubber
from otel_breakout._setting import Variable
from otel_breakout._settings_env import EnvReader

__all__ = [
    "BLRP",
    "BSP",
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
    "read_batch",
    "read_exporters",
    "read_otlp",
    "read_pairs",
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
_BUILTIN_EXPORTERS: dict[Signal, tuple[str, ...]] = {
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

# Headers as each transport accepts them, names once lower-cased: an HTTP token (RFC 9110) with a latin-1
# value, and gRPC's narrower metadata keys with a printable ASCII value. Anything else fails every export.
_HEADER_NAME = {"http/protobuf": re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+"), "grpc": re.compile(r"[0-9a-z_.\-]+")}
_HEADER_VALUE = {"http/protobuf": re.compile(r"[\t\x20-\x7e\x80-\xff]*"), "grpc": re.compile(r"[\x20-\x7e]*")}


def read_pairs(
    reader: EnvReader, variable: Variable[Any], generic: Variable[Any] | None = None
) -> tuple[tuple[str, str], ...]:
    """``k=v,k2=v2`` with percent-decoding, or a mapping argument."""
    found = reader.raw(variable.name, generic=None if generic is None else generic.name)
    if found is None:
        return ()
    origin, value = found
    reader.sources[variable.name] = origin
    if isinstance(value, Mapping):
        return tuple((str(k), str(v)) for k, v in value.items())
    result: list[tuple[str, str]] = []
    for item in str(value).split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            if variable is RESOURCE_ATTRIBUTES:
                # The resource specification: discard the whole value when any part cannot be decoded.
                return reader.invalid(variable, origin, value, "comma-separated key=value pairs", ())
            shown = "***" if variable.secret else item
            reader.invalid(variable, origin, shown, "key=value", None, secret=variable.secret)
            continue
        result.append((unquote(key.strip()), unquote(val.strip())))
    return tuple(result)


def _headers(reader: EnvReader, variable: Variable[Any], protocol: Protocol) -> tuple[tuple[str, str], ...]:
    """OTLP header pairs, names lower-cased as the stock parser does: HTTP names are case-insensitive, and
    gRPC refuses capitals ("Illegal header key" on every export). A header the transport would refuse is
    reported here, naming the variable, instead of failing every export later."""
    generic = OTLP["HEADERS"]
    pairs = read_pairs(reader, variable, generic)
    found = reader.raw(variable.name, generic=generic.name)
    origin = found[0] if found is not None else variable.name
    result: list[tuple[str, str]] = []
    for name, value in pairs:
        name = name.strip().lower()
        if protocol == "grpc" and name.endswith("-bin"):
            reader.invalid(variable, origin, name, "a text header name (gRPC `-bin` headers carry bytes)", None)
        elif not _HEADER_NAME[protocol].fullmatch(name):
            allowed = "letters, digits and - _ ." if protocol == "grpc" else "an HTTP token (no spaces or separators)"
            reader.invalid(variable, origin, name, f"a header name of {allowed}", None)
        elif not _HEADER_VALUE[protocol].fullmatch(value):
            allowed = "printable ASCII" if protocol == "grpc" else "latin-1 without control characters"
            reader.invalid(variable, origin, value, f"a value for header {name!r} in {allowed}", None, secret=True)
        else:
            result.append((name, value))
    return tuple(result)


def read_otlp(reader: EnvReader, signal: Signal) -> tuple[OtlpExporterSettings, bool]:
    """One signal's OTLP settings, and whether an endpoint was configured (which turns on push)."""
    own = SIGNAL_OTLP[signal]
    protocol: Protocol = reader.read(own["PROTOCOL"], OTLP["PROTOCOL"])
    specific = reader.raw(own["ENDPOINT"].name)
    base = reader.raw(OTLP["ENDPOINT"].name)
    if specific is not None and "otlp_endpoint" not in reader.arguments:
        endpoint = str(specific[1])
        reader.sources[own["ENDPOINT"].name] = specific[0]
    elif base is not None:
        endpoint = str(base[1])
        reader.sources[OTLP["ENDPOINT"].name] = base[0]
        if protocol == "http/protobuf":
            # Only the generic endpoint gets the signal path appended (OTLP exporter specification).
            endpoint = endpoint.rstrip("/") + f"/v1/{signal}"
    else:
        endpoint = "http://localhost:4317" if protocol == "grpc" else f"http://localhost:4318/v1/{signal}"
    if not endpoint.startswith(("http://", "https://")) and (protocol == "http/protobuf" or "://" in endpoint):
        origin = (specific or base or ("endpoint", endpoint))[0]
        raise ConfigError(origin, default_scrubber().text(endpoint), "an http:// or https:// URL")
    timeout: int = reader.read(own["TIMEOUT"], OTLP["TIMEOUT"])
    if 0 < timeout < 100:
        warnings.warn(
            ConfigWarning(
                f"OTLP timeout for {signal} is {timeout} ms; the specification counts milliseconds, not seconds"
            ),
            stacklevel=3,
        )
    insecure_found = reader.raw(own["INSECURE"].name, generic=OTLP["INSECURE"].name)
    settings = OtlpExporterSettings(
        endpoint=endpoint,
        protocol=protocol,
        headers=_headers(reader, own["HEADERS"], protocol),
        timeout_ms=timeout,
        compression=reader.read(own["COMPRESSION"], OTLP["COMPRESSION"]),
        insecure=None if insecure_found is None else reader.read(own["INSECURE"], OTLP["INSECURE"]),
        certificate=_file(reader, signal, "CERTIFICATE"),
        client_key=_file(reader, signal, "CLIENT_KEY"),
        client_certificate=_file(reader, signal, "CLIENT_CERTIFICATE"),
    )
    return settings, specific is not None or base is not None


def _file(reader: EnvReader, signal: Signal, suffix: str) -> str | None:
    found = reader.raw(SIGNAL_OTLP[signal][suffix].name, generic=OTLP[suffix].name)
    return None if found is None else str(found[1])


def read_batch(reader: EnvReader, variables: Mapping[str, Variable[Any]]) -> BatchSettings:
    """A batch processor's settings; a batch larger than the queue falls back, as the specification says."""
    queue: int = reader.read(variables["max_queue_size"])
    size_variable = variables["max_export_batch_size"]
    batch: int = reader.read(size_variable)
    if batch > queue:
        # The SDK refuses a batch larger than its queue; the specification says to fall back.
        batch = reader.invalid(
            size_variable,
            size_variable.name,
            batch,
            f"at most {variables['max_queue_size'].name} ({queue})",
            min(size_variable.default, queue),
        )
    return BatchSettings(
        schedule_delay_ms=reader.read(variables["schedule_delay_ms"]),
        export_timeout_ms=reader.read(variables["export_timeout_ms"]),
        max_queue_size=queue,
        max_export_batch_size=batch,
    )


def batch_defaults(variables: Mapping[str, Variable[Any]]) -> BatchSettings:
    """The batch settings when no variable is set."""
    return BatchSettings(**{name: variable.default for name, variable in variables.items()})


def _installed_exporters(signal: Signal) -> tuple[str, ...]:
    # Third-party exporters register here, as the OTel SDK's own configurator expects.
    return tuple(ep.name for ep in entry_points(group=f"opentelemetry_{signal}_exporter"))


def read_exporters(reader: EnvReader, signal: Signal, default: tuple[str, ...]) -> tuple[str, ...]:
    """``OTEL_<SIGNAL>_EXPORTER``: known names only (an unknown one would silently lose the signal)."""
    variable = EXPORTERS[signal]
    found = reader.raw(variable.name)
    if found is None:
        return default
    origin, value = found
    names = [value] if isinstance(value, str) else list(cast(Iterable[str], value))
    parsed = tuple(dict.fromkeys(n.strip().lower() for item in names for n in str(item).split(",") if n.strip()))
    known = _BUILTIN_EXPORTERS[signal] + _installed_exporters(signal)
    for name in parsed:
        if name not in known:
            raise ConfigError(origin, value, "a comma list of " + ", ".join(dict.fromkeys(known)))
    if "none" in parsed and len(parsed) > 1:
        raise ConfigError(origin, value, "`none` alone, or a list without `none`")
    reader.sources[variable.name] = origin
    return () if parsed == ("none",) else parsed
