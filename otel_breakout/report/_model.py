"""The report as frozen records: what :meth:`DiagnosticsReportBuilder.build` returns.

``to_dict()`` is the JSON form (field names as keys, timestamps as epoch seconds); ``to_markdown()`` is the
human form written to ``reports/diag_summary.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "BlockedReason",
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
    "StrategySignals",
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
class BlockedReason:
    """A filter or condition and the signal candidates it stopped.

    ``blocked``: candidates on which it was the only failing check, so relaxing it alone would have fired
    the signal; ``with_others``: candidates on which it failed together with other checks; ``failures``:
    all its failed evaluations.
    """

    reason: str
    component: str
    stage: str
    name: str
    blocked: int
    with_others: int
    failures: int


@dataclass(frozen=True, slots=True)
class StrategySignals:
    """One strategy's signal candidates (a symbol on a candle): fired, or blocked by one check or several."""

    strategy: str
    candidates: int
    signals: int
    blocked_by_one: int
    blocked_by_several: int
    top_blocker: str | None


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
    passes when its relative gap is at most that (``failures_passing``). ``extra_passing`` counts the
    candidates this check alone blocked that would then have passed every recorded check: complete signals
    (``unit`` "signals") or symbols through the stage ("candidates"); ``blocked_share`` is their share of all
    the candidates it alone blocked, ``near_miss_share`` the share of its near misses that pass (0 when it
    has none).
    """

    label: str
    threshold: float
    relative_change: float
    failures_passing: int
    near_miss_share: float
    extra_passing: int
    blocked_share: float


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Threshold advice for one check: the seed's proportional rule and the tested smallest change.

    ``basis`` is ``"blocked"`` when the recommendation recovers ``recover_share`` of the candidates this check
    alone blocked (``sole_blocked``, of which ``recoverable`` have a value a threshold change can pass), and
    ``"near_misses"`` when it blocked none recoverable and the recommendation recovers that share of its near
    misses. ``recommended.threshold`` is the advised threshold, ``direction`` which way it moved.
    """

    check: str
    component: str
    stage: str
    name: str
    direction: str | None
    current_threshold: float
    thresholds_vary: bool
    near_misses: int
    sole_blocked: int
    recoverable: int
    basis: str
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
    blocked: tuple[BlockedReason, ...]
    strategies: tuple[StrategySignals, ...]
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

    def top_blocker(self) -> str | None:
        """The reason that alone blocked the most signals (first of :attr:`blocked`), or None if none did."""
        if self.blocked and self.blocked[0].blocked:
            return self.blocked[0].reason
        return None

    def recommendation_for(self, reason: str) -> Recommendation | None:
        """The recommendation for a check, by its reason (``filter:<name>``, ``signal:<strategy>:<condition>``)."""
        return next((rec for rec in self.recommendations if rec.check == reason), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: lists for tuples, epoch seconds for times, plus ``top_blocker`` and
        ``recommended_thresholds`` (check -> threshold, direction, basis, change and extra candidates)."""
        data: dict[str, Any] = asdict(self)
        data["top_blocker"] = self.top_blocker()
        recommended: dict[str, Any] = {}
        for rec in self.recommendations:
            recommended.setdefault(
                rec.check,
                {
                    "threshold": rec.recommended.threshold,
                    "current_threshold": rec.current_threshold,
                    "direction": rec.direction,
                    "basis": rec.basis,
                    "relative_change": rec.recommended.relative_change,
                    "extra_passing": rec.recommended.extra_passing,
                    "unit": rec.unit,
                },
            )
        data["recommended_thresholds"] = recommended
        data["schema"] = "otel-breakout.diagnostics-report/1"
        return data

    def to_markdown(self) -> str:
        """The Markdown report (``reports/diag_summary.md``)."""
        from otel_breakout.report._markdown import render

        return render(self)
