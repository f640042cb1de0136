"""From merged totals to the report's ranked, ordered records."""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from otel_breakout.report import _model as model
from otel_breakout.report._advice import (
    OutcomeInputs,
    check_direction,
    check_label,
    recommend,
    recommendation_order,
)
from otel_breakout.report._aggregate import Aggregate
from otel_breakout.report._blockers import blocked_reasons, strategy_signals
from otel_breakout.report._model_advice import OutcomeSummary
from otel_breakout.report._outcomes import Outcomes, outcome_stats
from otel_breakout.report._records import BOUNDARY_TOLERANCE, OTHER, SKIP_CAUSES
from otel_breakout.report._report import DiagnosticsReport
from otel_breakout.report._validate import is_trace_id
from otel_breakout.report._verdict import clip_bounds
from otel_breakout.report._whatif import median

__all__ = ["GAP_BUCKET_FRACTIONS", "analyse", "trace_url"]

NO_REASON = "(no reason)"
NO_SYMBOL = "(no symbol)"
# Near-miss gap buckets, as fractions of the margin (10% margin: <=1%, <=2.5%, <=5%, <=10%).
GAP_BUCKET_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
_SPAN_ID = re.compile(r"[0-9a-f]{16}")
_COMPONENT_ORDER = {"scanner": 0, "signal": 1}


def trace_url(template: str, trace_id: str, span_id: str | None, ts: float) -> str:
    """Fill the URL template's ``{trace_id}``, ``{span_id}``, ``{from_ms}`` and ``{to_ms}`` (ts +- 1 h)."""
    try:
        start, end = str(int((ts - 3600) * 1000)), str(int((ts + 3600) * 1000))
    except OverflowError:  # an absurd timestamp: let the trace view pick its default range
        start, end = "now-1h", "now"
    return (
        template.replace("{trace_id}", trace_id)
        .replace("{span_id}", span_id or "")
        .replace("{from_ms}", start)
        .replace("{to_ms}", end)
    )


def _position(agg: Aggregate, key: tuple[str, str, str | None]) -> tuple[int, int]:
    return agg.first_seen.get(key, (1 << 62, 0))


def _outcome_summary(
    agg: Aggregate, options: model.ReportOptions, outcomes: Outcomes | None, fired: list[tuple[float | None, ...]]
) -> OutcomeSummary:
    """``fired``: every fired signal's returns at each horizon."""
    horizons = options.horizons
    signals = len(agg.fired)
    blocked = sum(1 for acc in agg.checks.values() for at in acc.signal_at if at is not None)
    sources = outcomes.sources if outcomes is not None else ()
    journal = outcomes.journal_prices if outcomes is not None else 0
    if outcomes is None or not outcomes.available:
        if outcomes is None:
            why = "no prices were given and the journal records none"
        elif not outcomes.book.series:
            why = "no price matched a symbol with signal candidates"
        else:
            why = "the candle length could not be told from the prices (pass --bar-seconds)"
        note = (
            f"No outcomes: {why}. Without prices the report explains what blocked signals but presents no threshold "
            "advice as tested. Pass `--prices FILE` (CSV with symbol, timestamp and close; or freqtrade's JSON "
            "candles) or record each candle's close with its evaluations (`candle_ts=..., close=...`)."
        )
        return OutcomeSummary("no_outcomes", horizons, options.horizon, options.cost_bps, options.min_outcomes,
                              options.edge_share, options.bar_seconds, sources, journal, signals, 0, blocked, 0, (),
                              note)  # fmt: skip
    assert outcomes.bar_ms is not None
    reference = []
    for j, horizon in enumerate(horizons):
        returns = [r for rets in fired if (r := rets[j]) is not None]
        reference.append(outcome_stats(horizon, signals, returns, clip_bounds(returns)))
    decision = horizons.index(options.horizon)
    decided = sum(1 for rets in fired if rets[decision] is not None)
    cached, compute = outcomes.cache, outcomes.returns
    judged = sum(
        1
        for acc in agg.checks.values()
        for at in acc.signal_at
        if at is not None and (cached.get(at) or compute(at))[decision] is not None
    )
    basis = "outcomes" if decided or judged else "no_outcomes"
    note = (
        f"Outcomes {options.horizon} bars after each candle (candle {outcomes.bar_ms / 1000:g} s), net of "
        f"{options.cost_bps:g} bps round-trip costs: {decided:,} of {signals:,} fired signals and {judged:,} of "
        f"{blocked:,} candidates blocked by one check have one."
    )
    if basis == "no_outcomes":
        note += " None has a price at its candle and later, so no threshold advice is presented as tested."
    return OutcomeSummary(basis, horizons, options.horizon, options.cost_bps, options.min_outcomes, options.edge_share,
                          outcomes.bar_ms / 1000, sources, journal, signals, decided, blocked, judged, tuple(reference),
                          note)  # fmt: skip


