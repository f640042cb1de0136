"""A straightforward reference for the diagnostics report, used by the property tests and the benchmark.

Standard library only, written for obviousness rather than speed: ``json.loads`` per line, every event kept
in lists, a ``Counter`` for reasons, plain dicts of candidates (stage groups and candles joining scanner
filters with strategy conditions) with no window, ``statistics.median``, what-if counts by counting. The
package's report must agree with it exactly (see ``comparable``).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from otel_breakout.report import DiagnosticsReport
from otel_breakout.report._inputs import expand_inputs

__all__ = ["comparable", "reference_report"]

SHARES = (0.25, 0.5, 0.75, 1.0)


class _NonFinite(ValueError):
    pass


def _constant(name: str) -> float:
    raise _NonFinite(name)


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NonFinite(text)
    return value


@dataclass
class _Event:
    file: int
    line: int
    ts: float
    session: str
    component: str
    stage: str
    symbol: str | None
    passed: bool | None
    reason: str | None
    trace_id: str | None
    name: str | None
    value: Any
    threshold: Any
    direction: Any
    candle_ts: Any
    close: Any = None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_JOURNAL_NAME = re.compile(r"^diag_(.+)_\d+(?:\.\d+)?\.jsonl(?:\.gz)?$")


def _legacy(obj: Any, path: str) -> Any:
    """A seed-format line (no v, no session_id) in a file whose name carries a session, as a schema-1 event."""
    match = _JOURNAL_NAME.match(os.path.basename(path))
    if match is None or not isinstance(obj, dict) or "v" in obj or "session_id" in obj:
        return obj
    if not all(key in obj for key in ("ts", "component", "stage")):
        return obj
    return {**obj, "v": 1, "session_id": match.group(1), "trace_id": None}


def _cause(obj: Any) -> str | None:
    """Why a parsed line is not an event (None: it is one)."""
    if not isinstance(obj, dict):
        return "not_an_object"
    for key in ("v", "ts", "session_id", "component", "stage"):
        if key not in obj:
            return "missing_field"
    v = obj["v"]
    if isinstance(v, bool) or not _is_number(v):
        return "wrong_type"
    if not (v == 1 and isinstance(v, int)) and not (isinstance(v, float) and 1 <= v < 2):
        return "unknown_version"
    checks = [
        _is_number(obj["ts"]),
        isinstance(obj["session_id"], str),
        isinstance(obj["component"], str),
        isinstance(obj["stage"], str),
        obj.get("symbol") is None or isinstance(obj.get("symbol"), str),
        obj.get("passed") is None or isinstance(obj.get("passed"), bool),
        obj.get("reason") is None or isinstance(obj.get("reason"), str),
        obj.get("trace_id") is None or isinstance(obj.get("trace_id"), str),
        obj.get("payload") is None or isinstance(obj.get("payload"), dict),
    ]
    return None if all(checks) else "wrong_type"


def _lines(path: str, compressed: bool) -> Any:
    opener: Any = gzip.open if compressed else open
    with opener(path, "rb") as handle:
        yield from handle


def _read(paths: list[str], max_line_bytes: int) -> tuple[list[_Event], Counter[str], int, list[Any]]:
    files, _ = expand_inputs(paths)
    events: list[_Event] = []
    skipped: Counter[str] = Counter()
    lines_total = 0
    for index, source in enumerate(files):
        if source.error is not None:
            continue
        for number, line in enumerate(_lines(source.path, source.compressed), 1):
            lines_total += 1
            last = not line.endswith(b"\n")
            raw = line[:-1] if not last else line
            if len(raw) > max_line_bytes:
                skipped["too_long"] += 1
                continue
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw, parse_constant=_constant, parse_float=_float)
            except _NonFinite:
                skipped["truncated" if last else "nan_or_infinity"] += 1
                continue
            except RecursionError:
                skipped["truncated" if last else "too_deep"] += 1
                continue
            except ValueError:
                skipped["truncated" if last else "not_json"] += 1
                continue
            obj = _legacy(obj, source.path)
            cause = _cause(obj)
            if cause is not None:
                skipped[cause] += 1
                continue
            payload = obj.get("payload") or {}
            events.append(
                _Event(
                    index,
                    number,
                    obj["ts"],
                    obj["session_id"],
                    obj["component"],
                    obj["stage"],
                    obj.get("symbol"),
                    obj.get("passed"),
                    obj.get("reason"),
                    obj.get("trace_id"),
                    _name(payload),
                    payload.get("value"),
                    payload.get("threshold"),
                    payload.get("direction"),
                    payload.get("candle_ts"),
                    payload.get("close"),
                )
            )
    return events, skipped, lines_total, files


def _name(payload: dict[str, Any]) -> str | None:
    for key in ("filter", "condition"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    return None


def _gap(event: _Event) -> tuple[float, str | None, str]:
    """(gap or inf, direction vote, kind) of a failed evaluation; kind is numeric/non_numeric/inconsistent."""
    value, threshold = event.value, event.threshold
    if not (_is_number(value) and _is_number(threshold)):
        return math.inf, None, "non_numeric"
    value, threshold = float(value), float(threshold)
    direction = event.direction
    if direction == "min" and value > threshold:
        return math.inf, "recorded_min", "inconsistent"
    if direction == "max" and value < threshold:
        return math.inf, "recorded_max", "inconsistent"
    if direction in ("min", "max"):
        vote: str | None = f"recorded_{direction}"
    else:
        vote = "inferred_min" if value < threshold else "inferred_max" if value > threshold else None
    gap = abs(value - threshold) / abs(threshold) if threshold != 0 else abs(value - threshold)
    return gap, vote, "numeric"


def _k(share: float, n: int) -> int:
    return max(1, min(n, math.ceil(share * n - 1e-9)))


def _label(component: str, stage: str, name: str) -> str:
    if component == "scanner":
        return f"filter:{name}"
    if component == "signal":
        return f"signal:{stage}:{name}"
    return f"{component}:{stage}:{name}"


# A failed evaluation inside a candidate: (check name, gap or inf, value, threshold).
_Failure = tuple[str, float, Any, Any]
Check = tuple[str, str, str]

MAX_CANDLE_STAGES = 256  # stages joined per candle; the rest of that candle is grouped on its own
MAX_FAILING_NAMES = 64  # distinct failing checks counted "with others" per stage candidate


def _worst(failures: list[_Failure]) -> tuple[float, Any, Any]:
    """The largest gap among one check's failures (the first on ties), with its value and threshold."""
    _, gap, value, threshold = max(failures, key=lambda f: f[1])
    return gap, value, threshold


