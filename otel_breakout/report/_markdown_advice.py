"""The Markdown sections about signals: what blocked them, what happened next, and the threshold advice."""

from __future__ import annotations

from otel_breakout.report._advice import plural
from otel_breakout.report._mdtext import code, g, n, pct
from otel_breakout.report._model import ReportData
from otel_breakout.report._model_advice import Recommendation

__all__ = ["blocked_section", "outcomes_section", "recommendations_section"]

_TOP_BLOCKED = 20
_TOP_RECOMMENDATIONS = 10


def blocked_section(report: ReportData) -> list[str]:
    out = [
        "## What blocked signals",
        "",
        "A signal candidate is one strategy on one symbol and candle: the strategy's conditions plus the scanner "
        "filters recorded with the same session, symbol and `candle_ts`. **Blocked alone** counts the candidates on "
        "which a check was the only one that failed, so relaxing it alone would have fired the signal; **with "
        "others**, those on which it failed along with other checks. Both count candidates, so a filter failing on "
        "a candle counts once for each strategy that looked at it.",
        "",
    ]
    if not report.strategies:
        return [*out, "No strategy condition was recorded with a candle or a trace, so no signal candidate.", ""]
    top = report.top_blocker()
    if top is None:
        fired = sum(s.signals for s in report.strategies)
        out += [f"No signal was blocked by a single check ({n(fired)} {plural(fired, 'signal')} fired).", ""]
    else:
        first = report.blocked[0]
        out += [f"**Top blocker: {code(top)}**, alone on {n(first.blocked)} {plural(first.blocked, 'candidate')}.", ""]
    if report.blocked:
        out += [
            "| # | Reason | Blocked alone | With others | Failures |",
            "| --: | --- | --: | --: | --: |",
        ]
        for rank, row in enumerate(report.blocked[:_TOP_BLOCKED], 1):
            out.append(f"| {rank} | {code(row.reason)} | {n(row.blocked)} | {n(row.with_others)} | {n(row.failures)} |")
        if len(report.blocked) > _TOP_BLOCKED:
            out.append(f"\n{len(report.blocked) - _TOP_BLOCKED} more reasons are in the JSON form.")
        out.append("")
    out += [
        "| Strategy | Candidates | Signals | Blocked by one check | By several | Top blocker |",
        "| --- | --: | --: | --: | --: | --- |",
    ]
    for s in report.strategies:
        blocker = code(s.top_blocker) if s.top_blocker else "-"
        out.append(
            f"| {code(s.strategy)} | {n(s.candidates)} | {n(s.signals)} | {n(s.blocked_by_one)} | "
            f"{n(s.blocked_by_several)} | {blocker} |"
        )
    return [*out, ""]


_ROLES = {"admitted": "let through", "stop": "stop here", "removed": "cut", "nearest": "nearest", "": ""}
_VERDICTS = {
    "keep": "keep",
    "loosen": "loosen",
    "tighten": "tighten",
    "too_few_outcomes": "too few outcomes",
    "untested": "untested (no prices)",
}


def _ret(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2%}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _evidence(rec: Recommendation) -> list[str]:
    evidence = rec.outcomes
    if evidence is None:
        return []
    out = [
        "| Candidates | Value | Outcomes | Median return | Average | Win share | |",
        "| --- | --- | --: | --: | --: | --: | --- |",
    ]
    shown_threshold = False
    for bucket in evidence.buckets:
        if bucket.side == "blocked" and not shown_threshold:
            out.append(f"| *threshold* | *{g(rec.current_threshold)}* | | | | | |")
            shown_threshold = True
        side = "fired" if bucket.side == "fired" else "blocked alone"
        span = g(bucket.low) if bucket.low == bucket.high else f"{g(bucket.low)} to {g(bucket.high)}"
        out.append(
            f"| {side} | {span} | {n(bucket.candidates)} | {_ret(bucket.median)} | {_ret(bucket.mean)} | "
            f"{_share(bucket.win_share)} | {_ROLES.get(bucket.role, bucket.role)} |"
        )
    if not evidence.buckets:
        out = []
    if not any(row.outcomes for row in (*evidence.fired, *evidence.blocked)):
        return out
    rows = [
        f"| {f.horizon} bars | {n(f.outcomes)} | {_ret(f.median)} | {_share(f.win_share)} | {n(b.outcomes)} | "
        f"{_ret(b.median)} | {_share(b.win_share)} |"
        for f, b in zip(evidence.fired, evidence.blocked, strict=True)
    ]
    out += [
        "",
        "| Horizon | Fired signals | Median | Win share | Blocked alone | Median | Win share |",
        "| --- | --: | --: | --: | --: | --: | --: |",
        *rows,
    ]
    return [*out, ""]


