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
"""

from __future__ import annotations

from typing import Any

from otel_breakout.report._records import OTHER, CheckAcc, GroupKey, GroupState

__all__ = [
    "MAX_CANDLE_STAGES",
    "MAX_FAILING_NAMES",
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
_INF = float("inf")

Funnel = dict[tuple[str, str], list[Any]]
Checks = dict[tuple[str, str, str], CheckAcc]
Signals = dict[str, list[Any]]


class Tables:
    """Where finished candidates are counted: the funnel, the checks and the per-strategy signal rows."""

    __slots__ = ("checks", "funnel", "max_strategies", "signals")

    def __init__(self, funnel: Funnel, checks: Checks, signals: Signals, max_strategies: int) -> None:
        self.funnel = funnel
        self.checks = checks
        self.signals = signals
        self.max_strategies = max_strategies


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
        if stage in earlier:
            earlier[stage] = _merge_stage(earlier[stage], state)
        elif len(earlier) < MAX_CANDLE_STAGES:
            earlier[stage] = state
        # else: a hostile journal past the per-candle bound in two byte ranges; the single pass would have
        # grouped these evaluations apart, which the parent cannot redo, so they are dropped from the funnel.
    return earlier


def finalize(key: GroupKey, state: GroupState, tables: Tables) -> None:
    """Count a finished group: each stage candidate in the funnel, each signal candidate in its strategy's row.

    Called once per group (hundreds of thousands of times on a large input), so written flat.
    """
    funnel = tables.funnel
    if len(key) == 3:  # a candle: its scanner filters join every strategy evaluated on it
        assert isinstance(state, dict)
        parts: Any = state.items()
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
                _signal(stage_key[1], stage_state, filters, tables)


def _signal(strategy: str, state: Any, filters: list[tuple[str, str, Any]], tables: Tables) -> None:
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
            row[4][check] = row[4].get(check, 0) + 1
        return
    row[3] += 1
    for component, stage, failed in failing:
        for name in failing_names(failed):
            acc = checks.get((component, stage, name))
            if acc is not None:
                acc.signal_failed += 1
