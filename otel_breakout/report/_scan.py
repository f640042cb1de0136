"""The per-chunk pass over journal lines: parse, validate, count, and group evaluations into candidates.

This is the hot loop, so it is written flat with local names. Everything it produces is mergeable: a
parent process adds :class:`ChunkResult` objects in journal order and gets the same figures a single
sequential pass would (see :mod:`otel_breakout.report._aggregate`).

Candidates (see :mod:`otel_breakout.report._candidates`). Evaluations of filters and conditions are
grouped by ``(session_id, component, stage, symbol, key)`` where ``key`` is the payload's ``candle_ts``
when present and otherwise the trace id (one scan of one symbol); scanner and signal evaluations with a
numeric ``candle_ts`` share one candle group per ``(session_id, symbol, candle_ts)``, so that a strategy's
conditions are joined with the filters of the same candle. A group is finished once ``group_window``
newer groups have appeared after it; the analysis is exact whenever every evaluation of a group is written
before that many newer groups, which holds for a bot that evaluates one candle or one scan at a time.
"""

from __future__ import annotations

import gc
from itertools import islice
from typing import Any

import orjson

from otel_breakout.diagnostics._journal import legacy_session
from otel_breakout.diagnostics._schema import SCHEMA_VERSION, decode
from otel_breakout.report._candidates import DEAD, MAX_CANDLE_STAGES, MAX_FAILING_NAMES, PASSES, Tables, finalize
from otel_breakout.report._inputs import Chunk, LineBlocks
from otel_breakout.report._records import OTHER, CheckAcc, ChunkResult, GroupKey, GroupState, ScanOptions
from otel_breakout.report._validate import classify_bad_line, is_trace_id, strings_ok

__all__ = ["scan_chunk"]

_INF = float("inf")
_EXAMPLES = 3


def _skip(result: ChunkResult, cause: str, line: int) -> None:
    result.skipped[cause] = result.skipped.get(cause, 0) + 1
    examples = result.skip_examples.setdefault(cause, [])
    if len(examples) < _EXAMPLES:
        examples.append(line)


def scan_chunk(chunk: Chunk, options: ScanOptions) -> ChunkResult:
    """One pass over ``chunk``; never raises for bad content (bad lines are counted by cause)."""
    result = ChunkResult(chunk.file_index, chunk.chunk_index, chunk.size)
    blocks = LineBlocks(chunk, options.max_line_bytes)
    scanner = _Scanner(options, result, legacy_session(chunk.path))
    # The scan allocates only short-lived acyclic objects; the cycle collector would walk the open
    # candidates over and over for nothing (measured: about 9% of the scan).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for lines in blocks:
            if type(lines) is int:
                scanner.lineno += lines  # a run of blank lines, skipped in bulk
            else:
                scanner.block(lines, blocks.unterminated_tail)  # type: ignore[arg-type]  # a list here
        scanner.finish()
    finally:
        if collecting:
            gc.enable()
    result.error = blocks.error
    return result


