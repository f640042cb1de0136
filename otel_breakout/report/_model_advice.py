"""The report's records of outcomes and threshold advice: prices read, forward returns, what-ifs, recommendations."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

# No __all__: every class here is public, listed once in otel_breakout.report.__all__.


@dataclass(frozen=True, slots=True)
class OutcomeSettings:
    """How outcomes are measured and judged (see :mod:`otel_breakout.report._verdict` for the rule)."""

    horizons: tuple[int, ...] = (5, 10, 20)
    horizon: int = 20
    cost_bps: float = 10.0
    min_outcomes: int = 30
    edge_share: float = 0.33
    bar_seconds: float | None = None

    def __post_init__(self) -> None:
        if not self.horizons or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.horizons):
            raise ValueError(f"horizons={self.horizons!r}: expected whole numbers of bars, 1 or more")
        if self.horizon not in self.horizons:
            raise ValueError(f"horizon={self.horizon!r}: expected one of the horizons {self.horizons!r}")
        if not (0 <= self.cost_bps < 10_000):
            raise ValueError(f"cost_bps={self.cost_bps!r}: expected basis points from 0 to 9999")
        if isinstance(self.min_outcomes, bool) or not isinstance(self.min_outcomes, int) or self.min_outcomes < 5:
            raise ValueError(f"min_outcomes={self.min_outcomes!r}: expected an integer of at least 5")
        if not (0 < self.edge_share <= 1):
            raise ValueError(f"edge_share={self.edge_share!r}: expected a share above 0 and at most 1")
        if self.bar_seconds is not None and not (0 < self.bar_seconds < 1e8):
            raise ValueError(f"bar_seconds={self.bar_seconds!r}: expected a positive number of seconds")


# The outcome options' defaults, declared once above: the builder, the report's options and the CLI read them.
OUTCOME_DEFAULTS = OutcomeSettings()


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

    For comparison, untested by outcomes: ``midpoint_rule`` (the original system's midpoint rule), ``recover``
    (the smallest change recovering ``recover_share`` of the candidates this check alone blocked, ``what_if_basis``
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
    midpoint_rule: WhatIf | None
    recover: WhatIf | None
    what_if_basis: str | None
    candidates: tuple[WhatIf, ...]
    summary: str

    @property
    def advised(self) -> bool:
        """A change (loosen or tighten) judged by outcomes and not flagged."""
        return self.verdict in ("loosen", "tighten") and not self.flags

    @property
    def seed_rule(self) -> WhatIf | None:
        """Deprecated alias of :attr:`midpoint_rule`, kept for one release."""
        warnings.warn(
            "Recommendation.seed_rule is deprecated; use Recommendation.midpoint_rule", DeprecationWarning, stacklevel=2
        )
        return self.midpoint_rule
