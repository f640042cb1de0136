"""Candidates: how a group of evaluations is merged across byte ranges and counted once it is finished.

A **stage candidate** is one symbol in one stage of one scan or candle: the evaluations sharing
``(session, component, stage, symbol, key)``, where the key is the payload's ``candle_ts`` or else the trace
id. It feeds the funnel.

A **signal candidate** is one strategy on one symbol and candle: that strategy's conditions plus, when
the key is a numeric ``candle_ts``, every scanner filter recorded for the same ``(session, symbol,
candle_ts)``. The signal fires when none of them failed. To join them, scanner and signal evaluations
with a numeric ``candle_ts`` share one **candle** group keyed ``(session, symbol, candle_ts)`` whose state
holds one stage state per ``(component, stage)``.

A stage state is ``None`` while every evaluation passed; after the first failure it is the list
``[first failing check, failures, lone check, its largest gap, several, value, threshold]``: the lone check
is the first failing one again (the funnel only needs element 0; the lone-blocker counts read 2 to 6),
``several`` is ``False`` while only that check failed and otherwise the distinct failing checks (at most
``MAX_FAILING_NAMES``), and ``value``/``threshold`` belong to the largest gap (the first one on ties; an
infinite gap means a failure no threshold change can pass).

A candle also keeps, under the key ``None``, the numeric evaluations that passed: ``[(stage key, check,
value, threshold), ...]`` in journal order. When a signal fires on the candle they give each of its checks'
values on a fired signal, which the outcome analysis buckets; the stage bound counts stages only.
"""

from __future__ import annotations

from typing import Any

from otel_breakout.report._records import OTHER, CheckAcc, GroupKey, GroupState

__all__ = [
    "MAX_CANDLE_STAGES",
    "MAX_FAILING_NAMES",
    "PASSES",
    "SIGNAL_COMPONENT",
    "Tables",
    "failing_names",
    "finalize",
    "merge_state",
]

SIGNAL_COMPONENT = "signal"
# Bounds on what one candidate may hold whatever the journal says: stages per candle (further stages of
# that candle are grouped on their own, unjoined) and distinct failing checks kept per stage candidate.
MAX_CANDLE_STAGES = 256
MAX_FAILING_NAMES = 64
PASSES = None  # the candle key of its passed evaluations
_INF = float("inf")

Funnel = dict[tuple[str, str], list[Any]]
Checks = dict[tuple[str, str, str], CheckAcc]
Signals = dict[str, list[Any]]


class Tables:
    """Where finished candidates are counted: the funnel (per stage, and the candles' stage patterns), the
    checks, the per-strategy signal rows and the signals fired on candles."""

    __slots__ = (
        "checks",
        "fired",
        "funnel",
        "max_checks",
        "max_patterns",
        "max_strategies",
        "pattern_folded",
        "patterns",
        "signals",
    )

    def __init__(
        self,
        funnel: Funnel,
        checks: Checks,
        signals: Signals,
        max_strategies: int,
        patterns: dict[tuple[Any, ...], int] | None = None,
        fired: list[tuple[str, Any, Any]] | None = None,
        max_patterns: int = 50_000,
        max_checks: int = 10_000,
    ) -> None:
        self.funnel = funnel
        self.checks = checks
        self.signals = signals
        self.max_strategies = max_strategies
        self.patterns = patterns if patterns is not None else {}
        self.fired = fired if fired is not None else []
        self.max_patterns = max_patterns
        self.max_checks = max_checks
        self.pattern_folded = 0

    def count_pattern(self, pattern: tuple[Any, ...], count: int = 1) -> None:
        """Count candles with this stage pattern; past ``max_patterns`` distinct ones, each stage counts as a
        pattern of its own (the candle then enters every stage it has, as in the per-stage funnel)."""
        patterns = self.patterns
        if pattern in patterns:
            patterns[pattern] += count
        elif len(patterns) < self.max_patterns or len(pattern) == 1:
            patterns[pattern] = count
        else:
            self.pattern_folded += count
            for part in pattern:
                patterns[(part,)] = patterns.get((part,), 0) + count


def failing_names(state: list[Any]) -> list[str]:
    """The distinct checks that failed in a (failed) stage state."""
    several = state[4]
    return list(several) if several else [state[2]]


def _merge_stage(earlier: list[Any] | None, later: list[Any] | None) -> list[Any] | None:
    if later is None:
        return earlier
    if earlier is None:
        return list(later)
    if earlier[4] or later[4] or earlier[2] != later[2]:
        names = failing_names(earlier)
        for name in failing_names(later):
            if name not in names and len(names) < MAX_FAILING_NAMES:
                names.append(name)
        earlier[4] = names
    elif later[3] > earlier[3]:
        earlier[3], earlier[5], earlier[6] = later[3], later[5], later[6]
    earlier[1] += later[1]
    return earlier