# An evaluation inside a candidate: (check name, passed, failure or None, value, threshold).
_Item = tuple[str, bool, _Failure | None, Any, Any]


class _Candidates:
    """Stage candidates (the funnel) and signal candidates (what blocked signals), from all evaluations at once."""

    def __init__(self) -> None:
        self.groups: dict[tuple[Any, ...], list[_Item]] = {}
        self.candles: dict[tuple[Any, ...], dict[tuple[str, str], list[_Item]]] = {}
        self.funnel: dict[tuple[str, str], list[Any]] = {}  # every stage candidate
        self.trace_funnel: dict[tuple[str, str], list[Any]] = {}  # those grouped by trace (not on a candle)
        self.patterns: list[dict[tuple[str, str], str | None]] = []  # per candle: stage -> first failing check
        self.sole: dict[Check, list[tuple[float, Any, Any]]] = {}  # stage level, non-signal components
        self.sole_blocked: Counter[Check] = Counter()
        self.signal: dict[Check, list[tuple[float, Any, Any, Any]]] = {}  # (gap, value, threshold, at)
        self.signal_blocked: Counter[Check] = Counter()
        self.signal_failed: Counter[Check] = Counter()
        self.strategies: dict[str, list[Any]] = {}
        self.fired: list[tuple[str, Any]] = []  # (strategy, (symbol, candle_ts)) of signals fired on candles
        self.fired_values: dict[Check, list[tuple[Any, Any, Any]]] = {}  # check -> (value, threshold, at)

    def add(self, e: _Event, key: Any, failure: _Failure | None) -> None:
        item = (str(e.name), bool(e.passed), failure, e.value, e.threshold)
        numeric = isinstance(key, (int, float)) and not isinstance(key, bool)
        if numeric and e.component in ("scanner", "signal"):
            candle = self.candles.setdefault((e.session, e.symbol, key), {})
            stage = (e.component, e.stage)
            if stage in candle or len(candle) < MAX_CANDLE_STAGES:
                candle.setdefault(stage, []).append(item)
                return
        self.groups.setdefault((e.session, e.component, e.stage, e.symbol, key), []).append(item)

    def finish(self) -> None:
        for (_, comp, stage, _, _), items in self.groups.items():
            self._stage(comp, stage, items, self.trace_funnel)
            if comp == "signal":
                self._signal(stage, [("signal", stage, items)], None)
        for (_, symbol, candle_ts), candle in self.candles.items():
            filters = [(comp, stage, items) for (comp, stage), items in candle.items() if comp != "signal"]
            pattern = {}
            for (comp, stage), items in candle.items():
                self._stage(comp, stage, items, None)
                failed = [f for _, _, f, _, _ in items if f is not None]
                pattern[(comp, stage)] = failed[0][0] if failed else None
            self.patterns.append(pattern)
            for (comp, stage), items in candle.items():
                if comp == "signal":
                    self._signal(stage, [*filters, ("signal", stage, items)], (symbol, candle_ts))

    def _stage(self, comp: str, stage: str, items: list[_Item], trace: dict[tuple[str, str], list[Any]] | None) -> None:
        rows = [self.funnel.setdefault((comp, stage), [0, 0, Counter()])]
        if trace is not None:
            rows.append(trace.setdefault((comp, stage), [0, 0, Counter()]))
        failed = [f for _, _, f, _, _ in items if f is not None]
        for row in rows:
            row[0] += 1
            if not failed:
                row[1] += 1
            else:
                row[2][failed[0][0]] += 1
        if not failed:
            return
        if comp != "signal" and len({f[0] for f in failed}) == 1:
            check = (comp, stage, failed[0][0])
            self.sole_blocked[check] += 1
            worst = _worst(failed)
            if worst[0] != math.inf:
                self.sole.setdefault(check, []).append(worst)

    def _signal(self, strategy: str, parts: list[tuple[str, str, list[_Item]]], at: Any) -> None:
        row = self.strategies.setdefault(strategy, [0, 0, 0, 0, Counter()])
        row[0] += 1
        failing: dict[Check, list[_Failure]] = {}
        names_per_stage: list[list[Check]] = []
        for comp, stage, items in parts:
            names: list[Check] = []
            for _, _, f, _, _ in items:
                if f is None:
                    continue
                check = (comp, stage, f[0])
                failing.setdefault(check, []).append(f)
                if check not in names:
                    names.append(check)
            names_per_stage.append(names[:MAX_FAILING_NAMES])
        if not failing:
            row[1] += 1
            if at is not None:
                self.fired.append((strategy, at))
                for comp, stage, items in parts:
                    seen = set()
                    for name, passed, _, value, threshold in items:
                        if not (passed and _is_number(value) and _is_number(threshold)) or name in seen:
                            continue
                        seen.add(name)
                        self.fired_values.setdefault((comp, stage, name), []).append((value, threshold, at))
            return
        if len(failing) == 1:
            ((check, failures),) = failing.items()
            row[2] += 1
            row[4][check] += 1
            self.signal_blocked[check] += 1
            self.signal_failed[check] += 1
            worst = _worst(failures)
            if worst[0] != math.inf:
                self.signal.setdefault(check, []).append((*worst, at))
            return
        row[3] += 1
        for names in names_per_stage:
            for check in names:
                self.signal_failed[check] += 1


