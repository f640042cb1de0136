"""The diagnostics report: ranked failure reasons, funnels, near misses and tested threshold advice.

``DiagnosticsReportBuilder(paths_or_globs).build()`` reads diagnostics journals (plain or gzip) and returns
a :class:`DiagnosticsReport` with ``to_markdown()`` and ``to_dict()``; ``top_blocker()`` and
``recommendation_for(reason)`` answer the first questions without parsing either. ``otel-breakout report`` is
the command-line form.
"""

from otel_breakout.report._builder import DiagnosticsReportBuilder
from otel_breakout.report._model import (
    BlockedReason,
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
    StrategySignals,
    SymbolBlockers,
    Totals,
    WhatIf,
)
from otel_breakout.report._records import SKIP_CAUSES

__all__ = [
    "SKIP_CAUSES",
    "BlockedReason",
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
    "StrategySignals",
    "SymbolBlockers",
    "Totals",
    "WhatIf",
]
