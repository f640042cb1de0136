"""The diagnostics report: ranked failure reasons, funnels, near misses and threshold advice judged by outcomes.

``DiagnosticsReportBuilder(paths_or_globs, prices=...).build()`` reads diagnostics journals (plain or gzip) and
candle prices, and returns a :class:`DiagnosticsReport` with ``to_markdown()`` and ``to_dict()``;
``top_blocker()`` and ``recommendation_for(reason)`` answer the first questions without parsing either.
``otel-breakout report`` is the command-line form.
"""

from otel_breakout.report._builder import DiagnosticsReportBuilder
from otel_breakout.report._model import (
    BlockedReason,
    EvidenceLink,
    FunnelStage,
    FunnelStep,
    GapBucket,
    InputFile,
    NearMissStats,
    ReasonCount,
    ReasonEvidence,
    ReportOptions,
    SkippedLines,
    StrategySignals,
    SymbolBlockers,
    Totals,
)
from otel_breakout.report._model_advice import (
    OutcomeBucket,
    OutcomeEvidence,
    OutcomeStats,
    OutcomeSummary,
    PriceSource,
    Recommendation,
    WhatIf,
)
from otel_breakout.report._records import SKIP_CAUSES
from otel_breakout.report._report import DiagnosticsReport

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
    "OutcomeBucket",
    "OutcomeEvidence",
    "OutcomeStats",
    "OutcomeSummary",
    "PriceSource",
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