def _what_if(
    check: Check, stats: dict[str, Any], cands: _Candidates, margin: float, share: float
) -> dict[str, Any] | None:
    signals = check[0] == "signal" or cands.signal_failed[check] > 0 or check in cands.fired_values
    blocked = [b[:3] for b in cands.signal.get(check, [])] if signals else cands.sole.get(check, [])
    total = cands.signal_blocked[check] if signals else cands.sole_blocked[check]
    gaps = stats["gaps"]
    if not gaps and not blocked:
        return None
    t_ref = statistics.median(stats["thresholds"] if gaps else [b[2] for b in blocked])
    v_med = statistics.median(stats["values"] if gaps else [b[1] for b in blocked])
    seed_threshold = (t_ref + v_med) / 2
    seed_relative = abs(seed_threshold - t_ref) / abs(t_ref) if t_ref != 0 else abs(seed_threshold - t_ref)
    changes = [seed_relative]
    blocked_gaps = sorted(b[0] for b in blocked)
    near_gaps = sorted(gaps)
    for s in (*SHARES, share):
        if blocked_gaps:
            changes.append(blocked_gaps[min(_k(s, total), len(blocked_gaps)) - 1])
        if near_gaps:
            changes.append(near_gaps[_k(s, len(near_gaps)) - 1])
    if blocked_gaps:
        recommended = blocked_gaps[min(_k(share, total), len(blocked_gaps)) - 1]
    else:
        recommended = near_gaps[_k(share, len(near_gaps)) - 1]
    every_gap = stats["all_gaps"]

    def figures(r: float) -> tuple[float, int, int]:
        return (r, sum(1 for g in every_gap if g <= r), sum(1 for g in blocked_gaps if g <= r))

    return {
        "unit": "signals" if signals else "candidates",
        "basis": "blocked" if blocked_gaps else "near_misses",
        "sole_blocked": total,
        "recoverable": len(blocked_gaps),
        "recommended": figures(recommended),
        "candidates": sorted({figures(r) for r in changes}),
    }