def analyse(
    agg: Aggregate,
    options: model.ReportOptions,
    trace_url_template: str,
    *,
    top_evidence: int = 5,
    outcomes: Outcomes | None = None,
) -> DiagnosticsReport:
    files = tuple(
        model.InputFile(
            path=source.path,
            bytes=source.size,
            compressed=source.compressed,
            lines=stats.lines,
            events=stats.events,
            filtered_out=stats.filtered,
            skipped=stats.skipped,
            error=stats.error,
        )
        for source, stats in zip(agg.files, agg.file_stats, strict=True)
    )
    unreadable = sum(1 for stats in agg.file_stats if not stats.read_any)

    # --- counts from the event shapes ---------------------------------------------------------------
    failures = passes = informational = 0
    sessions: set[Any] = set()
    symbols: set[Any] = set()
    reasons: dict[str, int] = {}
    by_symbol: dict[str, dict[str, int]] = {}
    check_failures: dict[tuple[str, str, str], int] = {}
    reason_checks: dict[str, set[tuple[str, str, str]]] = {}
    for (sid, comp, stage, sym, passed, reason, name), count in agg.shapes.items():
        if sid != OTHER:
            sessions.add(sid)
        if sym is not None and sym != OTHER:
            symbols.add(sym)
        if passed is None:
            informational += count
            continue
        if passed:
            passes += count
            continue
        failures += count
        label = NO_REASON if reason is None else reason
        reasons[label] = reasons.get(label, 0) + count
        per = by_symbol.setdefault(NO_SYMBOL if sym is None else sym, {})
        per[label] = per.get(label, 0) + count
        if name is not None:
            ckey = (comp, stage, name)
            check_failures[ckey] = check_failures.get(ckey, 0) + count
            reason_checks.setdefault(label, set()).add(ckey)

    near_by_check = {key: len(acc.gaps) for key, acc in agg.checks.items()}
    reason_rows = tuple(
        model.ReasonCount(
            reason,
            count,
            count / failures,
            sum(near_by_check.get(c, 0) for c in reason_checks.get(reason, ())),
        )
        for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    )
    symbol_rows = tuple(
        model.SymbolBlockers(
            symbol,
            total,
            tuple(
                model.ReasonCount(reason, count, count / total, 0)
                for reason, count in sorted(per.items(), key=lambda item: (-item[1], item[0]))[:3]
            ),
        )
        for symbol, per, total in sorted(
            ((s, p, sum(p.values())) for s, p in by_symbol.items()), key=lambda item: (-item[2], item[0])
        )
    )

    # --- funnel in pipeline order -------------------------------------------------------------------
    stage_pos: dict[tuple[str, str], tuple[int, int]] = {}
    stage_checks: dict[tuple[str, str], list[tuple[tuple[int, int], str]]] = {}
    for comp, stage, name in agg.first_seen:
        if comp == OTHER:
            continue
        pos = _position(agg, (comp, stage, name))
        skey = (comp, stage)
        if skey not in stage_pos or pos < stage_pos[skey]:
            stage_pos[skey] = pos
        if name is not None and name != OTHER:
            stage_checks.setdefault(skey, []).append((pos, name))
    component_pos: dict[str, tuple[int, int]] = {}
    for (comp, _), pos in stage_pos.items():
        if comp not in component_pos or pos < component_pos[comp]:
            component_pos[comp] = pos

    def stage_order(skey: tuple[str, str]) -> tuple[Any, ...]:
        comp = skey[0]
        return (_COMPONENT_ORDER.get(comp, 2), component_pos.get(comp, (1 << 62, 0)), stage_pos.get(skey), skey)

    funnel_rows = []
    for skey in sorted(agg.funnel, key=stage_order):
        seen, _, removed = agg.funnel[skey]
        narrowed = agg.entered.get(skey)
        came, passed_stage = (narrowed[0], narrowed[1]) if narrowed else (0, 0)
        removed_here: dict[str, int] = narrowed[2] if narrowed else {}
        names = [name for _, name in sorted(stage_checks.get(skey, []))]
        names += sorted(set(removed) - set(names))
        steps = tuple(
            model.FunnelStep(
                check_label(skey[0], skey[1], name),
                name,
                removed_here.get(name, 0),
                check_failures.get((*skey, name), 0),
            )
            for name in names
        )
        funnel_rows.append(model.FunnelStage(skey[0], skey[1], came, steps, passed_stage, seen))
    candidates = sum(row.evaluated for row in funnel_rows)

    # --- near misses and recommendations ------------------------------------------------------------
    margin = options.near_miss_margin
    uppers = tuple(margin * f for f in GAP_BUCKET_FRACTIONS)
    near_rows: list[model.NearMissStats] = []
    recommendations = []
    fired = []
    if outcomes is not None:
        cached, compute = outcomes.cache, outcomes.returns
        fired = [cached.get(at) or compute(at) for at in ((symbol, candle) for _, symbol, candle in agg.fired)]
    summary = _outcome_summary(agg, options, outcomes, fired)
    inputs = None
    if outcomes is not None and summary.basis == "outcomes":
        # sorted once: every check's clip bounds merge these with its own sorted returns
        reference = [sorted(r for rets in fired if (r := rets[j]) is not None) for j in range(len(options.horizons))]
        inputs = OutcomeInputs(outcomes, reference)
    for ckey in sorted(agg.checks, key=lambda k: (stage_order((k[0], k[1])), _position(agg, k), k)):
        acc = agg.checks[ckey]
        rec = recommend(ckey, acc, options.recover_share, inputs)
        if rec is not None:
            recommendations.append(rec)
        if not acc.gaps:
            continue
        comp, stage, name = ckey
        direction, source = check_direction(acc)
        gaps = sorted(acc.gaps)
        counts = [bisect_right(gaps, upper * (1 + BOUNDARY_TOLERANCE)) for upper in uppers]
        buckets = tuple(
            model.GapBucket(upper, count - (counts[i - 1] if i else 0))
            for i, (upper, count) in enumerate(zip(uppers, counts, strict=True))
        )
        near_rows.append(
            model.NearMissStats(
                check=check_label(comp, stage, name),
                component=comp,
                stage=stage,
                name=name,
                direction=direction,
                direction_source=source,
                failures=acc.failures,
                near_misses=len(gaps),
                median_value=median(acc.values),
                median_threshold=median(acc.thresholds),
                median_gap=median(gaps),
                gap_buckets=buckets,
                inconsistent=acc.inconsistent,
                non_numeric=acc.non_numeric,
            )
        )
    recommendations.sort(key=recommendation_order)

    # --- evidence -------------------------------------------------------------------------------
    evidence_rows = []
    for row in reason_rows[:top_evidence]:
        key = None if row.reason == NO_REASON else row.reason
        kept = agg.evidence.get(key)
        if kept is None:
            continue
        links = []
        for file_index, line, trace, span, ts, sym in (*kept[0], *kept[1])[: agg.options.evidence_per_reason]:
            valid = isinstance(trace, str) and is_trace_id(trace)
            span_ok = span if isinstance(span, str) and _SPAN_ID.fullmatch(span) else None
            links.append(
                model.EvidenceLink(
                    trace_id=trace if valid else None,
                    span_id=span_ok,
                    url=trace_url(trace_url_template, trace, span_ok, ts) if valid else None,
                    path=agg.files[file_index].path,
                    line=line,
                    ts=ts,
                    symbol=sym,
                )
            )
        evidence_rows.append(model.ReasonEvidence(row.reason, tuple(links)))

    skipped_rows = tuple(
        model.SkippedLines(
            cause,
            agg.skipped[cause],
            tuple(f"{agg.files[i].path}:{line}" for i, line in agg.skip_examples.get(cause, ())),
        )
        for cause in SKIP_CAUSES
        if agg.skipped.get(cause)
    )
    totals = model.Totals(
        events=agg.events,
        failures=failures,
        passes=passes,
        informational=informational,
        filtered_out=agg.filtered,
        sessions=len(sessions),
        symbols=len(symbols),
        first_ts=agg.ts_min if agg.events else None,
        last_ts=agg.ts_max if agg.events else None,
        span_seconds=agg.ts_max - agg.ts_min if agg.events else 0.0,
        files=len(agg.files),
        unreadable_files=unreadable,
        lines=sum(stats.lines for stats in agg.file_stats),
        skipped_lines=sum(agg.skipped.values()),
        candidates=candidates,
        ungrouped_evaluations=agg.ungrouped,
    )
    return DiagnosticsReport(
        options=options,
        totals=totals,
        blocked=blocked_reasons(agg.checks),
        strategies=strategy_signals(agg.signals, agg.checks),
        files=files,
        skipped=skipped_rows,
        reasons=reason_rows,
        funnel=tuple(funnel_rows),
        symbols=symbol_rows,
        near_misses=tuple(near_rows),
        recommendations=tuple(recommendations),
        evidence=tuple(evidence_rows),
        notes=_notes(agg, totals, unreadable),
        outcomes=summary,
    )


