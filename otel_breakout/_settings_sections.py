"""The feature sections of the settings (``OTEL_BREAKOUT_*``), each field declared once by its variable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from otel_breakout._setting import setting

__all__ = [
    "API_TOKEN_MIN_LENGTH",
    "DEFAULT_TRACE_URL_TEMPLATE",
    "DIAGNOSTICS_SINKS",
    "ApiSettings",
    "DiagnosticsSettings",
    "DiagnosticsSink",
    "MetricsSettings",
    "ReportSettings",
    "ResourceLimits",
    "ResourceSettings",
]

# Grafana Explore on the Tempo datasource (uid `tempo`), the trace queried by id, one hour either side.
DEFAULT_TRACE_URL_TEMPLATE = (
    "http://127.0.0.1:3001/explore?schemaVersion=1&orgId=1&panes="
    "%7B%22trace%22:%7B%22datasource%22:%22tempo%22,%22queries%22:%5B%7B%22refId%22:%22A%22,"
    "%22datasource%22:%7B%22type%22:%22tempo%22,%22uid%22:%22tempo%22%7D,%22queryType%22:%22traceql%22,"
    "%22query%22:%22{trace_id}%22%7D%5D,%22range%22:%7B%22from%22:%22{from_ms}%22,%22to%22:%22{to_ms}%22%7D%7D%7D"
)
# Shorter bearer tokens are guessable; `python -c "import secrets; print(secrets.token_urlsafe(32))"` makes one.
API_TOKEN_MIN_LENGTH = 16
DiagnosticsSink = Literal["jsonl", "logs", "spans", "metrics"]
DIAGNOSTICS_SINKS: tuple[DiagnosticsSink, ...] = ("jsonl", "logs", "spans", "metrics")
_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """The diagnostics report (``otel-breakout report``)."""

    trace_url_template: str = setting(
        "OTEL_BREAKOUT_TRACE_URL_TEMPLATE",
        DEFAULT_TRACE_URL_TEMPLATE,
        "link for trace ids in the diagnostics report; `{trace_id}`, `{span_id}`, `{from_ms}`, `{to_ms}` are "
        "filled in; must be an http(s) URL containing `{trace_id}`",
        kind="url_template",
        shown="`http://127.0.0.1:3001/explore?...` (Grafana Explore, Tempo datasource uid `tempo`)",
    )
    workers: int = setting(  # 0: one per core that is idle when a large read starts
        "OTEL_BREAKOUT_REPORT_WORKERS",
        0,
        "processes `otel-breakout report` uses for inputs of 64 MiB or more; `0` means one per core that is "
        "idle when the read starts",
        kind="int",
    )


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The metrics API (``otel_breakout.api``): where it binds, its token, and when a quiet engine is unhealthy."""

    host: str = setting(
        "OTEL_BREAKOUT_API_HOST",
        "127.0.0.1",
        "address `otel-breakout serve` and `ApiServer` bind; loopback unless told",
    )
    port: int = setting(
        "OTEL_BREAKOUT_API_PORT", 8000, "port of the metrics API (0 picks a free one)", kind="int", maximum=65535
    )
    token: str | None = setting(
        "OTEL_BREAKOUT_API_TOKEN",
        None,
        'bearer token (16+ characters; blanks are a `ConfigError`, not "no token") required on every API route '
        "but `/api/metrics` and `/api/metrics/health`; memory snapshots are refused without one",
        minimum=API_TOKEN_MIN_LENGTH,
        secret=True,
        repr=False,
    )
    cycle_warning_s: float = setting(
        "OTEL_BREAKOUT_HEALTH_CYCLE_WARNING_SECONDS",
        60.0,
        "`/api/metrics/health` is degraded when the last engine cycle ended longer ago than this",
        kind="float",
        minimum=1,
        maximum=_DAY,
    )
    cycle_critical_s: float = setting(
        "OTEL_BREAKOUT_HEALTH_CYCLE_CRITICAL_SECONDS",
        180.0,
        "`/api/metrics/health` is critical (HTTP 503) when the last engine cycle ended longer ago than this",
        kind="float",
        minimum=1,
        maximum=_DAY,
    )


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """``OTEL_BREAKOUT_METRICS_*``: the MetricsLogger's rolling window and the opt-in symbol attribute."""

    window: int = setting(
        "OTEL_BREAKOUT_METRICS_WINDOW",
        1000,
        "samples `MetricsLogger` keeps per metric for `summary()` and `series()` (0 keeps none)",
        kind="int",
        maximum=1_000_000,
    )
    symbol_attribute: bool = setting(
        "OTEL_BREAKOUT_METRICS_SYMBOL_ATTRIBUTE",
        False,
        "`true` adds the `symbol` attribute to the metrics that allow it (opt-in: it multiplies series)",
        kind="bool",
    )
    symbol_limit: int = setting(
        "OTEL_BREAKOUT_METRICS_SYMBOL_LIMIT",
        50,
        "distinct `symbol` values kept per `MetricsLogger`; later symbols are reported as `_other`",
        kind="int",
        minimum=1,
        maximum=10_000,
    )