def reference_report(
    paths: list[str],
    *,
    margin: float = 0.1,
    share: float = 0.5,
    since: float | None = None,
    until: float | None = None,
    symbols: set[str] | None = None,
    sessions: set[str] | None = None,
    max_line_bytes: int = 1 << 20,
    prices: list[str] | None = None,
    horizons: tuple[int, ...] = (5, 10, 20),
    horizon: int = 20,
    cost_bps: float = 10.0,
    min_outcomes: int = 30,
) -> dict[str, Any]:
    events, skipped, lines_total, files = _read(paths, max_line_bytes)
    kept = [
        e
        for e in events
        if (since is None or e.ts >= since)
        and (until is None or e.ts <= until)
        and (symbols is None or e.symbol in symbols)
        and (sessions is None or e.session in sessions)
    ]
    reasons: Counter[str] = Counter()
    per_symbol: dict[str, Counter[str]] = {}
    near: dict[Check, dict[str, Any]] = {}
    cands = _Candidates()
    ungrouped = 0
    evidence: dict[str | None, list[tuple[str, int, str | None]]] = {}
    for e in kept:
        name = e.name
        if e.passed is False:
            label = e.reason if e.reason is not None else "(no reason)"
            reasons[label] += 1
            per_symbol.setdefault(e.symbol if e.symbol is not None else "(no symbol)", Counter())[label] += 1
            evidence.setdefault(e.reason, []).append((files[e.file].path, e.line, e.trace_id))
        if name is None or e.passed is None:
            continue
        failure: _Failure | None = None
        if e.passed is False:
            stats = near.setdefault(
                (e.component, e.stage, name),
                {
                    "failures": 0,
                    "values": [],
                    "thresholds": [],
                    "gaps": [],
                    "all_gaps": [],
                    "votes": Counter(),
                    "kinds": Counter(),
                },
            )
            stats["failures"] += 1
            gap, vote, kind = _gap(e)
            stats["kinds"][kind] += 1
            if vote:
                stats["votes"][vote] += 1
            if gap <= margin * (1 + 1e-9):
                stats["values"].append(float(e.value))
                stats["thresholds"].append(float(e.threshold))
                stats["gaps"].append(gap)
            if gap != math.inf:
                stats["all_gaps"].append(gap)
            failure = (name, gap, e.value, e.threshold)
            if gap != math.inf:
                failure = (name, gap, float(e.value), float(e.threshold))
        key = e.candle_ts
        if key is None:
            key = e.trace_id
        if key is None or isinstance(key, (list, dict)):
            ungrouped += 1
            continue
        cands.add(e, key, failure)
    cands.finish()
    funnel = _funnel(cands)

    near_out: dict[Check, Any] = {}
    what_if: dict[Check, Any] = {}
    for check, stats in near.items():
        advice = _what_if(check, stats, cands, margin, share)
        if advice is not None:
            what_if[check] = advice
        gaps = stats["gaps"]
        if not gaps:
            continue
        votes = stats["votes"]
        if votes["recorded_min"] or votes["recorded_max"]:
            direction = "max" if votes["recorded_max"] > votes["recorded_min"] else "min"
        elif votes["inferred_min"] or votes["inferred_max"]:
            direction = "max" if votes["inferred_max"] > votes["inferred_min"] else "min"
        else:
            direction = None
        near_out[check] = {
            "failures": stats["failures"],
            "near_misses": len(gaps),
            "median_value": statistics.median(stats["values"]),
            "median_threshold": statistics.median(stats["thresholds"]),
            "median_gap": statistics.median(gaps),
            "direction": direction,
            "inconsistent": stats["kinds"]["inconsistent"],
            "non_numeric": stats["kinds"]["non_numeric"],
        }

    def failures_of(check: Check) -> int:
        return int(near[check]["failures"]) if check in near else 0

    ranked = sorted(cands.signal_failed, key=lambda c: (-cands.signal_blocked[c], -failures_of(c), _label(*c), *c))
    blocked = [
        (_label(*c), cands.signal_blocked[c], cands.signal_failed[c] - cands.signal_blocked[c], failures_of(c))
        for c in ranked
    ]
    strategies = {}
    for strategy, (count, fired, one, several, alone) in cands.strategies.items():
        top = min(alone, key=lambda c: (-alone[c], -failures_of(c), _label(*c), *c), default=None)
        strategies[strategy] = (count, fired, one, several, None if top is None else _label(*top))

    outcomes = _outcomes(events, cands, near, what_if, prices, horizons, horizon, cost_bps, min_outcomes)
    total_failures = sum(reasons.values())
    return {
        "outcomes": outcomes,
        "lines": lines_total,
        "skipped": dict(sorted(skipped.items())),
        "events": len(kept),
        "filtered_out": len(events) - len(kept),
        "failures": total_failures,
        "passes": sum(1 for e in kept if e.passed is True),
        "informational": sum(1 for e in kept if e.passed is None),
        "sessions": len({e.session for e in kept}),
        "symbols": len({e.symbol for e in kept if e.symbol is not None}),
        "first_ts": min((e.ts for e in kept), default=None),
        "last_ts": max((e.ts for e in kept), default=None),
        "reasons": sorted(reasons.items(), key=lambda item: (-item[1], item[0])),
        "symbol_blockers": {
            symbol: sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:3]
            for symbol, counter in per_symbol.items()
        },
        "funnel": funnel,
        "ungrouped": ungrouped,
        "near_misses": near_out,
        "what_if": what_if,
        "blocked": blocked,
        "top_blocker": blocked[0][0] if blocked and blocked[0][1] else None,
        "strategies": strategies,
        "evidence": {reason: _examples(items) for reason, items in evidence.items()},
    }


