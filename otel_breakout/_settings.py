"""The one settings object, and the only module that reads the process environment.

Precedence is argument > environment > default. Standard ``OTEL_*`` variables follow the OTel
specification on bad values (a :class:`ConfigWarning` and the default), except where a silent default
would lose a whole signal (an unknown exporter name): that raises :class:`ConfigError`, as do our own
``OTEL_BREAKOUT_*`` variables and every bad argument. ``OTEL_BREAKOUT_STRICT_CONFIG=true`` makes every
warning an error, for bots that would rather not start than start half-configured.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal, TypeVar, cast
from urllib.parse import unquote

from otel_breakout._scrub import default_scrubber
from otel_breakout._variables import VARIABLES

__all__ = [
    "DEFAULT_TRACE_URL_TEMPLATE",
    "ApiSettings",
    "BatchSettings",
    "ConfigError",
    "ConfigWarning",
    "DiagnosticsSettings",
    "MetricsSettings",
    "OtlpExporterSettings",
    "ReportSettings",
    "ResourceSettings",
    "Settings",
    "environment_variables",
]

Protocol = Literal["grpc", "http/protobuf"]
Signal = Literal["traces", "metrics", "logs"]
SIGNALS: tuple[Signal, ...] = ("traces", "metrics", "logs")

_BUILTIN_EXPORTERS: dict[Signal, tuple[str, ...]] = {
    "traces": ("otlp", "console", "none"),
    "metrics": ("prometheus", "otlp", "console", "none"),
    "logs": ("otlp", "console", "none"),
}
_SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ON_INVALID = {v.name: v.on_invalid for v in VARIABLES}
_T = TypeVar("_T")
# Headers as each transport accepts them, names once lower-cased: an HTTP token (RFC 9110) with a latin-1
# value, and gRPC's narrower metadata keys with a printable ASCII value. Anything else fails every export.
_HEADER_NAME = {"http/protobuf": re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+"), "grpc": re.compile(r"[0-9a-z_.\-]+")}
_HEADER_VALUE = {"http/protobuf": re.compile(r"[\t\x20-\x7e\x80-\xff]*"), "grpc": re.compile(r"[\x20-\x7e]*")}


class ConfigError(ValueError):
    """A configuration value is invalid; names the variable (or argument), the value and what is allowed."""

    def __init__(self, source: str, value: object, allowed: str) -> None:
        self.source = source
        self.value = value
        self.allowed = allowed
        super().__init__(f"{source}={value!r} is not valid; expected {allowed}")


class ConfigWarning(UserWarning):
    """A configuration value was ignored and its default used, as the OTel specification asks."""


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


# Grafana Explore on the Tempo datasource (uid `tempo`), the trace queried by id, one hour either side.
DEFAULT_TRACE_URL_TEMPLATE = (
    "http://127.0.0.1:3001/explore?schemaVersion=1&orgId=1&panes="
    "%7B%22trace%22:%7B%22datasource%22:%22tempo%22,%22queries%22:%5B%7B%22refId%22:%22A%22,"
    "%22datasource%22:%7B%22type%22:%22tempo%22,%22uid%22:%22tempo%22%7D,%22queryType%22:%22traceql%22,"
    "%22query%22:%22{trace_id}%22%7D%5D,%22range%22:%7B%22from%22:%22{from_ms}%22,%22to%22:%22{to_ms}%22%7D%7D%7D"
)


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """The diagnostics report (``otel-breakout report``)."""

    trace_url_template: str = DEFAULT_TRACE_URL_TEMPLATE
    workers: int = 0  # 0: one per core that is idle when a large read starts


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The metrics API (``otel_breakout.api``): where it binds, its token, and when a quiet engine is unhealthy."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = field(default=None, repr=False)
    cycle_warning_s: float = 60.0
    cycle_critical_s: float = 180.0


# Shorter bearer tokens are guessable; `python -c "import secrets; print(secrets.token_urlsafe(32))"` makes one.
API_TOKEN_MIN_LENGTH = 16


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """``OTEL_BREAKOUT_METRICS_*``: the MetricsLogger's rolling window and the opt-in symbol attribute."""

    window: int = 1000
    symbol_attribute: bool = False
    symbol_limit: int = 50


