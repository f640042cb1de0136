"""The Markdown rendering of a :class:`DiagnosticsReport` (``reports/diag_summary.md``).

Every string that comes from a journal is shown in a code span (see :mod:`otel_breakout.report._mdtext`),
so a hostile journal cannot inject links, HTML or break a table. Only the trace links carry URLs, built from
validated hex trace ids and the configured template.
"""

from __future__ import annotations

from datetime import datetime, timezone

from otel_breakout.report._markdown_advice import blocked_section, outcomes_section, recommendations_section
from otel_breakout.report._mdtext import code as _code
from otel_breakout.report._mdtext import g as _g
from otel_breakout.report._mdtext import n as _n
from otel_breakout.report._mdtext import pct as _pct
from otel_breakout.report._model import FunnelStage, ReportData

__all__ = ["render"]

_TOP_REASONS = 20
_TOP_SYMBOLS = 20
_CAUSES = {
    "not_json": "not JSON (or not UTF-8)",
    "truncated": "truncated last line",
    "nan_or_infinity": "NaN or Infinity",
    "too_deep": "nested too deeply",
    "too_long": "line too long",
    "not_an_object": "not a JSON object",
    "missing_field": "required field missing",
    "wrong_type": "field of the wrong type",
    "unknown_version": "unknown schema version",
}


def _url(url: str) -> str:
    for char, escaped in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E"), ("\n", "")):
        url = url.replace(char, escaped)
    return url


