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
    horizons: tuple[int, ...] = (5, 10, 20)
    horizon: int = 20
    cost_bps: float = 10.0
    min_outcomes: int = 30
    edge_share: float = 0.33
    bar_seconds: float | None = None


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
class PriceSource:
    """One ``--prices`` file and what became of its rows (``kept``: rows of symbols and times the report
    needed; ``bad_rows``: rows without a readable time or a positive close)."""

    path: str
    form: str
    rows: int
    kept: int
    symbols: int
    bad_rows: int
    error: str | None


@dataclass(frozen=True, slots=True)
class OutcomeStats:
    """Net forward returns of a group of candidates ``horizon`` bars after their candle, after the round-trip
    cost: median, average (clipped as the rule clips it, see :mod:`otel_breakout.report._verdict`) and the
    share above zero. ``outcomes`` of the ``candidates`` had a price at both ends; the others are None."""

    horizon: int
    candidates: int
    outcomes: int
    median: float | None
    mean: float | None
    win_share: float | None


@dataclass(frozen=True, slots=True)
class OutcomeBucket:
    """A group of candidates by value at the decision horizon: fired signals (by how far they cleared the
    threshold) or candidates the check alone blocked (by how far they missed it). ``role``: ``admitted``
    (the advised change lets them through), ``stop`` (where it stops), ``removed`` (a tightening cuts them),
    ``nearest`` (the group the verdict rests on), empty for the rest."""

    side: str
    low: float
    high: float
    candidates: int
    median: float
    mean: float
    win_share: float
    role: str


@dataclass(frozen=True, slots=True)
class OutcomeEvidence:
    """What a verdict rests on: the check's fired signals and the candidates it alone blocked, per horizon,
    the groups at the decision horizon, and the rule's reasoning in words."""

    horizon: int
    cost_bps: float
    reference_signals: int
    reference_mean: float | None
    fired: tuple[OutcomeStats, ...]
    blocked: tuple[OutcomeStats, ...]
    buckets: tuple[OutcomeBucket, ...]
    rule: str


@dataclass(frozen=True, slots=True)
class OutcomeSummary:
    """Where outcomes came from and how they are measured. ``basis`` is ``"outcomes"`` when at least one
    signal candidate had a price at its candle and ``horizon`` bars later, else ``"no_outcomes"`` (no
    threshold advice is then presented as tested). ``reference`` is every signal fired on a candle."""

    basis: str
    horizons: tuple[int, ...]
    horizon: int
    cost_bps: float
    min_outcomes: int
    edge_share: float
    bar_seconds: float | None
    prices: tuple[PriceSource, ...]
    journal_prices: int
    signals: int
    signals_with_outcome: int
    blocked: int
    blocked_with_outcome: int
    reference: tuple[OutcomeStats, ...]
    note: str


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
    removed: int = 0
    """Signals that fired and would not have (a tightening: ``relative_change`` below zero)."""


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Threshold advice for one check, judged by outcomes (see :mod:`otel_breakout.report._verdict`).

    ``verdict`` is ``"keep"``, ``"loosen"``, ``"tighten"``, ``"too_few_outcomes"`` or ``"untested"`` (no
    prices: nothing was judged); ``basis`` is ``"outcomes"`` or ``"no_outcomes"``. ``recommended`` is the
    advised threshold with exactly what it changes in the recorded data (the current one for "keep"; None
    when too few outcomes or untested). ``flags`` holds ``"crosses_zero"`` when the change would move the
    threshold past zero or flip its sign: shown, never advised. ``outcomes`` is the evidence.

    For comparison, untested by outcomes: ``seed_rule`` (the seed's midpoint rule), ``recover`` (the smallest
    change recovering ``recover_share`` of the candidates this check alone blocked, ``what_if_basis``
    ``"blocked"``, or of its near misses, ``"near_misses"``; None when neither exists) and ``candidates``,
    the what-if rows with exact counts. ``sole_blocked`` candidates were blocked by this check alone,
    ``recoverable`` of them with a value a threshold change can pass.
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
    verdict: str
    basis: str
    unit: str
    flags: tuple[str, ...]
    recommended: WhatIf | None
    outcomes: OutcomeEvidence | None
    seed_rule: WhatIf | None
    recover: WhatIf | None
    what_if_basis: str | None
    candidates: tuple[WhatIf, ...]
    summary: str

    @property
    def advised(self) -> bool:
        """A change (loosen or tighten) judged by outcomes and not flagged."""
        return self.verdict in ("loosen", "tighten") and not self.flags


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: lists for tuples, epoch seconds for times, plus ``top_blocker`` and
        ``recommended_thresholds`` (check -> verdict, basis, threshold, sample sizes, horizon, costs, flags)."""
        data: dict[str, Any] = asdict(self)
        data["top_blocker"] = self.top_blocker()
        recommended: dict[str, Any] = {}
        horizon = self.outcomes.horizon if self.outcomes is not None else None
        cost = self.outcomes.cost_bps if self.outcomes is not None else None
        for rec in self.recommendations:
            evidence = rec.outcomes
            recommended.setdefault(
                rec.check,
                {
                    "verdict": rec.verdict,
                    "basis": rec.basis,
                    "threshold": rec.recommended.threshold if rec.recommended is not None else None,
                    "current_threshold": rec.current_threshold,
                    "direction": rec.direction,
                    "relative_change": rec.recommended.relative_change if rec.recommended is not None else None,
                    "extra_passing": rec.recommended.extra_passing if rec.recommended is not None else None,
                    "removed": rec.recommended.removed if rec.recommended is not None else None,
                    "unit": rec.unit,
                    "flags": list(rec.flags),
                    "advised": rec.advised,
                    "horizon_bars": horizon,
                    "cost_bps": cost,
                    "sample": {
                        "blocked_outcomes": _outcomes_at(evidence.blocked, horizon) if evidence else 0,
                        "fired_outcomes": _outcomes_at(evidence.fired, horizon) if evidence else 0,
                        "reference_signals": evidence.reference_signals if evidence else 0,
                    },
                },
            )
        data["recommended_thresholds"] = recommended
        data["schema"] = "otel-breakout.diagnostics-report/2"
        return data

    def to_markdown(self) -> str:
        """The Markdown report (``reports/diag_summary.md``)."""
        from otel_breakout.report._markdown import render

        return render(self)


def _outcomes_at(stats: tuple[OutcomeStats, ...], horizon: int | None) -> int:
    return next((row.outcomes for row in stats if row.horizon == horizon), 0)