@dataclass(frozen=True, slots=True)
class ResourceSettings:
    """``OTEL_BREAKOUT_RESOURCE_*``: the resource monitor's interval, limits and corrective actions."""

    interval_s: float = 5.0
    history: int = 720
    max_cpu_percent: float = 90.0
    max_memory_percent: float = 85.0
    max_memory_mb: float = 2048.0
    max_disk_percent: float = 90.0
    max_threads: int = 80
    max_open_files: int = 800
    auto_optimize: bool = True
    cooldown_s: float = 300.0
    disk_path: str = "."
    log_dir: str | None = None
    log_max_age_s: float = 7 * 24 * 3600.0
    log_patterns: tuple[str, ...] = ("*.log", "*.log.*", "*.jsonl", "*.jsonl.*")


DiagnosticsSink = Literal["jsonl", "logs", "spans", "metrics"]
DIAGNOSTICS_SINKS: tuple[DiagnosticsSink, ...] = ("jsonl", "logs", "spans", "metrics")


@dataclass(frozen=True, slots=True)
class DiagnosticsSettings:
    """The diagnostics collector (``OTEL_BREAKOUT_DIAG_*``); see the README's Diagnostics section."""

    enabled: bool = True
    output_dir: str = "logs/diag"
    sinks: tuple[DiagnosticsSink, ...] = DIAGNOSTICS_SINKS
    queue_size: int = 32_768
    flush_interval_ms: int = 200
    max_file_bytes: int = 64 * 1024 * 1024
    fsync: bool = False
    near_miss_margin: float = 0.1
    log_passes: bool = False
    span_events_per_span: int = 8
    # Extra regular expressions for secret payload keys, on top of the built-in ones.
    secret_keys: tuple[str, ...] = ()
    max_string: int = 4096
    # Distinct failure reasons counted by name; later ones are counted as "(other)".
    max_reasons: int = 256


@dataclass(frozen=True, slots=True)
class Settings:
    """Effective configuration. Build it with :meth:`from_env`; pass it, never re-read the environment."""

    sdk_disabled: bool = False
    service_name: str = "breakout-bot"
    service_version: str = "unknown"
    service_instance_id: str | None = None
    resource_attributes: tuple[tuple[str, str], ...] = ()
    traces_exporters: tuple[str, ...] = ()
    metrics_exporters: tuple[str, ...] = ("prometheus",)
    logs_exporters: tuple[str, ...] = ()
    otlp_traces: OtlpExporterSettings = OtlpExporterSettings("http://localhost:4317", "grpc")
    otlp_metrics: OtlpExporterSettings = OtlpExporterSettings("http://localhost:4317", "grpc")
    otlp_logs: OtlpExporterSettings = OtlpExporterSettings("http://localhost:4317", "grpc")
    metrics_temporality: Literal["cumulative", "delta", "lowmemory"] = "cumulative"
    metrics_histogram_aggregation: Literal["explicit_bucket_histogram", "base2_exponential_bucket_histogram"] = (
        "explicit_bucket_histogram"
    )
    metric_export_interval_ms: int = 60_000
    metric_export_timeout_ms: int = 30_000
    bsp: BatchSettings = BatchSettings(5000, 30_000, 2048, 512)
    blrp: BatchSettings = BatchSettings(1000, 30_000, 2048, 512)
    sampler: str = "parentbased_always_on"
    sampler_arg: float = 1.0
    strict: bool = False
    cardinality_limit: int = 2000
    log_level: str = "INFO"
    log_file: str | None = None
    log_file_max_bytes: int = 10 * 1024 * 1024
    log_file_backups: int = 5
    # Sections for the feature modules are added below this line, one frozen dataclass each.
    api: ApiSettings = ApiSettings()
    metrics: MetricsSettings = MetricsSettings()
    resources: ResourceSettings = ResourceSettings()
    report: ReportSettings = ReportSettings()
    diagnostics: DiagnosticsSettings = DiagnosticsSettings()
    _sources: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **arguments: Any) -> Settings:
        """Build settings from ``arguments`` > ``environ`` (default ``os.environ``) > defaults.

        ``arguments`` use the keyword names of :func:`otel_breakout.configure`; ``None`` means "not given".
        """
        env = os.environ if environ is None else environ
        given = {k: v for k, v in arguments.items() if v is not None}
        unknown = sorted(set(given) - set(_ARGUMENTS))
        if unknown:
            raise TypeError(f"unknown settings argument(s): {', '.join(unknown)}")
        return _Builder(env, given).build()

    def as_dict(self, *, mask_secrets: bool = True) -> dict[str, Any]:
        """Plain data for display (``otel-breakout env``). Unless asked otherwise, secrets are hidden: header
        values and the API token masked, resource attributes under secret keys redacted, and every text
        scrubbed (credentials in endpoint URLs, ``?token=`` query parameters), as :mod:`otel_breakout._scrub`
        does for every sink."""
        data = asdict(self)
        data.pop("_sources", None)
        if mask_secrets:
            for signal in SIGNALS:
                otlp = data[f"otlp_{signal}"]
                otlp["headers"] = [(k, _mask(v)) for k, v in otlp["headers"]]
            data["api"]["token"] = _mask(data["api"]["token"] or "") or None
            data["resource_attributes"] = default_scrubber().pairs(self.resource_attributes)
            data = _scrubbed(data)
        return data

    @property
    def sources(self) -> dict[str, str]:
        """For each setting that did not come from its default: the variable or argument it came from."""
        return dict(self._sources)