def merge_state(key: GroupKey, earlier: GroupState, later: GroupState) -> GroupState:
    """The state of a candidate seen as ``earlier`` and then, further on in the journal, as ``later``."""
    if len(key) != 3:
        assert not isinstance(earlier, dict) and not isinstance(later, dict)
        return _merge_stage(earlier, later)
    assert isinstance(earlier, dict) and isinstance(later, dict)
    for stage, state in later.items():
        if stage is PASSES:
            passes = earlier.get(PASSES)
            if passes is None:
                earlier[PASSES] = list(state)
            else:
                passes.extend(state)
        elif stage in earlier:
            earlier[stage] = _merge_stage(earlier[stage], state)
        elif len(earlier) - (PASSES in earlier) < MAX_CANDLE_STAGES:
            earlier[stage] = state
        # else: a hostile journal past the per-candle bound in two byte ranges; the single pass would have
        # grouped these evaluations apart, which the parent cannot redo, so they are dropped from the funnel.
    return earlier


def finalize(key: GroupKey, state: GroupState, tables: Tables) -> None:
    """Count a finished group: each stage candidate in the funnel, each signal candidate in its strategy's row.

    Called once per group (hundreds of thousands of times on a large input), so written flat.
    """
    funnel = tables.funnel
    passes: Any = None
    at: Any = None
    if len(key) == 3:  # a candle: its scanner filters join every strategy evaluated on it
        assert isinstance(state, dict)
        passes = state.get(PASSES)
        if passes is not None:
            state = {k: v for k, v in state.items() if k is not PASSES}
        parts: Any = state.items()
        at = (key[1], key[2])
        tables.count_pattern(tuple(sorted(((k, None if v is None else v[0]) for k, v in parts), key=_first)))
    else:
        parts = (((key[1], key[2]), state),)
    filters: list[tuple[str, str, Any]] = []
    strategies = False
    for stage_key, stage_state in parts:
        row = funnel.get(stage_key)
        if row is None:
            row = funnel[stage_key] = [0, 0, {}]
        row[0] += 1
        signal = stage_key[0] == SIGNAL_COMPONENT
        strategies = strategies or signal
        if stage_state is None:
            row[1] += 1
            continue
        removed = row[2]
        removed[stage_state[0]] = removed.get(stage_state[0], 0) + 1
        if signal:
            # A strategy's own conditions alone are not what stops a signal (the candle's filters count too):
            # its lone blockers are counted per signal candidate instead.
            continue
        filters.append((stage_key[0], stage_key[1], stage_state))
        if not stage_state[4]:
            acc = tables.checks.get((stage_key[0], stage_key[1], stage_state[2]))
            if acc is not None:
                acc.sole_blocked += 1
                if stage_state[3] != _INF:
                    acc.sole_gaps.append(stage_state[3])
                    acc.sole_values.append(stage_state[5])
                    acc.sole_thresholds.append(stage_state[6])
    if strategies:
        for stage_key, stage_state in parts:
            if stage_key[0] == SIGNAL_COMPONENT:
                _signal(stage_key[1], stage_state, filters, tables, at, passes)


def _first(item: tuple[Any, Any]) -> Any:
    return item[0]


def _fired(strategy: str, at: Any, passes: Any, tables: Tables) -> None:
    """A signal fired on a candle: where, and each of its checks' value (the first evaluation of each)."""
    tables.fired.append((strategy, at[0], at[1]))
    if passes is None:
        return
    checks = tables.checks
    seen: set[tuple[Any, str]] = set()
    for stage_key, name, value, threshold in passes:
        if stage_key[0] == SIGNAL_COMPONENT and stage_key[1] != strategy:
            continue  # another strategy's condition: not part of this signal
        mark = (stage_key, name)
        if mark in seen:
            continue
        seen.add(mark)
        check = (stage_key[0], stage_key[1], name)
        acc = checks.get(check)
        if acc is None and len(checks) < tables.max_checks:
            acc = checks[check] = CheckAcc()  # a check that never failed still has values on fired signals
        if acc is not None:
            acc.fired_values.append(value)
            acc.fired_thresholds.append(threshold)
            acc.fired_at.append(at)


def _signal(
    strategy: str, state: Any, filters: list[tuple[str, str, Any]], tables: Tables, at: Any = None, passes: Any = None
) -> None:
    signals = tables.signals
    row = signals.get(strategy)
    if row is None:
        folded = strategy if len(signals) < tables.max_strategies else OTHER  # bounded, like every table
        row = signals.get(folded)
        if row is None:
            row = signals[folded] = [0, 0, 0, 0, {}]
    row[0] += 1
    failing = filters if state is None else [*filters, (SIGNAL_COMPONENT, strategy, state)]
    if not failing:
        row[1] += 1
        if at is not None:
            _fired(strategy, at, passes, tables)
        return
    checks = tables.checks
    if len(failing) == 1 and not failing[0][2][4]:
        component, stage, lone = failing[0]
        check = (component, stage, lone[2])
        row[2] += 1
        acc = checks.get(check)
        if acc is not None:
            acc.signal_blocked += 1
            acc.signal_failed += 1
            if lone[3] != _INF:
                acc.signal_gaps.append(lone[3])
                acc.signal_values.append(lone[5])
                acc.signal_thresholds.append(lone[6])
                acc.signal_at.append(at)
            row[4][check] = row[4].get(check, 0) + 1
        return
    row[3] += 1
    for component, stage, failed in failing:
        for name in failing_names(failed):
            acc = checks.get((component, stage, name))
            if acc is not None:
                acc.signal_failed += 1
