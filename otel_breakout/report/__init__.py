"""The diagnostics report: ranked failure reasons, funnels, near misses and tested threshold advice.

``DiagnosticsReportBuilder(paths_or_globs).build()`` reads diagnostics journals (plain or gzip) and returns
a :class:`DiagnosticsReport` with ``to_markdown()`` and ``to_dict()``; ``otel-breakout report`` is the
command-line form.
"""

from otel_breakout.report._builder import DiagnosticsReportBuilder
from otel_breakout.report._model import (
    DiagnosticsReport,
    EvidenceLink,
    FunnelStage,
    FunnelStep,
    GapBucket,
    InputFile,
    NearMissStats,
    ReasonCount,
    ReasonEvidence,
    Recommendation,
    ReportOptions,
    SkippedLines,
    SymbolBlockers,
    Totals,
    WhatIf,
)
from otel_breakout.report._records import SKIP_CAUSES

__all__ = [
    "SKIP_CAUSES",
    "DiagnosticsReport",
    "DiagnosticsReportBuilder",
    "EvidenceLink",
    "FunnelStage",
    "FunnelStep",
    "GapBucket",
    "InputFile",
    "NearMissStats",
    "ReasonCount",
    "ReasonEvidence",
    "Recommendation",
    "ReportOptions",
    "SkippedLines",
    "SymbolBlockers",
    "Totals",
    "WhatIf",
]