def _mask(value: str) -> str:
    return "***" if value else ""


def _scrubbed(value: Any) -> Any:
    """Every text in a displayed structure scrubbed (the keys of settings are not payload keys: only text)."""
    if isinstance(value, str):
        return default_scrubber().text(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_scrubbed(item) for item in value)
    return value


# Argument name -> the variable it overrides (its per-signal variants included).
_ARGUMENTS: dict[str, str] = {
    "sdk_disabled": "OTEL_SDK_DISABLED",
    "service_name": "OTEL_SERVICE_NAME",
    "service_version": "service.version",
    "service_instance_id": "service.instance.id",
    "resource_attributes": "OTEL_RESOURCE_ATTRIBUTES",
    "traces_exporter": "OTEL_TRACES_EXPORTER",
    "metrics_exporter": "OTEL_METRICS_EXPORTER",
    "logs_exporter": "OTEL_LOGS_EXPORTER",
    "otlp_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
    "otlp_protocol": "OTEL_EXPORTER_OTLP_PROTOCOL",
    "otlp_headers": "OTEL_EXPORTER_OTLP_HEADERS",
    "otlp_timeout_ms": "OTEL_EXPORTER_OTLP_TIMEOUT",
    "metric_export_interval_ms": "OTEL_METRIC_EXPORT_INTERVAL",
    "sampler": "OTEL_TRACES_SAMPLER",
    "sampler_arg": "OTEL_TRACES_SAMPLER_ARG",
    "strict": "OTEL_BREAKOUT_STRICT_CONFIG",
    "cardinality_limit": "OTEL_BREAKOUT_METRIC_CARDINALITY_LIMIT",
    "log_level": "OTEL_BREAKOUT_LOG_LEVEL",
    "log_file": "OTEL_BREAKOUT_LOG_FILE",
}
_ARGUMENT_FOR = {var: arg for arg, var in _ARGUMENTS.items()}


