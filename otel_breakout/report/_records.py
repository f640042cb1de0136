"""What one chunk's scan produces.

Everything here is mergeable: the parent adds :class:`ChunkResult` objects in journal order (see
:mod:`otel_breakout.report._aggregate`) and gets the figures a single sequential pass would. How candidates
are merged and finished is in :mod:`otel_breakout.report._candidates`.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

from otel_breakout.diagnostics._schema import OTHER

__all__ = [
    "BOUNDARY_TOLERANCE",
    "OTHER",
    "SKIP_CAUSES",
    "CheckAcc",
    "ChunkResult",
    "GroupKey",
    "GroupState",
    "ScanOptions",
]

# Why a line was skipped, in the order the report lists them.
SKIP_CAUSES = (
    "not_json",
    "truncated",
    "nan_or_infinity",
    "too_deep",
    "too_long",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "unknown_version",
)
# Gaps are compared with the margin with this relative slack, so a value exactly 5% off by its decimal
# digits (1.9 against 2.0 gives 0.050000000000000044 in binary) counts as within 5%.
BOUNDARY_TOLERANCE = 1e-9
_INF = float("inf")

# A stage candidate's state, see otel_breakout.report._candidates; a candle's: {(component, stage): state}.
# (A candle's passed evaluations sit under the key None, see PASSES in _candidates.)
GroupState = list[Any] | dict[Any, Any] | None
GroupKey = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """What every worker needs to know; picklable."""

    margin: float = 0.1
    since: float = -_INF
    until: float = _INF
    symbols: frozenset[str] | None = None
    sessions: frozenset[str] | None = None
    max_line_bytes: int = 1 << 20
    group_window: int = 4096
    evidence_per_reason: int = 3
    max_shapes: int = 200_000
    max_checks: int = 10_000
    max_reasons: int = 10_000

    @property
    def cutoff(self) -> float:
        """The largest gap that is a near miss."""
        return self.margin * (1 + BOUNDARY_TOLERANCE)


class CheckAcc:
    """Failures of one filter or condition: counters, and compact arrays for the exact medians and what-ifs.

    ``gaps``/``values``/``thresholds`` are the near misses; ``far_gaps`` the other failures with a finite
    gap (so a threshold moved beyond the margin still counts the failures it passes exactly). ``sole_*``
    are the stage candidates this check alone blocked (scanner and other components), ``signal_*`` the
    signal candidates; their arrays hold the worst failure of each such candidate that has a finite gap,
    and ``signal_at`` where it was: ``(symbol, candle_ts)`` on a candle, else None. ``fired_*`` are the
    check's value and threshold on every signal that fired on a candle, and where (for outcomes).
    """

    __slots__ = (
        "failures",
        "far_gaps",
        "fired_at",
        "fired_thresholds",
        "fired_values",
        "gaps",
        "inconsistent",
        "inferred_max",
        "inferred_min",
        "non_numeric",
        "recorded_max",
        "recorded_min",
        "signal_at",
        "signal_blocked",
        "signal_failed",
        "signal_gaps",
        "signal_thresholds",
        "signal_values",
        "sole_blocked",
        "sole_gaps",
        "sole_thresholds",
        "sole_values",
        "thresholds",
        "values",
    )

    def __init__(self) -> None:
        self.failures = 0
        self.non_numeric = 0  # value or threshold missing, null (coerced NaN) or not a number
        self.inconsistent = 0  # recorded as failed although the value is on the passing side
        self.recorded_min = 0
        self.recorded_max = 0
        self.inferred_min = 0
        self.inferred_max = 0
        self.values = array("d")
        self.thresholds = array("d")
        self.gaps = array("d")
        self.far_gaps = array("d")
        self.sole_blocked = 0  # stage candidates this check alone kept from passing
        self.sole_gaps = array("d")
        self.sole_values = array("d")
        self.sole_thresholds = array("d")
        self.signal_blocked = 0  # signal candidates this check alone kept from firing
        self.signal_failed = 0  # signal candidates on which it failed, alone or with others
        self.signal_gaps = array("d")
        self.signal_values = array("d")
        self.signal_thresholds = array("d")
        self.signal_at: list[tuple[Any, Any] | None] = []
        self.fired_values = array("d")  # on signals that fired on a candle
        self.fired_thresholds = array("d")
        self.fired_at: list[tuple[Any, Any]] = []

    def merge(self, other: CheckAcc) -> None:
        for name in self.__slots__:
            mine = getattr(self, name)
            if isinstance(mine, (array, list)):
                mine.extend(getattr(other, name))
            else:
                setattr(self, name, mine + getattr(other, name))

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


class ChunkResult:
    """Everything one chunk contributes. Line numbers are local to the chunk until the parent merges it."""

    __slots__ = (
        "checks",
        "chunk_index",
        "created",
        "entered",
        "error",
        "events",
        "evidence",
        "file_index",
        "filtered",
        "fired",
        "first_seen",
        "funnel",
        "lines",
        "partials",
        "prices",
        "reasons_folded",
        "shape_folded",
        "shapes",
        "signals",
        "size",
        "skip_examples",
        "skipped",
        "ts_max",
        "ts_min",
        "ungrouped",
        "untracked_checks",
    )

    def __init__(self, file_index: int, chunk_index: int, size: int) -> None:
        self.file_index = file_index
        self.chunk_index = chunk_index
        self.size = size
        self.lines = 0
        self.events = 0
        self.filtered = 0
        self.error: str | None = None
        self.ts_min = _INF
        self.ts_max = -_INF
        # (session, component, stage, symbol, passed, reason, check) -> events
        self.shapes: dict[tuple[Any, ...], int] = {}
        self.shape_folded = 0
        self.first_seen: dict[tuple[str, str, str | None], int] = {}
        self.checks: dict[tuple[str, str, str], CheckAcc] = {}
        self.untracked_checks = 0
        self.skipped: dict[str, int] = {}
        self.skip_examples: dict[str, list[int]] = {}
        # reason -> ([examples with a trace id], [examples without]); an example is (line, trace, span, ts, symbol)
        self.evidence: dict[str | None, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
        self.reasons_folded = 0
        # (component, stage) -> [candidates in, left, {check: removed first by it}]
        self.funnel: dict[tuple[str, str], list[Any]] = {}
        # strategy -> [signal candidates, fired, blocked by one check, by several, {check: blocked alone}]
        self.signals: dict[str, list[Any]] = {}
        # The funnel that narrows, same shape: a candle counts in a stage only when it passed every scanner
        # stage before it (a strategy: all of them); stage candidates grouped by trace count as in `funnel`.
        self.entered: dict[tuple[str, str], list[Any]] = {}
        self.fired: list[tuple[str, Any, Any]] = []  # (strategy, symbol, candle_ts) of signals fired on a candle
        self.prices: dict[tuple[Any, Any], float] = {}  # (symbol, candle_ts) -> the close an event recorded
        self.partials: list[tuple[GroupKey, GroupState, int]] = []  # (key, state, creation index in chunk)
        self.created = 0
        self.ungrouped = 0

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)