def _percent(name: str, default: float, description: str) -> float:
    return setting(f"OTEL_BREAKOUT_RESOURCE_{name}", default, description, kind="float", minimum=1, maximum=100)


@dataclass(frozen=True, slots=True)
class ResourceLimits:
    """Above these, health degrades and corrective actions run (``max_memory_mb`` is this process's RSS)."""

    max_cpu_percent: float = _percent("MAX_CPU_PERCENT", 90.0, "system CPU % above which health degrades")
    max_memory_percent: float = _percent("MAX_MEMORY_PERCENT", 85.0, "system memory % above which health degrades")
    max_memory_mb: float = setting(
        "OTEL_BREAKOUT_RESOURCE_MAX_MEMORY_MB",
        2048.0,
        "process resident memory (MiB) above which health degrades",
        kind="float",
        minimum=1,
        maximum=1e9,
    )
    max_disk_percent: float = _percent("MAX_DISK_PERCENT", 90.0, "disk % (of `OTEL_BREAKOUT_RESOURCE_DISK_PATH`) limit")
    max_threads: int = setting(
        "OTEL_BREAKOUT_RESOURCE_MAX_THREADS",
        80,
        "process threads above which health degrades",
        kind="int",
        minimum=1,
    )
    max_open_files: int = setting(
        "OTEL_BREAKOUT_RESOURCE_MAX_OPEN_FILES",
        800,
        "open file descriptors above which health degrades",
        kind="int",
        minimum=1,
    )

    @classmethod
    def from_settings(cls, settings: ResourceLimits) -> ResourceLimits:
        """The limits of a :class:`ResourceSettings` (or a copy of other limits)."""
        return cls(**{name: getattr(settings, name) for name in ResourceLimits.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class ResourceSettings(ResourceLimits):
    """``OTEL_BREAKOUT_RESOURCE_*``: the resource monitor's interval, limits and corrective actions."""

    interval_s: float = setting(
        "OTEL_BREAKOUT_RESOURCE_INTERVAL",
        5.0,
        "seconds between resource monitor samples",
        kind="float",
        minimum=0.01,
        maximum=_DAY,
    )
    history: int = setting(
        "OTEL_BREAKOUT_RESOURCE_HISTORY",
        720,
        "resource samples kept in `metrics_history`",
        kind="int",
        minimum=1,
        maximum=1_000_000,
    )
    auto_optimize: bool = setting(
        "OTEL_BREAKOUT_RESOURCE_AUTO_OPTIMIZE",
        True,
        "`false` reports limits without running corrective actions",
        kind="bool",
    )
    cooldown_s: float = setting(
        "OTEL_BREAKOUT_RESOURCE_COOLDOWN",
        300.0,
        "seconds before the same corrective action may run again",
        kind="float",
        minimum=0,
        maximum=_DAY,
    )
    disk_path: str = setting(
        "OTEL_BREAKOUT_RESOURCE_DISK_PATH", ".", "a path on the filesystem whose usage is monitored"
    )
    log_dir: str | None = setting(
        "OTEL_BREAKOUT_RESOURCE_LOG_DIR",
        None,
        "directory whose old log files the disk action may delete (never anything outside it); unset: no deletion",
    )
    log_max_age_s: float = setting(
        "OTEL_BREAKOUT_RESOURCE_LOG_MAX_AGE",
        7 * _DAY,
        "seconds since modification before a log file may go",
        kind="float",
        minimum=0,
        maximum=1e10,
    )
    log_patterns: tuple[str, ...] = setting(
        "OTEL_BREAKOUT_RESOURCE_LOG_PATTERNS",
        ("*.log", "*.log.*", "*.jsonl", "*.jsonl.*"),
        "file-name patterns the log clean-up may delete (names only: no `/` or `..`)",
        kind="file_patterns",
    )


@dataclass(frozen=True, slots=True)
class DiagnosticsSettings:
    """The diagnostics collector (``OTEL_BREAKOUT_DIAG_*``); see docs/diagnostics.md."""

    enabled: bool = setting(
        "OTEL_BREAKOUT_DIAG_ENABLED",
        True,
        "`false` turns every `DiagnosticsCollector` call into a no-op",
        kind="bool",
    )
    output_dir: str = setting("OTEL_BREAKOUT_DIAG_DIR", "logs/diag", "directory of the diagnostics JSONL journals")
    sinks: tuple[DiagnosticsSink, ...] = setting(
        "OTEL_BREAKOUT_DIAG_SINKS",
        DIAGNOSTICS_SINKS,
        "comma list of the diagnostics sinks to feed: `jsonl`, `logs`, `spans`, `metrics` (or `none`)",
        kind="names",
        choices=DIAGNOSTICS_SINKS,
    )
    queue_size: int = setting(
        "OTEL_BREAKOUT_DIAG_QUEUE_SIZE",
        32_768,
        "events the diagnostics queue holds; beyond it events are dropped and counted, never block",
        kind="int",
        minimum=16,
    )
    flush_interval_ms: int = setting(
        "OTEL_BREAKOUT_DIAG_FLUSH_INTERVAL",
        200,
        "ms between journal writes (10 to 1000): a crash loses at most this much",
        kind="int",
        minimum=10,
        maximum=1000,
    )
    max_file_bytes: int = setting(
        "OTEL_BREAKOUT_DIAG_MAX_FILE_BYTES",
        64 * 1024 * 1024,
        "rotate a diagnostics journal at this size",
        kind="int",
        minimum=4096,
    )
    fsync: bool = setting(
        "OTEL_BREAKOUT_DIAG_FSYNC",
        False,
        "`true` fsyncs each journal write (survives power loss, costs I/O)",
        kind="bool",
    )
    # One rule for every place a margin is given (variable, collector, report builder, `report --margin`): a
    # fraction above 0 (a margin of 0 selects nothing and collapses the report's gap buckets) and at most 1
    # (beyond the threshold's own size nothing is "near").
    near_miss_margin: float = setting(
        "OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN",
        0.1,
        "a failure within this fraction of its threshold is a near miss (above 0, at most 1)",
        kind="float",
        minimum=0,
        maximum=1,
        above_minimum=True,
        expect="a fraction of the threshold above 0 and at most 1 (0.1 means 10%)",
    )
    log_passes: bool = setting(
        "OTEL_BREAKOUT_DIAG_LOG_PASSES",
        False,
        "`true` also emits passed evaluations as DEBUG log records",
        kind="bool",
    )
    span_events_per_span: int = setting(
        "OTEL_BREAKOUT_DIAG_SPAN_EVENTS",
        8,
        "diagnostic span events per span (0 to 128); the rest are counted as dropped",
        kind="int",
        maximum=128,
    )
    # Extra regular expressions for secret payload keys, on top of the built-in ones.
    secret_keys: tuple[str, ...] = setting(
        "OTEL_BREAKOUT_DIAG_SECRET_KEYS",
        (),
        "extra comma-separated regular expressions; payload keys matching them are redacted",
        kind="regexes",
        shown="unset",
    )
    max_string: int = setting(
        "OTEL_BREAKOUT_DIAG_MAX_STRING",
        4096,
        "longer payload strings are truncated with a marker",
        kind="int",
        minimum=64,
        maximum=1_048_576,
    )
    # Distinct failure reasons counted by name; later ones are counted as "(other)".
    max_reasons: int = setting(
        "OTEL_BREAKOUT_DIAG_MAX_REASONS",
        256,
        "distinct failure reasons counted by name (1 to 100000) in `breakout.diag.reasons` and `snapshot()`; "
        'later ones count as `(other)` and in `breakout.diag.dropped{sink="reasons",cause="overflow"}`',
        kind="int",
        minimum=1,
        maximum=100_000,
    )