class _Builder:
    """Reads raw values with their origin and applies the warn-or-raise policy in one place."""

    def __init__(self, environ: Mapping[str, str], arguments: Mapping[str, Any]) -> None:
        self._env = environ
        self._args = arguments
        self._sources: dict[str, str] = {}
        self._strict = False
        self._strict = self.boolean("OTEL_BREAKOUT_STRICT_CONFIG", False)

    # --- raw access -------------------------------------------------------------------------------

    def raw(self, var: str, *, generic: str | None = None) -> tuple[str, object] | None:
        """(origin, value) for ``var``; an argument for ``generic`` (or ``var``) shadows the environment."""
        for name in (var, generic):
            if name is not None and name in _ARGUMENT_FOR and _ARGUMENT_FOR[name] in self._args:
                arg = _ARGUMENT_FOR[name]
                return f"configure({arg}=...)", self._args[arg]
        for name in (var, generic):
            if name is None:
                continue
            value = self._env.get(name)
            # The specification treats an empty value exactly like an unset one.
            if value is not None and value.strip():
                return name, value.strip()
        return None

    def invalid(self, origin: str, value: object, allowed: str, default: _T, *, secret: bool = False) -> _T:
        shown = "***" if secret else default_scrubber().text(value) if isinstance(value, str) else value
        variable = origin.split("=", 1)[0]
        if origin.startswith("configure(") or self._strict or _ON_INVALID.get(variable, "error") == "error":
            raise ConfigError(origin, shown, allowed)
        warnings.warn(ConfigWarning(f"{origin}={shown!r} ignored; expected {allowed}; using {default!r}"), stacklevel=4)
        return default

    def _parse(
        self, var: str, default: _T, allowed: str, parse: Callable[[object], _T], generic: str | None = None
    ) -> _T:
        found = self.raw(var, generic=generic)
        if found is None:
            return default
        origin, value = found
        try:
            result = parse(value)
        except (ValueError, TypeError):
            return self.invalid(origin, value, allowed, default)
        self._sources[var] = origin
        return result

    # --- typed readers ----------------------------------------------------------------------------

    def boolean(self, var: str, default: bool, generic: str | None = None) -> bool:
        def parse(value: object) -> bool:
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"

        return self._parse(var, default, "true or false", parse, generic)

    def integer(
        self, var: str, default: int, *, minimum: int = 0, maximum: int = 2**31 - 1, generic: str | None = None
    ) -> int:
        def parse(value: object) -> int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            number = int(value) if isinstance(value, (int, float)) else int(str(value), 10)
            if not minimum <= number <= maximum:
                raise ValueError(number)
            return number

        return self._parse(var, default, f"an integer from {minimum} to {maximum}", parse, generic)

    def number(self, var: str, default: float, *, minimum: float, maximum: float) -> float:
        def parse(value: object) -> float:
            number = float(cast(Any, value))
            if not minimum <= number <= maximum:  # also rejects NaN
                raise ValueError(number)
            return number

        return self._parse(var, default, f"a number from {minimum} to {maximum}", parse)

    def choice(self, var: str, default: _T, allowed: Iterable[str], generic: str | None = None) -> _T:
        options = tuple(allowed)

        def parse(value: object) -> _T:
            text = str(value).strip().lower()
            if text not in options:
                raise ValueError(text)
            return cast(_T, text)

        return self._parse(var, default, "one of " + ", ".join(options), parse, generic)

    def text(self, var: str, default: _T) -> str | _T:
        found = self.raw(var)
        if found is None:
            return default
        self._sources[var] = found[0]
        return str(found[1])

    def url_template(self, var: str, default: str) -> str:
        """An http(s) URL with a ``{trace_id}`` placeholder."""

        def parse(value: object) -> str:
            text = str(value)
            if (
                not text.startswith(("http://", "https://"))
                or "{trace_id}" not in text
                or any(c.isspace() for c in text)
            ):
                raise ValueError(text)
            return text

        return self._parse(var, default, "an http:// or https:// URL without spaces containing {trace_id}", parse)

    def pairs(self, var: str, *, generic: str | None = None, secret: bool = False) -> tuple[tuple[str, str], ...]:
        """``k=v,k2=v2`` with percent-decoding, or a mapping argument."""
        found = self.raw(var, generic=generic)
        if found is None:
            return ()
        origin, value = found
        self._sources[var] = origin
        if isinstance(value, Mapping):
            return tuple((str(k), str(v)) for k, v in value.items())
        result: list[tuple[str, str]] = []
        for item in str(value).split(","):
            if not item.strip():
                continue
            key, sep, val = item.partition("=")
            if not sep or not key.strip():
                if var == "OTEL_RESOURCE_ATTRIBUTES":
                    # The resource specification: discard the whole value when any part cannot be decoded.
                    return self.invalid(origin, value, "comma-separated key=value pairs", ())
                self.invalid(origin, item if not secret else "***", "key=value", None, secret=secret)
                continue
            result.append((unquote(key.strip()), unquote(val.strip())))
        return tuple(result)

    def headers(self, var: str, generic: str, protocol: Protocol) -> tuple[tuple[str, str], ...]:
        """OTLP header pairs, names lower-cased as the stock parser does: HTTP names are case-insensitive, and
        gRPC refuses capitals ("Illegal header key" on every export). A header the transport would refuse is
        reported here, naming the variable, instead of failing every export later."""
        pairs = self.pairs(var, generic=generic, secret=True)
        found = self.raw(var, generic=generic)
        origin = found[0] if found is not None else var
        result: list[tuple[str, str]] = []
        for name, value in pairs:
            name = name.strip().lower()
            if protocol == "grpc" and name.endswith("-bin"):
                self.invalid(origin, name, "a text header name (gRPC `-bin` headers carry bytes)", None)
            elif not _HEADER_NAME[protocol].fullmatch(name):
                allowed = (
                    "letters, digits and - _ ." if protocol == "grpc" else "an HTTP token (no spaces or separators)"
                )
                self.invalid(origin, name, f"a header name of {allowed}", None)
            elif not _HEADER_VALUE[protocol].fullmatch(value):
                allowed = "printable ASCII" if protocol == "grpc" else "latin-1 without control characters"
                self.invalid(origin, value, f"a value for header {name!r} in {allowed}", None, secret=True)
            else:
                result.append((name, value))
        return tuple(result)

    def exporters(self, signal: Signal, default: tuple[str, ...]) -> tuple[str, ...]:
        var = f"OTEL_{signal.upper()}_EXPORTER"
        found = self.raw(var)
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
        self._sources[var] = origin
        return () if parsed == ("none",) else parsed

    def names(self, var: str, default: tuple[_T, ...], allowed: Iterable[str]) -> tuple[_T, ...]:
        """A comma list of names from ``allowed``, or ``none`` for the empty list."""
        options = tuple(allowed)

        def parse(value: object) -> tuple[_T, ...]:
            items = [str(value)] if isinstance(value, str) else [str(v) for v in cast(Iterable[object], value)]
            parsed = tuple(dict.fromkeys(n.strip().lower() for item in items for n in item.split(",") if n.strip()))
            if parsed == ("none",):
                return ()
            if not parsed or any(name not in options for name in parsed):
                raise ValueError(value)
            return cast(tuple[_T, ...], parsed)

        return self._parse(var, default, "a comma list of " + ", ".join(options) + ", or none", parse)

    def patterns(self, var: str) -> tuple[str, ...]:
        """A comma list of regular expressions, each checked to compile."""

        def parse(value: object) -> tuple[str, ...]:
            found = tuple(p.strip() for p in str(value).split(",") if p.strip())
            for pattern in found:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(pattern) from exc
            return found

        return self._parse(var, (), "a comma list of valid regular expressions", parse)

    def diagnostics(self) -> DiagnosticsSettings:
        d = DiagnosticsSettings()
        return DiagnosticsSettings(
            enabled=self.boolean("OTEL_BREAKOUT_DIAG_ENABLED", d.enabled),
            output_dir=self.text("OTEL_BREAKOUT_DIAG_DIR", d.output_dir),
            sinks=self.names("OTEL_BREAKOUT_DIAG_SINKS", d.sinks, DIAGNOSTICS_SINKS),
            queue_size=self.integer("OTEL_BREAKOUT_DIAG_QUEUE_SIZE", d.queue_size, minimum=16),
            flush_interval_ms=self.integer(
                "OTEL_BREAKOUT_DIAG_FLUSH_INTERVAL", d.flush_interval_ms, minimum=10, maximum=1000
            ),
            max_file_bytes=self.integer("OTEL_BREAKOUT_DIAG_MAX_FILE_BYTES", d.max_file_bytes, minimum=4096),
            fsync=self.boolean("OTEL_BREAKOUT_DIAG_FSYNC", d.fsync),
            near_miss_margin=self.number(
                "OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN", d.near_miss_margin, minimum=0.0, maximum=1.0
            ),
            log_passes=self.boolean("OTEL_BREAKOUT_DIAG_LOG_PASSES", d.log_passes),
            span_events_per_span=self.integer(
                "OTEL_BREAKOUT_DIAG_SPAN_EVENTS", d.span_events_per_span, minimum=0, maximum=128
            ),
            secret_keys=self.patterns("OTEL_BREAKOUT_DIAG_SECRET_KEYS"),
            max_string=self.integer("OTEL_BREAKOUT_DIAG_MAX_STRING", d.max_string, minimum=64, maximum=1_048_576),
            max_reasons=self.integer("OTEL_BREAKOUT_DIAG_MAX_REASONS", d.max_reasons, minimum=1, maximum=100_000),
        )

    # --- assembly ---------------------------------------------------------------------------------

    def otlp(self, signal: Signal) -> tuple[OtlpExporterSettings, bool]:
        upper = signal.upper()

        def var(suffix: str) -> str:
            return f"OTEL_EXPORTER_OTLP_{upper}_{suffix}"

        def generic(suffix: str) -> str:
            return f"OTEL_EXPORTER_OTLP_{suffix}"

        protocol: Protocol = self.choice(var("PROTOCOL"), "grpc", ("grpc", "http/protobuf"), generic("PROTOCOL"))
        specific = self.raw(var("ENDPOINT"))
        base = self.raw(generic("ENDPOINT"))
        if specific is not None and "otlp_endpoint" not in self._args:
            endpoint = str(specific[1])
            self._sources[var("ENDPOINT")] = specific[0]
        elif base is not None:
            endpoint = str(base[1])
            self._sources[generic("ENDPOINT")] = base[0]
            if protocol == "http/protobuf":
                # Only the generic endpoint gets the signal path appended (OTLP exporter specification).
                endpoint = endpoint.rstrip("/") + f"/v1/{signal}"
        else:
            endpoint = "http://localhost:4317" if protocol == "grpc" else f"http://localhost:4318/v1/{signal}"
        if not endpoint.startswith(("http://", "https://")) and (protocol == "http/protobuf" or "://" in endpoint):
            origin = (specific or base or ("endpoint", endpoint))[0]
            raise ConfigError(origin, default_scrubber().text(endpoint), "an http:// or https:// URL")
        timeout = self.integer(var("TIMEOUT"), 10_000, generic=generic("TIMEOUT"))
        if 0 < timeout < 100:
            warnings.warn(
                ConfigWarning(
                    f"OTLP timeout for {signal} is {timeout} ms; the specification counts milliseconds, not seconds"
                ),
                stacklevel=3,
            )
        insecure_found = self.raw(var("INSECURE"), generic=generic("INSECURE"))
        settings = OtlpExporterSettings(
            endpoint=endpoint,
            protocol=protocol,
            headers=self.headers(var("HEADERS"), generic("HEADERS"), protocol),
            timeout_ms=timeout,
            compression=self.choice(var("COMPRESSION"), "none", ("none", "gzip"), generic("COMPRESSION")),
            insecure=None if insecure_found is None else self.boolean(var("INSECURE"), False, generic("INSECURE")),
            certificate=self._file(var("CERTIFICATE"), generic("CERTIFICATE")),
            client_key=self._file(var("CLIENT_KEY"), generic("CLIENT_KEY")),
            client_certificate=self._file(var("CLIENT_CERTIFICATE"), generic("CLIENT_CERTIFICATE")),
        )
        return settings, specific is not None or base is not None

    def _file(self, var: str, generic: str) -> str | None:
        found = self.raw(var, generic=generic)
        return None if found is None else str(found[1])

    def batch(self, prefix: str, defaults: BatchSettings) -> BatchSettings:
        queue = self.integer(f"{prefix}_MAX_QUEUE_SIZE", defaults.max_queue_size, minimum=1)
        batch = self.integer(f"{prefix}_MAX_EXPORT_BATCH_SIZE", defaults.max_export_batch_size, minimum=1)
        if batch > queue:
            # The SDK refuses a batch larger than its queue; the specification says to fall back.
            batch = self.invalid(
                f"{prefix}_MAX_EXPORT_BATCH_SIZE",
                batch,
                f"at most {prefix}_MAX_QUEUE_SIZE ({queue})",
                min(defaults.max_export_batch_size, queue),
            )
        return BatchSettings(
            schedule_delay_ms=self.integer(f"{prefix}_SCHEDULE_DELAY", defaults.schedule_delay_ms, minimum=1),
            export_timeout_ms=self.integer(f"{prefix}_EXPORT_TIMEOUT", defaults.export_timeout_ms),
            max_queue_size=queue,
            max_export_batch_size=batch,
        )

    def api(self) -> ApiSettings:
        d = ApiSettings()
        port = self.integer("OTEL_BREAKOUT_API_PORT", d.port, maximum=65535)
        token = self.text("OTEL_BREAKOUT_API_TOKEN", None)
        raw_token = self._env.get("OTEL_BREAKOUT_API_TOKEN")
        if token is None and raw_token and raw_token.isspace():
            # Set, but to blanks: most likely a templating slip, and silently serving without a token would
            # open every route. Empty stays "unset", as for every variable.
            raise ConfigError("OTEL_BREAKOUT_API_TOKEN", "***", "a token of at least 16 characters, not blanks")
        if token is not None and len(token) < API_TOKEN_MIN_LENGTH:
            raise ConfigError(
                self._sources["OTEL_BREAKOUT_API_TOKEN"], "***", f"at least {API_TOKEN_MIN_LENGTH} characters"
            )
        warning = self.number("OTEL_BREAKOUT_HEALTH_CYCLE_WARNING_SECONDS", d.cycle_warning_s, minimum=1, maximum=86400)
        critical = self.number(
            "OTEL_BREAKOUT_HEALTH_CYCLE_CRITICAL_SECONDS", d.cycle_critical_s, minimum=1, maximum=86400
        )
        if critical < warning:
            raise ConfigError(
                self._sources.get(
                    "OTEL_BREAKOUT_HEALTH_CYCLE_CRITICAL_SECONDS", "OTEL_BREAKOUT_HEALTH_CYCLE_CRITICAL_SECONDS"
                ),
                critical,
                f"at least OTEL_BREAKOUT_HEALTH_CYCLE_WARNING_SECONDS ({warning:g})",
            )
        return ApiSettings(
            host=self.text("OTEL_BREAKOUT_API_HOST", d.host),
            port=port,
            token=token,
            cycle_warning_s=warning,
            cycle_critical_s=critical,
        )

    def metrics_section(self) -> MetricsSettings:
        d = MetricsSettings()
        return MetricsSettings(
            window=self.integer("OTEL_BREAKOUT_METRICS_WINDOW", d.window, maximum=1_000_000),
            symbol_attribute=self.boolean("OTEL_BREAKOUT_METRICS_SYMBOL_ATTRIBUTE", d.symbol_attribute),
            symbol_limit=self.integer("OTEL_BREAKOUT_METRICS_SYMBOL_LIMIT", d.symbol_limit, minimum=1, maximum=10_000),
        )

    def resource_section(self) -> ResourceSettings:
        d = ResourceSettings()
        prefix = "OTEL_BREAKOUT_RESOURCE_"

        def percent(name: str, default: float) -> float:
            return self.number(prefix + name, default, minimum=1.0, maximum=100.0)

        return ResourceSettings(
            interval_s=self.number(prefix + "INTERVAL", d.interval_s, minimum=0.01, maximum=86_400.0),
            history=self.integer(prefix + "HISTORY", d.history, minimum=1, maximum=1_000_000),
            max_cpu_percent=percent("MAX_CPU_PERCENT", d.max_cpu_percent),
            max_memory_percent=percent("MAX_MEMORY_PERCENT", d.max_memory_percent),
            max_memory_mb=self.number(prefix + "MAX_MEMORY_MB", d.max_memory_mb, minimum=1.0, maximum=1e9),
            max_disk_percent=percent("MAX_DISK_PERCENT", d.max_disk_percent),
            max_threads=self.integer(prefix + "MAX_THREADS", d.max_threads, minimum=1),
            max_open_files=self.integer(prefix + "MAX_OPEN_FILES", d.max_open_files, minimum=1),
            auto_optimize=self.boolean(prefix + "AUTO_OPTIMIZE", d.auto_optimize),
            cooldown_s=self.number(prefix + "COOLDOWN", d.cooldown_s, minimum=0.0, maximum=86_400.0),
            disk_path=self.text(prefix + "DISK_PATH", d.disk_path),
            log_dir=self.text(prefix + "LOG_DIR", d.log_dir),
            log_max_age_s=self.number(prefix + "LOG_MAX_AGE", d.log_max_age_s, minimum=0.0, maximum=1e10),
            log_patterns=self.name_patterns(prefix + "LOG_PATTERNS", d.log_patterns),
        )

    def name_patterns(self, var: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A comma list of file-name patterns: plain names only, so no pattern can reach another directory."""
        found = self.raw(var)
        if found is None:
            return default
        origin, value = found
        items = [value] if isinstance(value, str) else list(cast(Iterable[str], value))
        patterns = tuple(p.strip() for item in items for p in str(item).split(",") if p.strip())
        allowed = "a comma list of file-name patterns without '/', '\\' or '..' (e.g. *.log,*.jsonl)"
        if not patterns or any("/" in p or "\\" in p or ".." in p or p.startswith("~") for p in patterns):
            return self.invalid(origin, value, allowed, default)
        self._sources[var] = origin
        return patterns

    def build(self) -> Settings:
        d = Settings()
        otlp = {signal: self.otlp(signal) for signal in SIGNALS}
        push = {signal: otlp[signal][1] for signal in SIGNALS}
        resource = self.pairs("OTEL_RESOURCE_ATTRIBUTES")
        resource_map = dict(resource)
        sampler = self.choice("OTEL_TRACES_SAMPLER", d.sampler, _SAMPLERS)
        settings = Settings(
            sdk_disabled=self.boolean("OTEL_SDK_DISABLED", False),
            service_name=self.text("OTEL_SERVICE_NAME", resource_map.get("service.name", d.service_name)),
            service_version=str(
                self._args.get("service_version", resource_map.get("service.version", d.service_version))
            ),
            service_instance_id=self._args.get("service_instance_id", resource_map.get("service.instance.id")),
            resource_attributes=resource,
            traces_exporters=self.exporters("traces", ("otlp",) if push["traces"] else ()),
            metrics_exporters=self.exporters("metrics", ("prometheus", "otlp") if push["metrics"] else ("prometheus",)),
            logs_exporters=self.exporters("logs", ("otlp",) if push["logs"] else ()),
            otlp_traces=otlp["traces"][0],
            otlp_metrics=otlp["metrics"][0],
            otlp_logs=otlp["logs"][0],
            metrics_temporality=self.choice(
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                d.metrics_temporality,
                ("cumulative", "delta", "lowmemory"),
            ),
            metrics_histogram_aggregation=self.choice(
                "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
                d.metrics_histogram_aggregation,
                ("explicit_bucket_histogram", "base2_exponential_bucket_histogram"),
            ),
            metric_export_interval_ms=self.integer(
                "OTEL_METRIC_EXPORT_INTERVAL", d.metric_export_interval_ms, minimum=1
            ),
            metric_export_timeout_ms=self.integer("OTEL_METRIC_EXPORT_TIMEOUT", d.metric_export_timeout_ms),
            bsp=self.batch("OTEL_BSP", d.bsp),
            blrp=self.batch("OTEL_BLRP", d.blrp),
            sampler=sampler,
            sampler_arg=(
                self.number("OTEL_TRACES_SAMPLER_ARG", 1.0, minimum=0.0, maximum=1.0)
                if sampler.endswith("traceidratio")
                else 1.0
            ),
            strict=self._strict,
            cardinality_limit=self.integer("OTEL_BREAKOUT_METRIC_CARDINALITY_LIMIT", d.cardinality_limit, minimum=2),
            log_level=self.choice(
                "OTEL_BREAKOUT_LOG_LEVEL", d.log_level.lower(), [lv.lower() for lv in _LOG_LEVELS]
            ).upper(),
            log_file=self.text("OTEL_BREAKOUT_LOG_FILE", None),
            log_file_max_bytes=self.integer("OTEL_BREAKOUT_LOG_FILE_MAX_BYTES", d.log_file_max_bytes, minimum=1024),
            log_file_backups=self.integer("OTEL_BREAKOUT_LOG_FILE_BACKUPS", d.log_file_backups),
            api=self.api(),
            metrics=self.metrics_section(),
            resources=self.resource_section(),
            report=ReportSettings(
                trace_url_template=self.url_template("OTEL_BREAKOUT_TRACE_URL_TEMPLATE", d.report.trace_url_template),
                workers=self.integer("OTEL_BREAKOUT_REPORT_WORKERS", d.report.workers),
            ),
            diagnostics=self.diagnostics(),
            _sources=tuple(sorted(self._sources.items())),
        )
        if not settings.service_name.strip():
            raise ConfigError("service_name", settings.service_name, "a non-empty string")
        return settings


def _installed_exporters(signal: Signal) -> tuple[str, ...]:
    # Third-party exporters register here, as the OTel SDK's own configurator expects.
    return tuple(ep.name for ep in entry_points(group=f"opentelemetry_{signal}_exporter"))


def environment_variables(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The documented and ``OTEL_BREAKOUT_*`` variables set in ``environ``, secret values masked."""
    env = os.environ if environ is None else environ
    secret = {v.name for v in VARIABLES if v.secret}
    known = {v.name for v in VARIABLES}
    shown: dict[str, str] = {}
    for name in sorted(env):
        if name not in known and not name.startswith("OTEL_BREAKOUT_"):
            continue
        value = env[name]
        if name in secret or "TOKEN" in name or "PASSWORD" in name:
            # Header and token names help debugging; their values never leave the process.
            value = ",".join(f"{item.partition('=')[0]}=***" if "=" in item else "***" for item in value.split(","))
        elif name == "OTEL_RESOURCE_ATTRIBUTES":
            value = ",".join(_shown_attribute(item) for item in value.split(","))
        else:
            value = default_scrubber().text(value)  # user:password in an endpoint, ?token= in a URL
        shown[name] = value
    return shown


def _shown_attribute(item: str) -> str:
    """One ``key=value`` of OTEL_RESOURCE_ATTRIBUTES for display: masked under a secret key, and a value whose
    decoded form holds a credential shown decoded and scrubbed (percent-encoding hides it from the rules)."""
    key, sep, raw = item.partition("=")
    if not sep:
        return item
    if default_scrubber().is_secret_key(unquote(key.strip())):
        return f"{key}=***"
    decoded = unquote(raw.strip())
    clean = default_scrubber().text(decoded)
    return item if clean == decoded else f"{key}={clean}"