def _notes(agg: Aggregate, totals: model.Totals, unreadable: int) -> tuple[str, ...]:
    notes: list[str] = []
    if totals.files == 0:
        notes.append("No input file matched.")
    elif unreadable == totals.files:
        notes.append("No input file could be read.")
    elif totals.events == 0:
        if totals.filtered_out:
            notes.append("Every event was filtered out by --since/--until/--symbol/--session.")
        else:
            notes.append("The input holds no diagnostic events.")
    if unreadable and unreadable < totals.files:
        notes.append(f"{unreadable} of {totals.files} input files could not be read (see Input files).")
    for stats, source in zip(agg.file_stats, agg.files, strict=True):
        if stats.error is not None and stats.read_any:
            notes.append(f"`{source.path}` stopped early after {stats.lines} lines: {stats.error}.")
    if agg.ungrouped:
        notes.append(
            f"{agg.ungrouped} evaluations had neither a candle_ts nor a trace id, so they count in the reasons and "
            "near misses but not in the funnel."
        )
    if agg.shape_folded:
        notes.append(
            f"{agg.shape_folded} events beyond the distinct-key limit were counted under `{OTHER}` "
            "(sessions and symbols first)."
        )
    if agg.untracked_checks:
        notes.append(f"{agg.untracked_checks} failures of checks beyond the check limit have no near-miss analysis.")
    if agg.reasons_folded:
        notes.append(f"{agg.reasons_folded} failures of reasons beyond the reason limit have no evidence.")

    return tuple(notes)
