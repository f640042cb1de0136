"""The per-chunk pass over journal lines: parse, validate, count, and group evaluations into candidates.

This is the hot loop, so it is written flat with local names. Everything it produces is mergeable: a
parent process adds :class:`ChunkResult` objects in journal order and gets the same figures a single
sequential pass would (see :mod:`otel_breakout.report._aggregate`).

Candidates. Evaluations of filters and conditions are grouped by ``(session_id, component, stage, symbol,
key)`` where ``key`` is the payload's ``candle_ts`` when present (strategy conditions) and otherwise the
trace id (one scan of one symbol). A candidate is finished once ``group_window`` newer candidates have
appeared after it; the analysis is exact whenever every evaluation of a candidate is written before that
many newer candidates, which holds for a bot that evaluates one candle or one scan at a time.
"""

from __future__ import annotations

import gc
import json
import re
from array import array
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson

from otel_breakout.report._inputs import Chunk, LineBlocks

__all__ = [
    "BOUNDARY_TOLERANCE",
    "SKIP_CAUSES",
    "CheckAcc",
    "ChunkResult",
    "GroupState",
    "ScanOptions",
    "classify_bad_line",
    "finalize_group",
    "gap_of",
    "merge_group",
    "scan_chunk",
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
OTHER = "(other)"
# Gaps are compared with the margin with this relative slack, so a value exactly 5% off by its decimal
# digits (1.9 against 2.0 gives 0.050000000000000044 in binary) counts as within 5%.
BOUNDARY_TOLERANCE = 1e-9
_INF = float("inf")
_EXAMPLES = 3

# A candidate's state: None while every evaluation passed; after the first failure a list
# [first failing check, failures, the only failing check so far, its largest gap, several checks failed].
GroupState = list[Any] | None
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
    """Failures of one filter or condition: counters, and compact arrays for the near misses."""

    __slots__ = (
        "failures",
        "gaps",
        "inconsistent",
        "inferred_max",
        "inferred_min",
        "non_numeric",
        "recorded_max",
        "recorded_min",
        "sole_blocked",
        "sole_gaps",
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
        self.sole_blocked = 0  # candidates this check alone kept from passing
        self.sole_gaps = array("d")  # ... and their gaps, when within the margin

    def merge(self, other: CheckAcc) -> None:
        self.failures += other.failures
        self.non_numeric += other.non_numeric
        self.inconsistent += other.inconsistent
        self.recorded_min += other.recorded_min
        self.recorded_max += other.recorded_max
        self.inferred_min += other.inferred_min
        self.inferred_max += other.inferred_max
        self.values.extend(other.values)
        self.thresholds.extend(other.thresholds)
        self.gaps.extend(other.gaps)
        self.sole_blocked += other.sole_blocked
        self.sole_gaps.extend(other.sole_gaps)

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
        "error",
        "events",
        "evidence",
        "file_index",
        "filtered",
        "first_seen",
        "funnel",
        "lines",
        "partials",
        "reasons_folded",
        "shape_folded",
        "shapes",
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
        self.partials: list[tuple[GroupKey, GroupState, int]] = []  # (key, state, creation index in chunk)
        self.created = 0
        self.ungrouped = 0

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def _is_trace_id(text: str) -> bool:
    """32 lowercase hex digits, not all zero (the W3C invalid trace id)."""
    return _TRACE_ID.fullmatch(text) is not None and text != "0" * 32


def gap_of(value: float, threshold: float) -> float:
    """Distance to the threshold, relative to it (absolute when the threshold is 0)."""
    return abs(value - threshold) / abs(threshold) if threshold != 0 else abs(value - threshold)


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NonFinite(name)


def classify_bad_line(line: bytes, message: str, unterminated: bool) -> str | None:
    """The skip cause of a line orjson refused (``None``: a blank line, not worth reporting)."""
    if not line.strip():
        return None
    if unterminated:
        return "truncated"
    if "depth limit" in message or "recursion" in message:
        return "too_deep"
    if "infinity" in message or "NaN" in message:
        return "nan_or_infinity"
    if b"NaN" in line or b"Infinity" in line:
        try:
            json.loads(line, parse_constant=_reject_constant)
        except _NonFinite:
            return "nan_or_infinity"
        except (ValueError, RecursionError):
            pass
    return "not_json"


def merge_group(earlier: GroupState, later: GroupState) -> GroupState:
    """The state of a candidate seen as ``earlier`` and then, further on, as ``later``."""
    if later is None:
        return earlier
    if earlier is None:
        return list(later)
    if earlier[4] or later[4] or earlier[2] != later[2]:
        earlier[4] = True
    elif later[3] > earlier[3]:
        earlier[3] = later[3]
    earlier[1] += later[1]
    return earlier


def finalize_group(
    key: GroupKey,
    state: GroupState,
    funnel: dict[tuple[str, str], list[Any]],
    checks: dict[tuple[str, str, str], CheckAcc],
    margin: float,
) -> None:
    """Count a finished candidate in its stage's funnel, and as a lone blocker when one check failed."""
    stage = (key[1], key[2])
    row = funnel.get(stage)
    if row is None:
        row = funnel[stage] = [0, 0, {}]
    row[0] += 1
    if state is None:
        row[1] += 1
        return
    removed = row[2]
    removed[state[0]] = removed.get(state[0], 0) + 1
    if not state[4]:
        acc = checks.get((key[1], key[2], state[2]))
        if acc is not None:
            acc.sole_blocked += 1
            if state[3] <= margin:
                acc.sole_gaps.append(state[3])


def _skip(result: ChunkResult, cause: str, line: int) -> None:
    result.skipped[cause] = result.skipped.get(cause, 0) + 1
    examples = result.skip_examples.setdefault(cause, [])
    if len(examples) < _EXAMPLES:
        examples.append(line)


def scan_chunk(chunk: Chunk, options: ScanOptions) -> ChunkResult:
    """One pass over ``chunk``; never raises for bad content (bad lines are counted by cause)."""
    result = ChunkResult(chunk.file_index, chunk.chunk_index, chunk.size)
    blocks = LineBlocks(chunk, options.max_line_bytes)
    scanner = _Scanner(options, result)
    # The scan allocates only short-lived acyclic objects; the cycle collector would walk the open
    # candidates over and over for nothing (measured: about 9% of the scan).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for lines in blocks:
            scanner.block(lines, blocks.unterminated_tail)
        scanner.finish()
    finally:
        if collecting:
            gc.enable()
    result.error = blocks.error
    return result


_FIELDS = ("v", "ts", "session_id", "component", "stage", "symbol", "passed", "reason", "trace_id", "payload")
_REQUIRED = ("v", "ts", "session_id", "component", "stage")


def _strings_ok(key: tuple[Any, ...]) -> bool:
    """Session, component and stage are strings; symbol and reason strings or null (shape key order)."""
    sid, comp, stage, sym, _, reason, _ = key
    return (
        type(sid) is str
        and type(comp) is str
        and type(stage) is str
        and (type(sym) is str or sym is None)
        and (type(reason) is str or reason is None)
    )


def _fields_slow(obj: Any) -> tuple[Any, ...] | str:
    """The fields of an event, or the cause to skip it. Optional fields may be absent."""
    if type(obj) is not dict:
        return "not_an_object"
    for name in _REQUIRED:
        if name not in obj:
            return "missing_field"
    v = obj["v"]
    if type(v) is float and 1.0 <= v < 2.0:
        pass  # a minor version of schema 1
    elif type(v) is int or type(v) is float:
        if v != 1:
            return "unknown_version"
    else:
        return "wrong_type"
    fields = tuple(obj.get(name) for name in _FIELDS)
    _, ts, sid, comp, stage, sym, passed, reason, tid, payload = fields
    if not (
        type(sid) is str
        and type(comp) is str
        and type(stage) is str
        and (type(ts) is float or type(ts) is int)
        and (type(sym) is str or sym is None)
        and (passed is False or passed is True or passed is None)
        and (type(reason) is str or reason is None)
        and (type(tid) is str or tid is None)
        and (type(payload) is dict or payload is None)
    ):
        return "wrong_type"
    return fields


class _Scanner:
    """The scan state of one chunk: :meth:`block` takes each list of lines, :meth:`finish` closes the chunk.

    The loop in :meth:`block` is the hot path (a few microseconds per event): one ``orjson.loads``, the
    fields read by subscript, type checks chained so the common case short-circuits, and everything else
    (an optional field missing, a float version, a wrong type) handed to :func:`_fields_slow`, which applies
    the full rules. Parsed objects are dropped at once: keeping blocks of them alive was measured slower.
    """

    def __init__(self, options: ScanOptions, result: ChunkResult) -> None:
        self.options = options
        self.result = result
        self.filtering = (
            options.since > -_INF or options.until < _INF or options.symbols is not None or options.sessions is not None
        )
        self.lineno = 0
        self.groups: dict[GroupKey, GroupState] = {}
        # Shape -> [events]; a list so that counting an event hashes its key once.
        self.shapes: dict[tuple[Any, ...], list[Any]] = {}  # see _shape
        self.evicted = 0  # candidates already finished or handed over, in creation order
        self.events = 0
        self.ts_min = _INF
        self.ts_max = -_INF

    def _shape(self, key: tuple[Any, ...], line: int) -> list[Any]:
        """Count the first event of a new shape and return its slot: ``[events, check accumulator, evidence]``.

        The accumulator and evidence lists of a failing shape are found once here, so each failure reuses
        them without hashing more keys. Past the shape limit the event is counted under a folded key and
        gets a slot of its own, not stored.
        """
        result = self.result
        shapes = self.shapes
        _, comp, stage, _, passed, reason, name = key
        acc = evidence = None
        if passed is False:
            if name is not None:
                ckey = (comp, stage, name)
                acc = result.checks.get(ckey)
                if acc is None and len(result.checks) < self.options.max_checks:
                    acc = result.checks[ckey] = CheckAcc()
            evidence = result.evidence.get(reason)
            if evidence is None and len(result.evidence) < self.options.max_reasons:
                evidence = result.evidence[reason] = ([], [])
        check = (comp, stage, name)
        if check not in result.first_seen:
            result.first_seen[check] = line
        limit = self.options.max_shapes
        if len(shapes) < limit:
            slot = shapes[key] = [1, acc, evidence]
            return slot
        # Bounded memory: past the limit, sessions and symbols fold into "(other)", then everything does.
        result.shape_folded += 1
        folded = (OTHER, comp, stage, OTHER, passed, reason, name)
        if folded not in shapes and len(shapes) >= limit + limit // 8:
            folded = (OTHER, OTHER, OTHER, OTHER, passed, OTHER, OTHER)
        counter = shapes.get(folded)
        if counter is None:
            shapes[folded] = [1, None, None]
        else:
            counter[0] += 1
        return [0, acc, evidence]

    def block(self, lines: list[bytes | None], unterminated: bool) -> None:
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        result = self.result
        options = self.options
        shapes_get = self.shapes.get
        groups = self.groups
        margin = options.cutoff
        per_reason = options.evidence_per_reason
        filtering = self.filtering
        since, until = options.since, options.until
        symbols, sessions = options.symbols, options.sessions
        ts_min, ts_max = self.ts_min, self.ts_max
        events = ungrouped = 0
        for line_no, line in enumerate(lines, self.lineno + 1):
            if line is None:
                _skip(result, "too_long", line_no)
                continue
            try:
                obj = loads(line)
                v = obj["v"]
                ts = obj["ts"]
                sid = obj["session_id"]
                comp = obj["component"]
                stage = obj["stage"]
                sym = obj["symbol"]
                passed = obj["passed"]
                reason = obj["reason"]
                tid = obj["trace_id"]
                payload = obj["payload"]
            except decode_error as exc:
                cause = classify_bad_line(line, str(exc), unterminated)
                if cause is not None:
                    _skip(result, cause, line_no)
                continue
            except (KeyError, TypeError):
                ok = False
            else:
                # The string fields (session, component, stage, symbol, reason) are checked once per distinct
                # combination, in _shape: a str never equals a non-str, so a known shape proves their types.
                ok = (
                    v == 1
                    and type(v) is int
                    and (type(ts) is float or type(ts) is int)
                    and (passed is True or passed is False or passed is None)
                    and (type(tid) is str or tid is None)
                    and (type(payload) is dict or payload is None)
                )
            if not ok:
                fields = _fields_slow(obj)
                if isinstance(fields, str):
                    _skip(result, fields, line_no)
                    continue
                _, ts, sid, comp, stage, sym, passed, reason, tid, payload = fields
            if payload is None:
                name = None
            else:
                name = payload.get("filter")
                if type(name) is not str:
                    name = payload.get("condition")
                    if type(name) is not str:
                        name = None
            skey = (sid, comp, stage, sym, passed, reason, name)
            try:
                slot = shapes_get(skey)
            except TypeError:  # an unhashable list or object where a string belongs
                _skip(result, "wrong_type", line_no)
                continue
            if slot is None and not _strings_ok(skey):
                _skip(result, "wrong_type", line_no)
                continue
            if filtering and (
                ts < since
                or ts > until
                or (symbols is not None and sym not in symbols)
                or (sessions is not None and sid not in sessions)
            ):
                result.filtered += 1
                continue
            events += 1
            if ts < ts_min:
                ts_min = ts
            if ts > ts_max:
                ts_max = ts
            if slot is None:
                slot = self._shape(skey, line_no)
            else:
                slot[0] += 1  # a list: counting does not hash the key again
            gkey = None
            if name is not None and passed is not None:
                key = payload.get("candle_ts")
                if key is None:
                    key = tid
                if key is None:
                    ungrouped += 1
                else:
                    gkey = (sid, comp, stage, sym, key)
                    try:
                        if gkey not in groups:
                            groups[gkey] = None
                    except TypeError:  # an unhashable candle_ts (a list or an object)
                        ungrouped += 1
                        gkey = None
            if passed is not False:
                continue
            # A failure: evidence, near-miss statistics, and its candidate's state.
            found = slot[2]
            if found is None:
                result.reasons_folded += 1
            elif len(found[0]) < per_reason:
                # Examples with a trace to link to come first; the others fill in when there are too few.
                kept = found[0] if tid is not None and _is_trace_id(tid) else found[1]
                if len(kept) < per_reason:
                    span = obj.get("span_id") if type(obj) is dict else None
                    kept.append((line_no, tid, span if type(span) is str else None, ts, sym))
            if name is None:
                continue
            gap = _INF
            acc = slot[1]
            if acc is None:
                result.untracked_checks += 1
            else:
                acc.failures += 1
                value = payload.get("value")
                threshold = payload.get("threshold")
                if (type(value) is float or type(value) is int) and (
                    type(threshold) is float or type(threshold) is int
                ):
                    value = float(value)
                    threshold = float(threshold)
                    direction = payload.get("direction")
                    if direction == "min":
                        acc.recorded_min += 1
                        consistent = value <= threshold
                    elif direction == "max":
                        acc.recorded_max += 1
                        consistent = value >= threshold
                    else:
                        consistent = True
                        if value < threshold:
                            acc.inferred_min += 1
                        elif value > threshold:
                            acc.inferred_max += 1
                    if consistent:
                        gap = abs(value - threshold) / abs(threshold) if threshold != 0 else abs(value - threshold)
                        if gap <= margin:
                            acc.values.append(value)
                            acc.thresholds.append(threshold)
                            acc.gaps.append(gap)
                    else:
                        acc.inconsistent += 1
                else:
                    acc.non_numeric += 1
            if gkey is not None:
                state = groups[gkey]
                if state is None:
                    groups[gkey] = [name, 1, name, gap, False]
                else:
                    if state[2] != name:
                        state[4] = True
                    elif gap > state[3]:
                        state[3] = gap
                    state[1] += 1
        self.ts_min, self.ts_max = ts_min, ts_max
        self.events += events
        result.ungrouped += ungrouped
        self.lineno += len(lines)
        if len(groups) > 2 * options.group_window:
            self._evict(len(groups) - options.group_window)

    # --- candidates -----------------------------------------------------------------------------

    def _evict(self, count: int) -> None:
        """Finish the ``count`` oldest candidates. Those among the chunk's first ``group_window`` may continue
        the previous chunk's candidates, so they go to the parent with their creation index instead."""
        result = self.result
        window, margin = self.options.group_window, self.options.cutoff
        partials, funnel, checks = result.partials, result.funnel, result.checks
        index = self.evicted
        for key, state in islice(self.groups.items(), count):
            if index < window:
                partials.append((key, state, index))
            else:
                finalize_group(key, state, funnel, checks, margin)
            index += 1
        self.evicted = index
        self.groups = dict(islice(self.groups.items(), count, None))

    def finish(self) -> None:
        """Finish the candidates that can no longer change; hand the others to the parent."""
        created = self.evicted + len(self.groups)
        complete = max(0, min(len(self.groups), created - self.options.group_window - self.evicted))
        if complete:
            self._evict(complete)
        index = self.evicted
        for key, state in self.groups.items():
            self.result.partials.append((key, state, index))
            index += 1
        result = self.result
        result.shapes = {key: slot[0] for key, slot in self.shapes.items()}
        result.created = created
        result.lines = self.lineno
        result.events = self.events
        result.ts_min = self.ts_min
        result.ts_max = self.ts_max
