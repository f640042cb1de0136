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

A candle also keeps, under the key ``None``, the journal lines of the evaluations that passed, in journal
order (bytes, which cost less to keep than parsed objects), until a filter fails on it (``DEAD``: no signal
can fire then). When a signal fires on the candle they are read again for each of its checks' value (the first
numeric one per check), which the outcome analysis buckets; the stage bound counts stages only.

The funnel that narrows (``entered``) takes a candle's stages in the order they first appeared in the journal,
the order a bot evaluates them in: a candle enters a scanner stage when every scanner stage before it passed,
and a strategy when all of them did. Stage candidates grouped by trace count there as in ``funnel``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson

from otel_breakout.report._records import OTHER, CheckAcc, GroupKey, GroupState

__all__ = [
    "DEAD",
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
PASSES = None  # the candle key of its passed evaluations (a list of lines)
# Its passes once a filter failed: no signal can fire on the candle, and appending keeps nothing. Recognised
# by type (not identity, which does not survive the trip from a worker process).
DEAD: deque[bytes] = deque(maxlen=0)
_NOWHERE: list[Any] = [0, 0, {}]  # a stage not reached: never counted
_INF = float("inf")

Funnel = dict[tuple[str, str], list[Any]]
Checks = dict[tuple[str, str, str], CheckAcc]
Signals = dict[str, list[Any]]


class Tables:
    """Where finished candidates are counted: the funnel (every stage candidate, and the one that narrows), the
    checks, the per-strategy signal rows and the signals fired on candles."""

    __slots__ = ("checks", "entered", "fired", "funnel", "max_checks", "max_strategies", "signals")

    def __init__(
        self,
        funnel: Funnel,
        checks: Checks,
        signals: Signals,
        max_strategies: int,
        entered: Funnel | None = None,
        fired: list[tuple[str, Any, Any]] | None = None,
        max_checks: int = 10_000,
    ) -> None:
        self.funnel = funnel
        self.checks = checks
        self.signals = signals
        self.max_strategies = max_strategies
        self.entered = entered if entered is not None else {}
        self.fired = fired if fired is not None else []
        self.max_checks = max_checks


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
            if type(state) is not list or (passes is not None and type(passes) is not list):
                earlier[PASSES] = DEAD
            elif passes is None:
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
    funnel, entered = tables.funnel, tables.entered
    passes: Any = None
    at: Any = None
    if len(key) == 3:  # a candle: its scanner filters join every strategy evaluated on it
        assert isinstance(state, dict)
        passes = state.pop(PASSES, None) or None  # the candle is finished: its state is ours to take apart
        parts: Any = state.items()
        at = (key[1], key[2])
        scanned = True
        for stage_key, stage_state in parts:
            if stage_state is not None and stage_key[0] != SIGNAL_COMPONENT:
                scanned = False
                break
    else:
        parts = (((key[1], key[2]), state),)
        scanned = True
    filters: list[tuple[str, str, Any]] = []
    strategies = False
    through = True  # every scanner stage so far passed
    for stage_key, stage_state in parts:
        row = funnel.get(stage_key)
        if row is None:
            row = funnel[stage_key] = [0, 0, {}]
        row[0] += 1
        signal = stage_key[0] == SIGNAL_COMPONENT
        strategies = strategies or signal
        reached = scanned if signal else through
        narrow: list[Any] = _NOWHERE
        if reached:
            narrow = entered.get(stage_key) or entered.setdefault(stage_key, [0, 0, {}])
            narrow[0] += 1
        if stage_state is None:
            row[1] += 1
            if reached:
                narrow[1] += 1
            continue
        if not signal:
            through = False
        removed = row[2]
        removed[stage_state[0]] = removed.get(stage_state[0], 0) + 1
        if reached:
            narrowed = narrow[2]
            narrowed[stage_state[0]] = narrowed.get(stage_state[0], 0) + 1
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


def _parse_passes(lines: list[bytes]) -> list[tuple[tuple[Any, Any, Any], Any, Any]]:
    """(check, value, threshold) of the first numeric evaluation of each check among a candle's passes."""
    found: dict[tuple[Any, Any, Any], tuple[Any, Any]] = {}
    try:  # lines the scan read already, each a JSON object: one array parses in one call
        events = orjson.loads(b"[" + b",".join(lines) + b"]")
    except orjson.JSONDecodeError:  # (nested one level too deep for the parser, say)
        events = [orjson.loads(line) for line in lines]
    for event in events:
        payload = event.get("payload") if type(event) is dict else None
        if type(payload) is not dict:
            continue
        name = payload.get("filter")
        if type(name) is not str:
            name = payload.get("condition")
        value, threshold = payload.get("value"), payload.get("threshold")
        if (type(value) is float or type(value) is int) and (type(threshold) is float or type(threshold) is int):
            found.setdefault((event.get("component"), event.get("stage"), name), (value, threshold))
    return [(check, value, threshold) for check, (value, threshold) in found.items()]


def _fired(strategy: str, at: Any, passes: Any, tables: Tables) -> None:
    """A signal fired on a candle: where, and each of its checks' value (the first evaluation of each)."""
    tables.fired.append((strategy, at[0], at[1]))
    if not passes:
        return
    if type(passes[0]) is bytes:  # read once per candle, whichever of its strategies fired
        passes[:] = _parse_passes(passes)
    checks = tables.checks
    for check, value, threshold in passes:
        if check[0] == SIGNAL_COMPONENT and check[1] != strategy:
            continue  # another strategy's condition: not part of this signal
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