def _what_if(rec: Recommendation) -> list[str]:
    if not rec.candidates:
        return []
    unit = "Extra signals" if rec.unit == "signals" else "Extra candidates"
    noun = "signal" if rec.unit == "signals" else "candidate"
    rule = rec.midpoint_rule
    out = []
    if rule is not None:
        basis = "the median near-miss value" if rec.near_misses else "the median value of the blocked failures"
        out += [
            f"What-if, untested by outcomes: exact counts of what each change would let through in this data. The "
            f"seed's proportional rule (midpoint between threshold and {basis}) gives {g(rule.threshold)}: "
            f"{n(rule.failures_passing)} {plural(rule.failures_passing, 'failure')} would have passed and "
            f"{n(rule.extra_passing)} extra {plural(rule.extra_passing, noun)}.",
            "",
        ]
    out += [
        f"| Candidate | Threshold | Change | Failures passing | Near misses recovered | Blocked recovered | {unit} |",
        "| --- | --: | --: | --: | --: | --: | --: |",
    ]
    for w in rec.candidates:
        marker = " *(the share asked for)*" if w == rec.recover else ""
        threshold = g(w.threshold) + (" (median)" if rec.thresholds_vary else "")
        near = pct(w.near_miss_share) if rec.near_misses else "-"
        recovered = pct(w.blocked_share) if rec.sole_blocked else "-"
        out.append(
            f"| {w.label}{marker} | {threshold} | {w.relative_change:.2%} | {n(w.failures_passing)} | {near} | "
            f"{recovered} | {n(w.extra_passing)} |"
        )
    return [*out, ""]


def _recommendation(rank: int, rec: Recommendation) -> list[str]:
    direction = rec.direction or "direction unknown"
    verdict = _VERDICTS.get(rec.verdict, rec.verdict)
    if rec.flags:
        verdict += ", flagged"
    noun = "signal" if rec.unit == "signals" else "candidate"
    blocked = f"This check alone blocked {n(rec.sole_blocked)} {plural(rec.sole_blocked, noun)}"
    if rec.recoverable != rec.sole_blocked:
        blocked += f" ({n(rec.recoverable)} with a value a threshold change can pass)"
    out = [f"### {rank}. {code(rec.check)} ({direction}): **{verdict}**", "", rec.summary, ""]
    out += _evidence(rec)
    out += [f"{blocked}.", ""]
    return out + _what_if(rec)


def recommendations_section(report: ReportData) -> list[str]:
    if not report.recommendations:
        return []
    outcomes = report.outcomes
    share = f"{report.options.recover_share:.0%}"
    if outcomes is not None and outcomes.basis == "outcomes":
        intro = (
            f"Each check is judged by what happened next: the net forward return {outcomes.horizon} bars after the "
            f"candle (close to close, minus {outcomes.cost_bps:g} bps round-trip costs), of the signals it let "
            f"through and of the candidates it alone blocked, in groups of {outcomes.min_outcomes} ordered by how "
            "far they cleared or missed the threshold. **Loosen** when the blocked candidates nearest the "
            f"threshold earned more than {outcomes.edge_share:.0%} of the bot's signals' average beyond chance (the "
            "stretch of them from the threshold that beats it by the most does so at one-sided 5 %; when the signals "
            "lose money, more than zero); the change admits each group from the threshold while its average stays "
            "above zero, and at least that stretch. **Tighten** when the "
            "fired signals nearest the threshold lost money and did significantly worse than those above them. "
            f"**Keep** otherwise; no verdict on fewer than {outcomes.min_outcomes} outcomes. A change that moves a "
            "threshold past zero is flagged, never advised. Averages clip the extreme 2% on each side. These are "
            "counts over recorded candles, not a backtest: try a change on fresh data before trading on it."
        )
    else:
        intro = (
            "**No outcomes, so no advice is tested**: without prices the report cannot tell whether the candidates a "
            "check blocked would have made money. Each check below shows exact what-if counts only: a failure "
            "passes a candidate threshold when its gap to its own threshold is at most the change, and extra "
            "signals are candidates whose only failing check was this one (the smallest change recovering "
            f"{share} of them, or of its near misses, is marked). See *Outcomes* to add prices."
        )
    out = ["## Recommendations", "", intro, ""]
    for rank, rec in enumerate(report.recommendations[:_TOP_RECOMMENDATIONS], 1):
        out += _recommendation(rank, rec)
    rest = len(report.recommendations) - _TOP_RECOMMENDATIONS
    if rest > 0:
        advised = sum(1 for r in report.recommendations[_TOP_RECOMMENDATIONS:] if r.advised)
        out += [f"{rest} more checks ({advised} with an advised change) are in the JSON form.", ""]
    return out


def outcomes_section(report: ReportData) -> list[str]:
    outcomes = report.outcomes
    if outcomes is None:
        return []
    out = ["## Outcomes", "", outcomes.note, ""]
    if outcomes.prices:
        out += [
            "| Price file | Form | Rows | Kept | Symbols | Bad rows | Problem |",
            "| --- | --- | --: | --: | --: | --: | --- |",
        ]
        for source in outcomes.prices:
            problem = code(source.error) if source.error else "-"
            out.append(
                f"| {code(source.path)} | {source.form or '-'} | {n(source.rows)} | {n(source.kept)} | "
                f"{n(source.symbols)} | {n(source.bad_rows)} | {problem} |"
            )
        out.append("")
    if outcomes.journal_prices:
        out += [f"{n(outcomes.journal_prices)} closes came from the journal (`close` with `candle_ts`).", ""]
    if outcomes.reference:
        out += [
            "Every signal the bot fired on a candle, the reference each check's candidates are compared with:",
            "",
            "| Horizon | Signals with an outcome | Median return | Average | Win share |",
            "| --- | --: | --: | --: | --: |",
        ]
        for row in outcomes.reference:
            out.append(
                f"| {row.horizon} bars | {n(row.outcomes)} of {n(row.candidates)} | {_ret(row.median)} | "
                f"{_ret(row.mean)} | {_share(row.win_share)} |"
            )
        out.append("")
    return out