class _Scanner:
    """The scan state of one chunk: :meth:`block` takes each list of lines, :meth:`finish` closes the chunk.

    The loop in :meth:`block` is the hot path (a few microseconds per event): one ``orjson.loads``, the fields
    read by subscript, type checks chained so the common case short-circuits, and any other line (a field
    missing, a float version, a wrong type, the seed's format) handed to the codec's :func:`decode` (a test
    holds the loop to its rule). Parsed objects are dropped at once: keeping them alive was measured slower.
    """

    def __init__(self, options: ScanOptions, result: ChunkResult, legacy: str | None = None) -> None:
        self.options = options
        self.result = result
        self.legacy = legacy  # the session of seed-format lines in this file, from its name
        self.filtering = (
            options.since > -_INF or options.until < _INF or options.symbols is not None or options.sessions is not None
        )
        self.lineno = 0
        self.groups: dict[GroupKey, GroupState] = {}
        # Shape (session, component, stage, symbol, passed, reason, check) -> its slot, see _shape. A list,
        # so that counting an event hashes its key once.
        self.shapes: dict[tuple[Any, ...], list[Any]] = {}
        self.evicted = 0  # candidates already finished or handed over, in creation order
        self.events = 0
        self.ts_min = _INF
        self.ts_max = -_INF

    def _shape(self, key: tuple[Any, ...], line: int) -> list[Any]:
        """Count the first event of a new shape and return its slot: ``[events, check accumulator, evidence,
        (component, stage)]`` (the last one shared by every candle that holds this stage).

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
            slot = shapes[key] = [1, acc, evidence, (comp, stage)]
            return slot
        # Bounded memory: past the limit, sessions and symbols fold into "(other)", then everything does.
        result.shape_folded += 1
        folded = (OTHER, comp, stage, OTHER, passed, reason, name)
        if folded not in shapes and len(shapes) >= limit + limit // 8:
            folded = (OTHER, OTHER, OTHER, OTHER, passed, OTHER, OTHER)
        counter = shapes.get(folded)
        if counter is None:
            # A hostile journal may spell this very key ("(other)" as its session and symbol): keep it a slot.
            shapes[folded] = [1, None, None, (folded[1], folded[2])]
        else:
            counter[0] += 1
        return [0, acc, evidence, (comp, stage)]

    def block(self, lines: list[bytes | None], unterminated: bool) -> None:
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        result = self.result
        options = self.options
        shapes_get = self.shapes.get
        groups: dict[Any, Any] = self.groups  # stage states and candles (see _candidates)
        margin = options.cutoff
        max_stages = MAX_CANDLE_STAGES
        container: dict[Any, Any] = groups
        prices = result.prices
        per_reason = options.evidence_per_reason
        filtering = self.filtering
        since, until = options.since, options.until
        symbols, sessions = options.symbols, options.sessions
        ts_min, ts_max = self.ts_min, self.ts_max
        version = SCHEMA_VERSION
        events = ungrouped = 0
        for line_no, line in enumerate(lines, self.lineno + 1):
            if not line:  # None (too long) or b"" (blank: not worth parsing or reporting)
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
                    v == version
                    and type(v) is int
                    and (type(ts) is float or type(ts) is int)
                    and (passed is True or passed is False or passed is None)
                    and (type(tid) is str or tid is None)
                    and (type(payload) is dict or payload is None)
                )
            if not ok:
                fields = decode(obj, self.legacy)
                if isinstance(fields, str):
                    _skip(result, fields, line_no)
                    continue
                _, ts, sid, comp, stage, sym, passed, reason, _, tid, _, payload = fields
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
            if slot is None and not strings_ok(skey):
                _skip(result, "wrong_type", line_no)
                continue
            if payload is not None and "close" in payload:
                # A price the bot recorded with its candle: an outcome can be measured from it (also
                # from an event the filters leave out: a later candle's close is what an earlier one needs).
                close, key = payload["close"], payload.get("candle_ts")
                kind = type(key)
                if (
                    (kind is int or kind is float)
                    and type(sym) is str
                    and (type(close) is float or type(close) is int)
                    and close > 0
                ):
                    prices.setdefault((sym, key), close)
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
            gkey: Any = None
            if name is not None and passed is not None:
                key = payload.get("candle_ts")
                if key is None:
                    key = tid
                if key is None:
                    ungrouped += 1
                else:
                    container = groups
                    kind = type(key)
                    if (kind is int or kind is float) and (comp == "signal" or comp == "scanner"):
                        # A candle: the strategy's conditions meet the filters of the same candle here.
                        ckey = (sid, sym, key)
                        candle = groups.get(ckey)
                        if candle is None:
                            candle = groups[ckey] = {PASSES: []}
                        gkey = slot[3]
                        if gkey in candle:
                            container = candle
                        elif len(candle) <= max_stages:  # (one of its keys holds its passes)
                            candle[gkey] = None
                            container = candle
                        if container is candle:
                            if passed is True:
                                # A pass: its line is kept with the candle, read again only if a signal fires
                                # (appending to DEAD keeps nothing).
                                candle[PASSES].append(line)
                            elif comp == "scanner":
                                candle[PASSES] = DEAD  # no signal can fire on this candle now
                    if container is groups:
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
                kept = found[0] if tid is not None and is_trace_id(tid) else found[1]
                if len(kept) < per_reason:
                    span = obj.get("span_id") if type(obj) is dict else None
                    kept.append((line_no, tid, span if type(span) is str else None, ts, sym))
            if name is None:
                continue
            gap = _INF
            fvalue = fthreshold = 0.0
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
                        elif gap != _INF:
                            acc.far_gaps.append(gap)
                        fvalue, fthreshold = value, threshold
                    else:
                        acc.inconsistent += 1
                else:
                    acc.non_numeric += 1
            if gkey is not None:
                state = container[gkey]
                if state is None:
                    container[gkey] = [name, 1, name, gap, False, fvalue, fthreshold]
                else:
                    several = state[4]
                    if several:
                        if name not in several and len(several) < MAX_FAILING_NAMES:
                            several.append(name)
                    elif state[2] != name:
                        state[4] = [state[2], name]
                    elif gap > state[3]:
                        state[3], state[5], state[6] = gap, fvalue, fthreshold
                    state[1] += 1
        self.ts_min, self.ts_max = ts_min, ts_max
        self.events += events
        result.ungrouped += ungrouped
        self.lineno += len(lines)
        if len(groups) > 2 * options.group_window:
            self._evict(len(groups) - options.group_window)

    # --- candidates -----------------------------------------------------------------------------

    def _evict(self, count: int) -> None:
        """Finish the ``count`` oldest groups. Those among the chunk's first ``2 * group_window`` may continue
        groups the parent still holds open (at most ``group_window`` of them), so they go to the parent with
        their creation index instead: a continuation preceded by as many groups would have ``group_window``
        new ones before it, and a bot that writes a group's evaluations together never does that."""
        result = self.result
        window = 2 * self.options.group_window
        partials = result.partials
        tables = self._tables()
        index = self.evicted
        for key, state in islice(self.groups.items(), count):
            if index < window:
                partials.append((key, state, index))
            else:
                finalize(key, state, tables)
            index += 1
        self.evicted = index
        self.groups = dict(islice(self.groups.items(), count, None))

    def _tables(self) -> Tables:
        result, options = self.result, self.options
        return Tables(
            result.funnel,
            result.checks,
            result.signals,
            options.max_reasons,
            result.entered,
            result.fired,
            options.max_checks,
        )

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
