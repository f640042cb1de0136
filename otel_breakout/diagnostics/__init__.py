"""Diagnostics: why each scanner filter and strategy condition passed or failed, cheaply, to every sink.

:class:`DiagnosticsCollector` writes each event to a crash-safe JSONL journal, OTel log records (with the
trace context of the span current at ``record*()``), bounded span events and ``breakout.diag.*`` counters.
The journal's schema (:data:`JOURNAL_FIELDS`, :data:`SCHEMA_VERSION`) is the contract the report reads.
"""

from otel_breakout.diagnostics._coerce import DEFAULT_SECRET_KEYS, REDACTED
from otel_breakout.diagnostics._collector import DiagnosticsCollector
from otel_breakout.diagnostics._event import DiagnosticsEvent
from otel_breakout.diagnostics._journal import journal_path, rotated_paths
from otel_breakout.diagnostics._rules import DEFAULT_NEAR_MISS_MARGIN, infer_direction, is_near_miss
from otel_breakout.diagnostics._schema import JOURNAL_FIELDS, SCHEMA_VERSION

__all__ = [
    "DEFAULT_NEAR_MISS_MARGIN",
    "DEFAULT_SECRET_KEYS",
    "JOURNAL_FIELDS",
    "REDACTED",
    "SCHEMA_VERSION",
    "DiagnosticsCollector",
    "DiagnosticsEvent",
    "infer_direction",
    "is_near_miss",
    "journal_path",
    "rotated_paths",
]