def _funnel(cands: _Candidates) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(in, left, {check: removed}, evaluated) per stage: on a candle, in the order its stages first appeared,
    a scanner stage counts when every scanner stage before it passed, a strategy when all of them did; stage
    candidates grouped by trace count as they are."""
    entered = {skey: [row[0], row[1], Counter(row[2])] for skey, row in cands.trace_funnel.items()}
    for pattern in cands.patterns:  # dicts: the candle's stages in the order they first appeared
        scanned = all(status is None for skey, status in pattern.items() if skey[0] != "signal")
        through = True
        for skey, status in pattern.items():
            if scanned if skey[0] == "signal" else through:
                row = entered.setdefault(skey, [0, 0, Counter()])
                row[0] += 1
                if status is None:
                    row[1] += 1
                else:
                    row[2][status] += 1
            if skey[0] != "signal" and status is not None:
                through = False
    out = {}
    for skey, all_row in cands.funnel.items():
        row = entered.get(skey, [0, 0, Counter()])
        out[skey] = (row[0], row[1], {k: v for k, v in row[2].items() if v}, all_row[0])
    return out


def _ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return round(number * 1000) if abs(number) < 1e11 else round(number)


def _outcomes(
    events: list[_Event],
    cands: _Candidates,
    near: dict[Check, dict[str, Any]],
    what_if: dict[Check, Any],
    prices: list[str] | None,
    horizons: tuple[int, ...],
    horizon: int,
    cost_bps: float,
    min_outcomes: int,
) -> dict[str, Any]:
    """Per check, the fired signals' and the lone-blocked candidates' outcome statistics at every horizon."""
    closes: dict[str, dict[int, float]] = {}
    for e in events:  # every event's close counts, also those the time and symbol filters leave out
        ms = _ms(e.candle_ts) if _is_number(e.candle_ts) else None
        if ms is not None and isinstance(e.symbol, str) and _is_number(e.close) and e.close > 0:
            closes.setdefault(e.symbol, {}).setdefault(ms, float(e.close))
    for path in prices or []:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
        opener: Any = gzip.open if compressed else open
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                ms, close = _ms(row["timestamp"]), float(row["close"])
                if ms is not None:
                    closes.setdefault(row["symbol"], {}).setdefault(ms, close)
    gaps: Counter[int] = Counter()
    for series in closes.values():
        times = sorted(series)
        gaps.update(b - a for a, b in pairwise(times))
    if not gaps:
        return {"basis": "no_outcomes"}
    bar = min(gaps.items(), key=lambda item: (-item[1], item[0]))[0]
    cost = cost_bps / 10_000

    def returns(at: Any) -> list[float | None]:
        symbol, candle = at
        series = closes.get(symbol, {})
        ms = _ms(candle)
        entry = series.get(ms) if ms is not None else None
        if entry is None or ms is None:
            return [None for _ in horizons]
        return [None if (later := series.get(ms + h * bar)) is None else later / entry - 1 - cost for h in horizons]

    decision = horizons.index(horizon)
    reference = [[r for _, at in cands.fired if (r := returns(at)[j]) is not None] for j in range(len(horizons))]
    judged = sum(
        1
        for rows in cands.signal.values()
        for row in rows
        if row[3] is not None and returns(row[3])[decision] is not None
    )
    if not reference[decision] and not judged:
        return {"basis": "no_outcomes"}

    def stats(values: list[float], candidates: int, bounds: tuple[float, float]) -> tuple[Any, ...]:
        if not values:
            return (candidates, 0, None, None, None)
        clipped = [min(max(v, bounds[0]), bounds[1]) for v in values]
        wins = sum(1 for v in values if v > 0)
        return (
            candidates,
            len(values),
            statistics.median(values),
            math.fsum(clipped) / len(values),
            wins / len(values),
        )

    def bounds_of(values: list[float]) -> tuple[float, float]:
        ordered = sorted(values)
        if not ordered:
            return (0.0, 0.0)
        last = len(ordered) - 1
        return (ordered[min(last, int(0.02 * len(ordered)))], ordered[min(last, int(0.98 * len(ordered)))])

    per_check: dict[Check, Any] = {}
    for check in {*near, *cands.fired_values}:
        fired_rows = cands.fired_values.get(check, [])
        signals = check[0] == "signal" or cands.signal_failed[check] > 0 or bool(fired_rows)
        if not signals:
            continue
        votes = near[check]["votes"] if check in near else Counter()
        if votes["recorded_min"] or votes["recorded_max"]:
            direction: str | None = "max" if votes["recorded_max"] > votes["recorded_min"] else "min"
        elif votes["inferred_min"] or votes["inferred_max"]:
            direction = "max" if votes["inferred_max"] > votes["inferred_min"] else "min"
        else:
            above = sum(1 for v, t, _ in fired_rows if v > t)
            below = sum(1 for v, t, _ in fired_rows if v < t)
            direction = None if above == below else "min" if above > below else "max"

        def margin(value: float, threshold: float, direction: str | None = direction) -> float:
            diff = value - threshold if direction != "max" else threshold - value
            if direction is None:
                diff = abs(diff)
            return diff / abs(threshold) if threshold != 0 else diff

        fired = [at for v, t, at in fired_rows if margin(v, t) >= 0]
        blocked = [row[3] for row in cands.signal.get(check, []) if row[3] is not None]
        decided = [at for at in fired if returns(at)[decision] is not None]
        if check not in what_if and len(decided) < 2 * min_outcomes:
            continue
        fired_stats, blocked_stats = [], []
        for j, h in enumerate(horizons):
            f = [r for at in fired if (r := returns(at)[j]) is not None]
            b = [r for at in blocked if (r := returns(at)[j]) is not None]
            bounds = bounds_of([*f, *b, *reference[j]])
            fired_stats.append((h, *stats(f, len(fired), bounds)))
            blocked_stats.append((h, *stats(b, len(blocked), bounds)))
        per_check[check] = (tuple(fired_stats), tuple(blocked_stats))
    signals_total = len(cands.fired)
    summary = tuple((h, *stats(reference[j], signals_total, bounds_of(reference[j]))) for j, h in enumerate(horizons))
    return {"basis": "outcomes", "bar_ms": bar, "reference": summary, "checks": per_check}


def _valid_trace(trace: str | None) -> bool:
    return trace is not None and re.fullmatch(r"[0-9a-f]{32}", trace) is not None and trace != "0" * 32


def _examples(items: list[tuple[str, int, str | None]]) -> list[tuple[str, int, str | None]]:
    """The first three failures with a valid trace id, topped up with the first ones without."""
    traced = [item for item in items if _valid_trace(item[2])][:3]
    others = [(path, line, None) for path, line, trace in items if not _valid_trace(trace)]
    return traced + others[: 3 - len(traced)]


def comparable(report: DiagnosticsReport) -> dict[str, Any]:
    """The package's report in the reference's shape."""
    t = report.totals
    near_out: dict[Check, Any] = {}
    what_if: dict[Check, Any] = {}
    for row in report.near_misses:
        near_out[(row.component, row.stage, row.name)] = {
            "failures": row.failures,
            "near_misses": row.near_misses,
            "median_value": row.median_value,
            "median_threshold": row.median_threshold,
            "median_gap": row.median_gap,
            "direction": row.direction,
            "inconsistent": row.inconsistent,
            "non_numeric": row.non_numeric,
        }
    per_check: dict[Check, Any] = {}
    for rec in report.recommendations:
        if rec.outcomes is not None:
            per_check[(rec.component, rec.stage, rec.name)] = tuple(
                tuple((s.horizon, s.candidates, s.outcomes, s.median, s.mean, s.win_share) for s in stats)
                for stats in (rec.outcomes.fired, rec.outcomes.blocked)
            )
        if rec.recover is None:
            continue
        what_if[(rec.component, rec.stage, rec.name)] = {
            "unit": rec.unit,
            "basis": rec.what_if_basis,
            "sole_blocked": rec.sole_blocked,
            "recoverable": rec.recoverable,
            "recommended": (rec.recover.relative_change, rec.recover.failures_passing, rec.recover.extra_passing),
            "candidates": sorted({(w.relative_change, w.failures_passing, w.extra_passing) for w in rec.candidates}),
        }
    summary = report.outcomes
    if summary is None or summary.basis != "outcomes":
        outcomes: dict[str, Any] = {"basis": "no_outcomes"}
    else:
        outcomes = {
            "basis": "outcomes",
            "bar_ms": round((summary.bar_seconds or 0) * 1000),
            "reference": tuple(
                (s.horizon, s.candidates, s.outcomes, s.median, s.mean, s.win_share) for s in summary.reference
            ),
            "checks": per_check,
        }
    evidence: dict[str | None, list[tuple[str, int, str | None]]] = {}
    for item in report.evidence:
        evidence[None if item.reason == "(no reason)" else item.reason] = [
            (link.path, link.line, link.trace_id) for link in item.examples
        ]
    return {
        "lines": t.lines,
        "skipped": {row.cause: row.count for row in sorted(report.skipped, key=lambda r: r.cause)},
        "events": t.events,
        "filtered_out": t.filtered_out,
        "failures": t.failures,
        "passes": t.passes,
        "informational": t.informational,
        "sessions": t.sessions,
        "symbols": t.symbols,
        "first_ts": t.first_ts,
        "last_ts": t.last_ts,
        "reasons": [(r.reason, r.failures) for r in report.reasons],
        "symbol_blockers": {s.symbol: [(r.reason, r.failures) for r in s.top] for s in report.symbols},
        "funnel": {
            (stage.component, stage.stage): (
                stage.candidates_in,
                stage.left,
                {step.name: step.removed for step in stage.steps if step.removed},
                stage.evaluated,
            )
            for stage in report.funnel
        },
        "outcomes": outcomes,
        "ungrouped": t.ungrouped_evaluations,
        "near_misses": near_out,
        "what_if": what_if,
        "blocked": [(r.reason, r.blocked, r.with_others, r.failures) for r in report.blocked],
        "top_blocker": report.top_blocker(),
        "strategies": {
            s.strategy: (s.candidates, s.signals, s.blocked_by_one, s.blocked_by_several, s.top_blocker)
            for s in report.strategies
        },
        "evidence": evidence,
    }
