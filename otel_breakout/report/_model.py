"""The report's records of what was read and counted (inputs, totals, blockers, funnel, near misses, evidence).

Frozen records, data only. ``ReportData`` holds a whole report and answers the questions that need no rendering;
:class:`~otel_breakout.report.DiagnosticsReport` adds its two forms on top (``_report.py``), so the renderers
(``_markdown.py``) read ``ReportData`` and never import the class that calls them. The outcome and advice records
live in ``_model_advice.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_breakout.report._model_advice import OUTCOME_DEFAULTS, OutcomeSummary, Recommendation

# No __all__: every class here is public, listed once in otel_breakout.report.__all__ (ReportData aside, the
# base of DiagnosticsReport that the renderers read).


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
    prices: tuple[str, ...] = ()
    horizons: tuple[int, ...] = OUTCOME_DEFAULTS.horizons
    horizon: int = OUTCOME_DEFAULTS.horizon
    cost_bps: float = OUTCOME_DEFAULTS.cost_bps
    min_outcomes: int = OUTCOME_DEFAULTS.min_outcomes
    edge_share: float = OUTCOME_DEFAULTS.edge_share
    bar_seconds: float | None = OUTCOME_DEFAULTS.bar_seconds


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
    """One filter or condition in a stage: candidates it removed first (of those entering the stage), and its
    failed evaluations (on every candidate it was evaluated on)."""

    check: str
    name: str
    removed: int
    failures: int


@dataclass(frozen=True, slots=True)
class FunnelStage:
    """Candidates entering a stage, removed by each check (the first that failed), and left.

    On candles (evaluations with a numeric ``candle_ts``) a candidate enters a scanner stage only when it
    passed every scanner stage before it in pipeline order, and a strategy only when it passed them all, so
    the funnel narrows to the signals; ``evaluated`` counts every candidate the stage was evaluated on.
    """

    component: str
    stage: str
    candidates_in: int
    steps: tuple[FunnelStep, ...]
    left: int
    evaluated: int = 0


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
class ReportData:
    """What a report holds, and the questions it answers without rendering (the base of :class:`DiagnosticsReport`)."""

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
    outcomes: OutcomeSummary | None = None

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