def _time(ts: float | None) -> str:
    if ts is None:
        return "-"
    try:
        moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):  # a timestamp no calendar can show
        return f"{ts:g} (epoch s)"
    return moment.strftime("%Y-%m-%d %H:%M:%S") + "Z"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    parts: list[str] = []
    for size, unit in ((86_400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def _header(report: ReportData) -> list[str]:
    t = report.totals
    out = ["# Diagnostics summary", ""]
    if report.empty:
        if t.files == 0:
            out.append("**No input file matched**, so there is nothing to report.")
        elif not report.readable:
            out.append("**No input file could be read**, so there is nothing to report.")
        else:
            out.append(f"**No diagnostic events** were found in {_n(t.files)} input file(s) ({_n(t.lines)} lines).")
    else:
        out.append(
            f"**{_n(t.events)} events** from {_n(t.files)} file(s): {_n(t.sessions)} session(s), "
            f"{_n(t.symbols)} symbol(s), {_time(t.first_ts)} to {_time(t.last_ts)} ({_duration(t.span_seconds)})."
        )
        share = t.failures / (t.failures + t.passes) if t.failures + t.passes else 0.0
        out.append(
            f"{_n(t.failures)} failed evaluations ({_pct(share)} of {_n(t.failures + t.passes)}), "
            f"{_n(t.passes)} passed, {_n(t.informational)} informational; {_n(t.candidates)} candidates in the funnel."
        )
    if t.filtered_out:
        out.append(f"{_n(t.filtered_out)} events were left out by the time, symbol or session filters.")
    if t.skipped_lines:
        out += ["", f"> **Warning:** {_n(t.skipped_lines)} lines were skipped; see *Input problems* below."]
    opts = report.options
    outcomes = report.outcomes
    if outcomes is not None and outcomes.basis == "outcomes":
        advice = (
            f"threshold advice is judged by outcomes {outcomes.horizon} bars after each candle, net of "
            f"{outcomes.cost_bps:g} bps round-trip costs (see *Outcomes*)."
        )
    else:
        advice = "**no prices, so no threshold advice is tested** (see *Outcomes*)."
    out += ["", f"Near-miss margin {_pct(opts.near_miss_margin)} of the threshold; {advice}", ""]
    return out


def _reasons(report: ReportData) -> list[str]:
    if not report.reasons:
        return []
    out = [
        "## Top failure reasons",
        "",
        "| # | Reason | Failures | Share | Near misses |",
        "| --: | --- | --: | --: | --: |",
    ]
    for rank, row in enumerate(report.reasons[:_TOP_REASONS], 1):
        out.append(f"| {rank} | {_code(row.reason)} | {_n(row.failures)} | {_pct(row.share)} | {_n(row.near_misses)} |")
    rest = report.reasons[_TOP_REASONS:]
    if rest:
        out.append(
            f"\n{len(rest)} more reasons with {_n(sum(r.failures for r in rest))} failures are in the JSON form."
        )
    return [*out, ""]


def _funnel_stage(stage: FunnelStage) -> str:
    removed = " · ".join(f"{_code(step.check)} {_n(step.removed)}" for step in stage.steps if step.removed) or "-"
    failed = " · ".join(f"{_code(step.check)} {_n(step.failures)}" for step in stage.steps if step.failures) or "-"
    rate = _pct(stage.left / stage.candidates_in) if stage.candidates_in else "-"
    return (
        f"| {_code(stage.stage)} | {_n(stage.candidates_in)} | {removed} | {_n(stage.left)} | {rate} | "
        f"{_n(stage.evaluated)} | {failed} |"
    )


def _funnel(report: ReportData) -> list[str]:
    if not report.funnel:
        return []
    out = [
        "## Funnel",
        "",
        "Candidates are one symbol in one scan or candle (scanner stages) or one symbol on one candle (strategies). "
        "In pipeline order, a candle enters a scanner stage only after passing every stage before it, and a strategy "
        "only after passing them all, so the funnel narrows to the signals (a strategy's *Passed* are its signals); "
        "scans grouped by trace count as recorded. Each removed candidate counts once, against the first check it "
        "failed. *Evaluated* and *Failed evaluations* count every candidate and failure of the stage, wherever it "
        "stood in the pipeline.",
        "",
    ]
    by_component: dict[str, list[FunnelStage]] = {}
    for stage in report.funnel:
        by_component.setdefault(stage.component, []).append(stage)
    for component, stages in by_component.items():
        out += [
            f"### {_code(component)}",
            "",
            "| Stage | In | Removed by | Passed | Pass rate | Evaluated | Failed evaluations |",
            "| --- | --: | --- | --: | --: | --: | --- |",
            *(_funnel_stage(stage) for stage in stages),
            "",
        ]
    return out


def _symbols(report: ReportData) -> list[str]:
    if not report.symbols:
        return []
    out = ["## Top blockers per symbol", "", "| Symbol | Failures | Top blockers |", "| --- | --: | --- |"]
    for row in report.symbols[:_TOP_SYMBOLS]:
        top = " · ".join(f"{_code(r.reason)} {_n(r.failures)} ({_pct(r.share)})" for r in row.top)
        out.append(f"| {_code(row.symbol)} | {_n(row.failures)} | {top} |")
    if len(report.symbols) > _TOP_SYMBOLS:
        out.append(f"\n{len(report.symbols) - _TOP_SYMBOLS} more symbols are in the JSON form.")
    return [*out, ""]


def _near_misses(report: ReportData) -> list[str]:
    margin = report.options.near_miss_margin
    out = [f"## Near misses (failures within {_pct(margin)} of the threshold)", ""]
    if not report.near_misses:
        return [*out, "No failure came within the margin of its threshold.", ""]
    uppers = [bucket.upper for bucket in report.near_misses[0].gap_buckets]
    out += [
        "| Check | Direction | Near misses | Of failures | Median value | Median threshold | "
        + " | ".join(f"Gap ≤ {u * 100:.3g}%" for u in uppers)
        + " |",
        "| --- | --- | --: | --: | --: | --: | " + " | ".join("--:" for _ in uppers) + " |",
    ]
    for row in report.near_misses:
        direction = f"{row.direction} ({row.direction_source})" if row.direction else "unknown"
        buckets = " | ".join(_n(b.count) for b in row.gap_buckets)
        out.append(
            f"| {_code(row.check)} | {direction} | {_n(row.near_misses)} | {_pct(row.near_misses / row.failures)} | "
            f"{_g(row.median_value)} | {_g(row.median_threshold)} | {buckets} |"
        )
    flagged = [row for row in report.near_misses if row.inconsistent or row.non_numeric]
    if flagged:
        out.append("")
        for row in flagged:
            out.append(
                f"- {_code(row.check)}: {_n(row.inconsistent)} failures recorded on the passing side of the "
                f"threshold and {_n(row.non_numeric)} without a numeric value or threshold (no threshold change "
                "would pass them)."
            )
    return [*out, ""]


def _evidence(report: ReportData) -> list[str]:
    if not report.evidence:
        return []
    out = ["## Evidence", ""]
    for item in report.evidence:
        out += [f"### {_code(item.reason)}", ""]
        for link in item.examples:
            trace = f"[trace {link.trace_id[:16]}…]({_url(link.url)})" if link.trace_id and link.url else "no trace"
            span = f" · span {_code(link.span_id)}" if link.span_id else ""
            symbol = f" · {_code(link.symbol)}" if link.symbol is not None else ""
            out.append(f"- {trace}{span}{symbol} · {_time(link.ts)} · {_code(f'{link.path}:{link.line}')}")
        out.append("")
    return out


def _inputs(report: ReportData) -> list[str]:
    out: list[str] = []
    if report.skipped:
        out += ["## Input problems", "", "| Cause | Lines | First examples |", "| --- | --: | --- |"]
        for row in report.skipped:
            examples = ", ".join(_code(e) for e in row.examples)
            out.append(f"| {_CAUSES.get(row.cause, row.cause)} (`{row.cause}`) | {_n(row.count)} | {examples} |")
        out.append("")
    if report.files:
        out += [
            "## Input files",
            "",
            "| File | Size | Lines | Events | Filtered out | Skipped | Problem |",
            "| --- | --: | --: | --: | --: | --: | --- |",
        ]
        for f in report.files:
            size = _size(f.bytes) + (" gz" if f.compressed else "")
            problem = _code(f.error) if f.error else "-"
            out.append(
                f"| {_code(f.path)} | {size} | {_n(f.lines)} | {_n(f.events)} | {_n(f.filtered_out)} | "
                f"{_n(f.skipped)} | {problem} |"
            )
        out.append("")
    if report.notes:
        out += ["## Notes", "", *(f"- {note}" for note in report.notes), ""]
    return out


_GUIDE = """## How to read this report

1. **What blocked signals** names the check that alone stood between a candle and a signal most often:
   relaxing it alone would have fired those signals. Candidates blocked by several checks need more than
   one change.
2. **Top failure reasons** say what fails most; a reason far ahead of the rest is the next thing to look
   at (`filter:min_trades_per_minute` usually means thin markets, not a bad threshold).
3. **Funnel** shows how many candidates reach each stage and which check removes them; a stage that
   removes almost everything is either doing its job in a quiet market or set too tight.
4. **Near misses** are failures close to their threshold. Many near misses say a small change would let
   candidates through, not that they would have been good trades.
5. **Outcomes** and **Recommendations** judge each threshold by what the candidates on either side of it
   did next: keep a check whose blocked candidates did worse than the signals taken, loosen one whose
   nearest blocked candidates did as well, tighten one whose weakest signals lost money. Fewer signals is
   not by itself a fault. Without prices there is no verdict, only exact what-if counts.
6. **Evidence** links each top reason to example traces (and journal lines) to check a few by hand.
"""


def render(report: ReportData) -> str:
    lines = _header(report)
    if not report.empty:
        lines += blocked_section(report)
        lines += _reasons(report)
        lines += _funnel(report)
        lines += _symbols(report)
        lines += _near_misses(report)
        lines += outcomes_section(report)
        lines += recommendations_section(report)
        lines += _evidence(report)
    lines += _inputs(report)
    return "\n".join(lines).rstrip("\n") + "\n\n" + _GUIDE
