"""Every environment variable otel-breakout honours, documented once.

The README's environment-variable table is tested against :data:`VARIABLES`, so adding a variable
here without documenting it (or the reverse) fails the test suite. Only :mod:`otel_breakout._settings`
reads the environment; everything else receives a :class:`~otel_breakout.Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["VARIABLES", "Variable"]

# "warn": the OTel specification asks for a warning and the default on a bad value.
# "error": a bad value raises ConfigError (our own variables, and places where a silent default would lose data).
OnInvalid = Literal["warn", "error"]


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    default: str
    description: str
    on_invalid: OnInvalid
    secret: bool = False


def _otel(
    name: str, default: str, description: str, *, on_invalid: OnInvalid = "warn", secret: bool = False
) -> Variable:
    return Variable(name, default, description, on_invalid, secret)


def _ours(name: str, default: str, description: str, *, secret: bool = False) -> Variable:
    return Variable(name, default, description, "error", secret)


_SIGNAL_OTLP = tuple(
    var
    for signal in ("TRACES", "METRICS", "LOGS")
    for var in (
        _otel(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", "", f"{signal.lower()} endpoint, used as is (no path appended)"),
        _otel(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", "", f"{signal.lower()} protocol override"),
        _otel(f"OTEL_EXPORTER_OTLP_{signal}_HEADERS", "", f"{signal.lower()} headers override", secret=True),
        _otel(f"OTEL_EXPORTER_OTLP_{signal}_TIMEOUT", "", f"{signal.lower()} timeout override (ms)"),
        _otel(f"OTEL_EXPORTER_OTLP_{signal}_COMPRESSION", "", f"{signal.lower()} compression override"),
        _otel(f"OTEL_EXPORTER_OTLP_{signal}_INSECURE", "", f"{signal.lower()} insecure override (gRPC)"),
        _otel(f"OTEL_EXPORTER_OTLP_{signal}_CERTIFICATE", "", f"{signal.lower()} CA certificate override"),
        _otel(f"OTEL_EXPORTER_OTLP_{signal}_CLIENT_KEY", "", f"{signal.lower()} client key override"),
        _otel(f"OTEL_EXPORTER_OTLP_{signal}_CLIENT_CERTIFICATE", "", f"{signal.lower()} client certificate override"),
    )
)

VARIABLES: tuple[Variable, ...] = (
    # --- OpenTelemetry standard variables -------------------------------------------------------
    _otel("OTEL_SDK_DISABLED", "false", "`true` turns every signal into a no-op: no threads, no servers, no files"),
    _otel("OTEL_SERVICE_NAME", "breakout-bot", "`service.name` resource attribute"),
    _otel("OTEL_RESOURCE_ATTRIBUTES", "", "extra resource attributes, `k=v,k2=v2` (percent-encoded values)"),
    _otel(
        "OTEL_TRACES_EXPORTER",
        "`otlp` if an OTLP endpoint is set, else `none`",
        "comma list of `otlp`, `console`, `none` or an installed exporter entry point",
        on_invalid="error",
    ),
    _otel(
        "OTEL_METRICS_EXPORTER",
        "`prometheus`, plus `otlp` if an OTLP endpoint is set",
        "comma list of `prometheus` (pull, served by the API), `otlp`, `console`, `none`",
        on_invalid="error",
    ),
    _otel(
        "OTEL_LOGS_EXPORTER",
        "`otlp` if an OTLP endpoint is set, else `none`",
        "comma list of `otlp`, `console`, `none`",
        on_invalid="error",
    ),
    _otel(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "unset (gRPC `http://localhost:4317`, HTTP `http://localhost:4318`)",
        "base endpoint for every signal; HTTP appends `/v1/<signal>`",
    ),
    _otel("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "`grpc` or `http/protobuf`"),
    _otel(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "",
        "`k=v,k2=v2` sent with every export (masked by `otel-breakout env`)",
        secret=True,
    ),
    _otel("OTEL_EXPORTER_OTLP_TIMEOUT", "10000", "export timeout in milliseconds"),
    _otel("OTEL_EXPORTER_OTLP_COMPRESSION", "none", "`none` or `gzip`"),
    _otel("OTEL_EXPORTER_OTLP_INSECURE", "false (true for `http://` gRPC endpoints)", "plaintext gRPC"),
    _otel("OTEL_EXPORTER_OTLP_CERTIFICATE", "", "CA certificate file for TLS"),
    _otel("OTEL_EXPORTER_OTLP_CLIENT_KEY", "", "client private key file for mTLS"),
    _otel("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "", "client certificate file for mTLS"),
    *_SIGNAL_OTLP,
    _otel("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "cumulative", "`cumulative`, `delta` or `lowmemory`"),
    _otel(
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
        "explicit_bucket_histogram",
        "`explicit_bucket_histogram` or `base2_exponential_bucket_histogram` (OTLP only)",
    ),
    _otel("OTEL_METRIC_EXPORT_INTERVAL", "60000", "push interval of periodic metric readers (ms)"),
    _otel("OTEL_METRIC_EXPORT_TIMEOUT", "30000", "push timeout of periodic metric readers (ms)"),
    _otel("OTEL_BSP_SCHEDULE_DELAY", "5000", "span batch delay (ms)"),
    _otel("OTEL_BSP_EXPORT_TIMEOUT", "30000", "span export timeout (ms)"),
    _otel("OTEL_BSP_MAX_QUEUE_SIZE", "2048", "span queue bound; spans beyond it are dropped, never block"),
    _otel("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512", "spans per export"),
    _otel("OTEL_BLRP_SCHEDULE_DELAY", "1000", "log batch delay (ms)"),
    _otel("OTEL_BLRP_EXPORT_TIMEOUT", "30000", "log export timeout (ms)"),
    _otel("OTEL_BLRP_MAX_QUEUE_SIZE", "2048", "log queue bound; records beyond it are dropped, never block"),
    _otel("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "512", "log records per export"),
    _otel(
        "OTEL_TRACES_SAMPLER",
        "parentbased_always_on",
        "`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, "
        "`parentbased_traceidratio`",
    ),
    _otel("OTEL_TRACES_SAMPLER_ARG", "1.0", "ratio for the `traceidratio` samplers, 0 to 1"),
    # --- otel-breakout variables ----------------------------------------------------------------
    _ours("OTEL_BREAKOUT_STRICT_CONFIG", "false", "`true` turns every configuration warning into a ConfigError"),
    _ours(
        "OTEL_BREAKOUT_METRIC_CARDINALITY_LIMIT",
        "2000",
        "attribute sets kept per metric; further sets fold into `otel.metric.overflow=true`",
    ),
    _ours("OTEL_BREAKOUT_LOG_LEVEL", "INFO", "level of the log handlers `configure()` installs"),
    _ours("OTEL_BREAKOUT_LOG_FILE", "unset", "also write JSON log lines with trace ids here (e.g. `logs/app.log`)"),
    _ours("OTEL_BREAKOUT_LOG_FILE_MAX_BYTES", "10485760", "rotate the log file at this size"),
    _ours("OTEL_BREAKOUT_LOG_FILE_BACKUPS", "5", "rotated log files kept"),
    # --- diagnostics collector (otel_breakout.diagnostics) ---------------------------------------
    _ours("OTEL_BREAKOUT_DIAG_ENABLED", "true", "`false` turns every `DiagnosticsCollector` call into a no-op"),
    _ours("OTEL_BREAKOUT_DIAG_DIR", "logs/diag", "directory of the diagnostics JSONL journals"),
    _ours(
        "OTEL_BREAKOUT_DIAG_SINKS",
        "jsonl,logs,spans,metrics",
        "comma list of the diagnostics sinks to feed: `jsonl`, `logs`, `spans`, `metrics` (or `none`)",
    ),
    _ours(
        "OTEL_BREAKOUT_DIAG_QUEUE_SIZE",
        "32768",
        "events the diagnostics queue holds; beyond it events are dropped and counted, never block",
    ),
    _ours(
        "OTEL_BREAKOUT_DIAG_FLUSH_INTERVAL",
        "200",
        "ms between journal writes (10 to 1000): a crash loses at most this much",
    ),
    _ours("OTEL_BREAKOUT_DIAG_MAX_FILE_BYTES", "67108864", "rotate a diagnostics journal at this size"),
    _ours("OTEL_BREAKOUT_DIAG_FSYNC", "false", "`true` fsyncs each journal write (survives power loss, costs I/O)"),
    _ours(
        "OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN",
        "0.1",
        "a failure within this fraction of its threshold is a near miss (0 to 1)",
    ),
    _ours("OTEL_BREAKOUT_DIAG_LOG_PASSES", "false", "`true` also emits passed evaluations as DEBUG log records"),
    _ours(
        "OTEL_BREAKOUT_DIAG_SPAN_EVENTS",
        "8",
        "diagnostic span events per span (0 to 128); the rest are counted as dropped",
    ),
    _ours(
        "OTEL_BREAKOUT_DIAG_SECRET_KEYS",
        "unset",
        "extra comma-separated regular expressions; payload keys matching them are redacted",
    ),
    _ours("OTEL_BREAKOUT_DIAG_MAX_STRING", "4096", "longer payload strings are truncated with a marker"),
    _ours(
        "OTEL_BREAKOUT_DIAG_MAX_REASONS",
        "256",
        "distinct failure reasons counted by name (1 to 100000) in `breakout.diag.reasons` and `snapshot()`; "
        'later ones count as `(other)` and in `breakout.diag.dropped{sink="reasons",cause="overflow"}`',
    ),
    # --- metric catalogue, MetricsLogger and ResourceMonitor (otel_breakout.metrics) ------------
    _ours(
        "OTEL_BREAKOUT_METRICS_WINDOW",
        "1000",
        "samples `MetricsLogger` keeps per metric for `summary()` and `series()` (0 keeps none)",
    ),
    _ours(
        "OTEL_BREAKOUT_METRICS_SYMBOL_ATTRIBUTE",
        "false",
        "`true` adds the `symbol` attribute to the metrics that allow it (opt-in: it multiplies series)",
    ),
    _ours(
        "OTEL_BREAKOUT_METRICS_SYMBOL_LIMIT",
        "50",
        "distinct `symbol` values kept per `MetricsLogger`; later symbols are reported as `_other`",
    ),
    _ours("OTEL_BREAKOUT_RESOURCE_INTERVAL", "5", "seconds between resource monitor samples"),
    _ours("OTEL_BREAKOUT_RESOURCE_HISTORY", "720", "resource samples kept in `metrics_history`"),
    _ours("OTEL_BREAKOUT_RESOURCE_MAX_CPU_PERCENT", "90", "system CPU % above which health degrades"),
    _ours("OTEL_BREAKOUT_RESOURCE_MAX_MEMORY_PERCENT", "85", "system memory % above which health degrades"),
    _ours("OTEL_BREAKOUT_RESOURCE_MAX_MEMORY_MB", "2048", "process resident memory (MiB) above which health degrades"),
    _ours("OTEL_BREAKOUT_RESOURCE_MAX_DISK_PERCENT", "90", "disk % (of `OTEL_BREAKOUT_RESOURCE_DISK_PATH`) limit"),
    _ours("OTEL_BREAKOUT_RESOURCE_MAX_THREADS", "80", "process threads above which health degrades"),
    _ours("OTEL_BREAKOUT_RESOURCE_MAX_OPEN_FILES", "800", "open file descriptors above which health degrades"),
    _ours("OTEL_BREAKOUT_RESOURCE_AUTO_OPTIMIZE", "true", "`false` reports limits without running corrective actions"),
    _ours("OTEL_BREAKOUT_RESOURCE_COOLDOWN", "300", "seconds before the same corrective action may run again"),
    _ours("OTEL_BREAKOUT_RESOURCE_DISK_PATH", ".", "a path on the filesystem whose usage is monitored"),
    _ours(
        "OTEL_BREAKOUT_RESOURCE_LOG_DIR",
        "unset",
        "directory whose old log files the disk action may delete (never anything outside it); unset: no deletion",
    ),
    _ours("OTEL_BREAKOUT_RESOURCE_LOG_MAX_AGE", "604800", "seconds since modification before a log file may go"),
    _ours(
        "OTEL_BREAKOUT_RESOURCE_LOG_PATTERNS",
        "*.log,*.log.*,*.jsonl,*.jsonl.*",
        "file-name patterns the log clean-up may delete (names only: no `/` or `..`)",
    ),
    # --- metrics API (otel_breakout.api) --------------------------------------------------------
    _ours(
        "OTEL_BREAKOUT_API_HOST",
        "127.0.0.1",
        "address `otel-breakout serve` and `ApiServer` bind; loopback unless told",
    ),
    _ours("OTEL_BREAKOUT_API_PORT", "8000", "port of the metrics API (0 picks a free one)"),
    _ours(
        "OTEL_BREAKOUT_API_TOKEN",
        "unset",
        'bearer token (16+ characters; blanks are a `ConfigError`, not "no token") required on every API route '
        "but `/api/metrics` and "
        "`/api/metrics/health`; memory snapshots are refused without one",
        secret=True,
    ),
    _ours(
        "OTEL_BREAKOUT_HEALTH_CYCLE_WARNING_SECONDS",
        "60",
        "`/api/metrics/health` is degraded when the last engine cycle ended longer ago than this",
    ),
    _ours(
        "OTEL_BREAKOUT_HEALTH_CYCLE_CRITICAL_SECONDS",
        "180",
        "`/api/metrics/health` is critical (HTTP 503) when the last engine cycle ended longer ago than this",
    ),
    # --- diagnostics report (otel_breakout.report) ----------------------------------------------
    _ours(
        "OTEL_BREAKOUT_TRACE_URL_TEMPLATE",
        "`http://127.0.0.1:3001/explore?...` (Grafana Explore, Tempo datasource uid `tempo`)",
        "link for trace ids in the diagnostics report; `{trace_id}`, `{span_id}`, `{from_ms}`, `{to_ms}` are "
        "filled in; must be an http(s) URL containing `{trace_id}`",
    ),
    _ours(
        "OTEL_BREAKOUT_REPORT_WORKERS",
        "0",
        "processes `otel-breakout report` uses for inputs of 64 MiB or more; `0` means one per core that is "
        "idle when the read starts",
    ),
    # --- demo (otel_breakout.demo) --------------------------------------------------------------
)
