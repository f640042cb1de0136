"""Our process-wide variables (``OTEL_BREAKOUT_*`` outside the feature sections): strictness, cardinality, logs."""

from __future__ import annotations

from otel_breakout._setting import Variable

__all__ = [
    "CARDINALITY_LIMIT",
    "CORE_VARIABLES",
    "LOG_FILE",
    "LOG_FILE_BACKUPS",
    "LOG_FILE_MAX_BYTES",
    "LOG_LEVEL",
    "STRICT_CONFIG",
]

STRICT_CONFIG = Variable(
    "OTEL_BREAKOUT_STRICT_CONFIG",
    False,
    "`true` turns every configuration warning into a ConfigError",
    kind="bool",
    argument="strict",
)
CARDINALITY_LIMIT = Variable(
    "OTEL_BREAKOUT_METRIC_CARDINALITY_LIMIT",
    2000,
    "attribute sets kept per metric; further sets fold into `otel.metric.overflow=true`",
    kind="int",
    minimum=2,
    argument="cardinality_limit",
)
# Parsed in lower case (the message lists them so); the settings keep the logging module's upper-case name.
LOG_LEVEL = Variable(
    "OTEL_BREAKOUT_LOG_LEVEL",
    "INFO",
    "level of the log handlers `configure()` installs",
    kind="choice",
    choices=("debug", "info", "warning", "error", "critical"),
    argument="log_level",
)
LOG_FILE: Variable[str | None] = Variable(
    "OTEL_BREAKOUT_LOG_FILE",
    None,
    "also write JSON log lines with trace ids here (e.g. `logs/app.log`)",
    argument="log_file",
)
LOG_FILE_MAX_BYTES = Variable(
    "OTEL_BREAKOUT_LOG_FILE_MAX_BYTES", 10 * 1024 * 1024, "rotate the log file at this size", kind="int", minimum=1024
)
LOG_FILE_BACKUPS = Variable("OTEL_BREAKOUT_LOG_FILE_BACKUPS", 5, "rotated log files kept", kind="int")

CORE_VARIABLES = (STRICT_CONFIG, CARDINALITY_LIMIT, LOG_LEVEL, LOG_FILE, LOG_FILE_MAX_BYTES, LOG_FILE_BACKUPS)
