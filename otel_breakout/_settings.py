"""The one settings object, and the only place the process environment is read.

Precedence is argument > environment > default. Standard ``OTEL_*`` variables follow the OTel
specification on bad values (a :class:`ConfigWarning` and the default), except where a silent default
would lose a whole signal (an unknown exporter name): that raises :class:`ConfigError`, as do our own
``OTEL_BREAKOUT_*`` variables and every bad argument. ``OTEL_BREAKOUT_STRICT_CONFIG=true`` makes every
warning an error, for bots that would rather not start than start half-configured.

Each setting is declared once (:mod:`otel_breakout._setting`); this module assembles the sections.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from otel_breakout._config_errors import ConfigError, ConfigWarning
from otel_breakout._scrub import default_scrubber
from otel_breakout._setting import declared, variable_of
from otel_breakout._settings_core import (
    CARDINALITY_LIMIT,
    LOG_FILE,
    LOG_FILE_BACKUPS,
    LOG_FILE_MAX_BYTES,
    LOG_LEVEL,
    STRICT_CONFIG,
)
from otel_breakout._settings_env import EnvReader
from otel_breakout._settings_otel import (
    BLRP,
    BSP,
    HISTOGRAM_AGGREGATION,
    METRIC_EXPORT_INTERVAL,
    METRIC_EXPORT_TIMEOUT,
    RESOURCE_ARGUMENTS,
    RESOURCE_ATTRIBUTES,
    SAMPLER,
    SAMPLER_ARG,
    SDK_DISABLED,
    SERVICE_NAME,
    SIGNALS,
    TEMPORALITY,
    BatchSettings,
    OtlpExporterSettings,
    Protocol,
    Signal,
    batch_defaults,
)
from otel_breakout._settings_otlp import read_batch, read_exporters, read_otlp, read_pairs
from otel_breakout._settings_sections import (
    API_TOKEN_MIN_LENGTH,
    DEFAULT_TRACE_URL_TEMPLATE,
    DIAGNOSTICS_SINKS,
    ApiSettings,
    DiagnosticsSettings,
    MetricsSettings,
    ReportSettings,
    ResourceSettings,
)
from otel_breakout._variables import ARGUMENT_VARIABLES, CONFIGURE_ARGUMENTS, shown_variables

__all__ = [
    "API_TOKEN_MIN_LENGTH",
    "DEFAULT_TRACE_URL_TEMPLATE",
    "DIAGNOSTICS_SINKS",
    "SIGNALS",
    "ApiSettings",
    "BatchSettings",
    "ConfigError",
    "ConfigWarning",
    "DiagnosticsSettings",
    "MetricsSettings",
    "OtlpExporterSettings",
    "Protocol",
    "ReportSettings",
    "ResourceSettings",
    "Settings",
    "Signal",
    "environment_variables",
]

_ARGUMENT_FOR = {var: arg for arg, var in ARGUMENT_VARIABLES.items()}
_DEFAULT_OTLP = OtlpExporterSettings("http://localhost:4317", "grpc")


@dataclass(frozen=True, slots=True)
class Settings:
    """Effective configuration. Build it with :meth:`from_env`; pass it, never re-read the environment."""

    sdk_disabled: bool = declared(SDK_DISABLED)
    service_name: str = declared(SERVICE_NAME)
    service_version: str = "unknown"
    service_instance_id: str | None = None
    resource_attributes: tuple[tuple[str, str], ...] = declared(RESOURCE_ATTRIBUTES)
    traces_exporters: tuple[str, ...] = ()
    metrics_exporters: tuple[str, ...] = ("prometheus",)
    logs_exporters: tuple[str, ...] = ()
    otlp_traces: OtlpExporterSettings = _DEFAULT_OTLP
    otlp_metrics: OtlpExporterSettings = _DEFAULT_OTLP
    otlp_logs: OtlpExporterSettings = _DEFAULT_OTLP
    metrics_temporality: Literal["cumulative", "delta", "lowmemory"] = declared(TEMPORALITY)
    metrics_histogram_aggregation: Literal["explicit_bucket_histogram", "base2_exponential_bucket_histogram"] = (
        declared(HISTOGRAM_AGGREGATION)
    )
    metric_export_interval_ms: int = declared(METRIC_EXPORT_INTERVAL)
    metric_export_timeout_ms: int = declared(METRIC_EXPORT_TIMEOUT)
    bsp: BatchSettings = field(default_factory=lambda: batch_defaults(BSP))
    blrp: BatchSettings = field(default_factory=lambda: batch_defaults(BLRP))
    sampler: str = declared(SAMPLER)
    sampler_arg: float = declared(SAMPLER_ARG)
    strict: bool = declared(STRICT_CONFIG)
    cardinality_limit: int = declared(CARDINALITY_LIMIT)
    log_level: str = declared(LOG_LEVEL)
    log_file: str | None = declared(LOG_FILE)
    log_file_max_bytes: int = declared(LOG_FILE_MAX_BYTES)
    log_file_backups: int = declared(LOG_FILE_BACKUPS)
    # Sections for the feature modules are added below this line, one frozen dataclass each.
    api: ApiSettings = field(default_factory=ApiSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    resources: ResourceSettings = field(default_factory=ResourceSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    diagnostics: DiagnosticsSettings = field(default_factory=DiagnosticsSettings)
    _sources: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **arguments: Any) -> Settings:
        """Build settings from ``arguments`` > ``environ`` (default ``os.environ``) > defaults.

        ``arguments`` use the keyword names of :func:`otel_breakout.configure`; ``None`` means "not given".
        """
        env = os.environ if environ is None else environ
        given = {k: v for k, v in arguments.items() if v is not None}
        unknown = sorted(set(given) - set(CONFIGURE_ARGUMENTS))
        if unknown:
            raise TypeError(f"unknown settings argument(s): {', '.join(unknown)}")
        return _build(EnvReader(env, given, _ARGUMENT_FOR))

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


def environment_variables(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The documented and ``OTEL_BREAKOUT_*`` variables set in ``environ`` (default ``os.environ``), secret values
    masked."""
    return shown_variables(os.environ if environ is None else environ)


