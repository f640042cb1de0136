"""A straightforward reference for the diagnostics report, used by the property tests and the benchmark.

Standard library only, written for obviousness rather than speed: ``json.loads`` per line, every event kept
in lists, a ``Counter`` for reasons, a plain dict of candidates with no window, ``statistics.median``. The
package's report must agree with it exactly (see ``comparable``).
"""

from __future__ import annotations

import gzip
import json
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass
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


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
    near: dict[tuple[str, str, str], dict[str, Any]] = {}
    groups: dict[tuple[Any, ...], list[tuple[str, bool, float]]] = {}
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
        gap = math.inf
        if e.passed is False:
            stats = near.setdefault(
                (e.component, e.stage, name),
                {"failures": 0, "values": [], "thresholds": [], "gaps": [], "votes": Counter(), "kinds": Counter()},
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
        key = e.candle_ts
        if key is None:
            key = e.trace_id
        if key is None or isinstance(key, (list, dict)):
            ungrouped += 1
            continue
        groups.setdefault((e.session, e.component, e.stage, e.symbol, key), []).append((name, e.passed, gap))

    funnel: dict[tuple[str, str], list[Any]] = {}
    sole: dict[tuple[str, str, str], list[float]] = {}
    sole_blocked: Counter[tuple[str, str, str]] = Counter()
    for (_, comp, stage, _, _), evaluations in groups.items():
        row = funnel.setdefault((comp, stage), [0, 0, Counter()])
        row[0] += 1
        failed = [(name, gap) for name, passed, gap in evaluations if not passed]
        if not failed:
            row[1] += 1
            continue
        row[2][failed[0][0]] += 1
        if len({name for name, _ in failed}) == 1 and (comp, stage, failed[0][0]) in near:
            check = (comp, stage, failed[0][0])
            sole_blocked[check] += 1
            worst = max(gap for _, gap in failed)
            if worst <= margin * (1 + 1e-9):
                sole.setdefault(check, []).append(worst)

    near_out: dict[tuple[str, str, str], Any] = {}
    what_if: dict[tuple[str, str, str], Any] = {}
    for check, stats in near.items():
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
        t_med = statistics.median(stats["thresholds"])
        v_med = statistics.median(stats["values"])
        near_out[check] = {
            "failures": stats["failures"],
            "near_misses": len(gaps),
            "median_value": v_med,
            "median_threshold": t_med,
            "median_gap": statistics.median(gaps),
            "direction": direction,
            "inconsistent": stats["kinds"]["inconsistent"],
            "non_numeric": stats["kinds"]["non_numeric"],
            "sole_blocked": sole_blocked[check],
        }
        seed_threshold = (t_med + v_med) / 2
        seed_relative = abs(seed_threshold - t_med) / abs(t_med) if t_med != 0 else abs(seed_threshold - t_med)
        candidates = [seed_relative]
        ordered = sorted(gaps)
        recommended = ordered[_k(share, len(gaps)) - 1]
        for s in (*SHARES, share):
            candidates.append(ordered[_k(s, len(gaps)) - 1])
        sole_gaps = sole.get(check, [])
        what_if[check] = {
            "recommended": (
                recommended,
                sum(1 for g in gaps if g <= recommended),
                sum(1 for g in sole_gaps if g <= recommended),
            ),
            "candidates": sorted(
                {(r, sum(1 for g in gaps if g <= r), sum(1 for g in sole_gaps if g <= r)) for r in candidates}
            ),
        }

    total_failures = sum(reasons.values())
    return {
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
        "funnel": {stage: (row[0], row[1], dict(row[2])) for stage, row in funnel.items()},
        "ungrouped": ungrouped,
        "near_misses": near_out,
        "what_if": what_if,
        "evidence": {reason: _examples(items) for reason, items in evidence.items()},
    }


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
    near_out: dict[tuple[str, str, str], Any] = {}
    what_if: dict[tuple[str, str, str], Any] = {}
    recommendations = {(r.component, r.stage, r.name): r for r in report.recommendations}
    for row in report.near_misses:
        key = (row.component, row.stage, row.name)
        rec = recommendations[key]
        near_out[key] = {
            "failures": row.failures,
            "near_misses": row.near_misses,
            "median_value": row.median_value,
            "median_threshold": row.median_threshold,
            "median_gap": row.median_gap,
            "direction": row.direction,
            "inconsistent": row.inconsistent,
            "non_numeric": row.non_numeric,
            "sole_blocked": rec.sole_blocked,
        }
        what_if[key] = {
            "recommended": (
                rec.recommended.relative_change,
                rec.recommended.failures_passing,
                rec.recommended.extra_passing,
            ),
            "candidates": sorted({(w.relative_change, w.failures_passing, w.extra_passing) for w in rec.candidates}),
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
            )
            for stage in report.funnel
        },
        "ungrouped": t.ungrouped_evaluations,
        "near_misses": near_out,
        "what_if": what_if,
        "evidence": evidence,
    }
