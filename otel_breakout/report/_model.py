"""The report as frozen records: what :meth:`DiagnosticsReportBuilder.build` returns.

``to_dict()`` is the JSON form (field names as keys, timestamps as epoch seconds); ``to_markdown()`` is the
human form written to ``reports/diag_summary.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "DiagnosticsReport",
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


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """How the report was built."""

    inputs: tuple[str, ...]
    near_miss_margin: float
    recover_share: float
    since: float | None
    until: float | None
    symbols: tuple[str, ...]
    sessions: tuple[str, ...]
    group_window: int
    max_line_bytes: int


@dataclass(frozen=True, slots=True)
class InputFile:
    """One journal file and what became of its lines."""

    path: str
    bytes: int
    compressed: bool
    lines: int
    events: int
    filtered_out: int
    skipped: int
    error: str | None


@dataclass(frozen=True, slots=True)
class SkippedLines:
    """Lines skipped for one cause, with up to three ``path:line`` examples."""

    cause: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Totals:
    """The size of what was analysed."""

    events: int
    failures: int
    passes: int
    informational: int
    filtered_out: int
    sessions: int
    symbols: int
    first_ts: float | None
    last_ts: float | None
    span_seconds: float
    files: int
    unreadable_files: int
    lines: int
    skipped_lines: int
    candidates: int
    ungrouped_evaluations: int


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """A failure reason, its count, its share of the failures it is ranked among, and its near misses."""

    reason: str
    failures: int
    share: float
    near_misses: int


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One filter or condition in a stage: candidates it removed first, and its failed evaluations."""

    check: str
    name: str
    removed: int
    failures: int


@dataclass(frozen=True, slots=True)
class FunnelStage:
    """Candidates entering a stage, removed by each check (the first that failed), and left."""

    component: str
    stage: str
    candidates_in: int
    steps: tuple[FunnelStep, ...]
    left: int


@dataclass(frozen=True, slots=True)
class SymbolBlockers:
    """A symbol's failures and its top blocking reasons (shares within the symbol)."""

    symbol: str
    failures: int
    top: tuple[ReasonCount, ...]


@dataclass(frozen=True, slots=True)
class GapBucket:
    """Near misses whose relative gap is above the previous bucket's ``upper`` and at most this one."""

    upper: float
    count: int


@dataclass(frozen=True, slots=True)
class NearMissStats:
    """Near misses of one filter or condition."""

    check: str
    component: str
    stage: str
    name: str
    direction: str | None
    direction_source: str
    failures: int
    near_misses: int
    median_value: float
    median_threshold: float
    median_gap: float
    gap_buckets: tuple[GapBucket, ...]
    inconsistent: int
    non_numeric: int


@dataclass(frozen=True, slots=True)
class WhatIf:
    """One candidate threshold and exactly what it would have changed in the recorded data.

    The threshold moves by ``relative_change`` of its size toward the failing values; a recorded failure
    passes when its relative gap is at most that. ``extra_passing`` counts candidates (complete signals for
    a strategy, symbols through the stage for a filter) whose only failing check was this one and which
    would then have passed every recorded check.
    """

    label: str
    threshold: float
    relative_change: float
    failures_passing: int
    near_miss_share: float
    extra_passing: int


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Threshold advice for one check: the seed's proportional rule and the tested smallest change."""

    check: str
    component: str
    stage: str
    name: str
    direction: str | None
    current_threshold: float
    thresholds_vary: bool
    near_misses: int
    sole_blocked: int
    unit: str
    seed_rule: WhatIf
    recommended: WhatIf
    candidates: tuple[WhatIf, ...]
    summary: str


@dataclass(frozen=True, slots=True)
class EvidenceLink:
    """One recorded failure: where it is in the journal and, when traced, a link to its trace."""

    trace_id: str | None
    span_id: str | None
    url: str | None
    path: str
    line: int
    ts: float
    symbol: str | None


@dataclass(frozen=True, slots=True)
class ReasonEvidence:
    reason: str
    examples: tuple[EvidenceLink, ...]


@dataclass(frozen=True, slots=True)
class DiagnosticsReport:
    """Ranked failure reasons, funnels, near misses and tested recommendations for a set of journals."""

    options: ReportOptions
    totals: Totals
    files: tuple[InputFile, ...]
    skipped: tuple[SkippedLines, ...]
    reasons: tuple[ReasonCount, ...]
    funnel: tuple[FunnelStage, ...]
    symbols: tuple[SymbolBlockers, ...]
    near_misses: tuple[NearMissStats, ...]
    recommendations: tuple[Recommendation, ...]
    evidence: tuple[ReasonEvidence, ...]
    notes: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """No event was left to analyse (no input, or every line skipped or filtered out)."""
        return self.totals.events == 0

    @property
    def readable(self) -> bool:
        """At least one input file could be read (an empty one counts)."""
        return self.totals.files > self.totals.unreadable_files

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: lists for tuples, epoch seconds for times."""
        data: dict[str, Any] = asdict(self)
        data["schema"] = "otel-breakout.diagnostics-report/1"
        return data

    def to_markdown(self) -> str:
        """The Markdown report (``reports/diag_summary.md``)."""
        from otel_breakout.report._markdown import render

        return render(self)