def _api(reader: EnvReader) -> ApiSettings:
    """The API section and its two rules across variables: a token set to blanks, and critical >= warning."""
    token = variable_of(ApiSettings, "token")
    api = reader.section(ApiSettings)
    raw_token = reader.environ.get(token.name)
    if api.token is None and raw_token and raw_token.isspace():
        # Set, but to blanks: most likely a templating slip, and silently serving without a token would
        # open every route. Empty stays "unset", as for every variable.
        raise ConfigError(token.name, "***", f"a token of at least {API_TOKEN_MIN_LENGTH} characters, not blanks")
    if api.cycle_critical_s < api.cycle_warning_s:
        critical = variable_of(ApiSettings, "cycle_critical_s").name
        raise ConfigError(
            reader.sources.get(critical, critical),
            api.cycle_critical_s,
            f"at least {variable_of(ApiSettings, 'cycle_warning_s').name} ({api.cycle_warning_s:g})",
        )
    return api


def _build(reader: EnvReader) -> Settings:
    reader.strict = reader.read(STRICT_CONFIG)
    otlp = {signal: read_otlp(reader, signal) for signal in SIGNALS}
    push = {signal: otlp[signal][1] for signal in SIGNALS}
    resource = read_pairs(reader, RESOURCE_ATTRIBUTES)
    resource_map = dict(resource)
    sampler: str = reader.read(SAMPLER)
    arguments = reader.arguments
    settings = Settings(
        sdk_disabled=reader.read(SDK_DISABLED),
        service_name=reader.read(SERVICE_NAME, default=resource_map.get("service.name", SERVICE_NAME.default)),
        service_version=str(
            arguments.get("service_version", resource_map.get(RESOURCE_ARGUMENTS["service_version"], "unknown"))
        ),
        service_instance_id=arguments.get(
            "service_instance_id", resource_map.get(RESOURCE_ARGUMENTS["service_instance_id"])
        ),
        resource_attributes=resource,
        traces_exporters=read_exporters(reader, "traces", ("otlp",) if push["traces"] else ()),
        metrics_exporters=read_exporters(
            reader, "metrics", ("prometheus", "otlp") if push["metrics"] else ("prometheus",)
        ),
        logs_exporters=read_exporters(reader, "logs", ("otlp",) if push["logs"] else ()),
        otlp_traces=otlp["traces"][0],
        otlp_metrics=otlp["metrics"][0],
        otlp_logs=otlp["logs"][0],
        metrics_temporality=reader.read(TEMPORALITY),
        metrics_histogram_aggregation=reader.read(HISTOGRAM_AGGREGATION),
        metric_export_interval_ms=reader.read(METRIC_EXPORT_INTERVAL),
        metric_export_timeout_ms=reader.read(METRIC_EXPORT_TIMEOUT),
        bsp=read_batch(reader, BSP),
        blrp=read_batch(reader, BLRP),
        sampler=sampler,
        sampler_arg=reader.read(SAMPLER_ARG) if sampler.endswith("traceidratio") else SAMPLER_ARG.default,
        strict=reader.strict,
        cardinality_limit=reader.read(CARDINALITY_LIMIT),
        log_level=reader.read(LOG_LEVEL).upper(),
        log_file=reader.read(LOG_FILE),
        log_file_max_bytes=reader.read(LOG_FILE_MAX_BYTES),
        log_file_backups=reader.read(LOG_FILE_BACKUPS),
        api=_api(reader),
        metrics=reader.section(MetricsSettings),
        resources=reader.section(ResourceSettings),
        report=reader.section(ReportSettings),
        diagnostics=reader.section(DiagnosticsSettings),
        _sources=tuple(sorted(reader.sources.items())),  # last: every section above has been read
    )
    if not settings.service_name.strip():
        raise ConfigError("service_name", settings.service_name, "a non-empty string")
    return settings
