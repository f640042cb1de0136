"""The Markdown sections about signals: what blocked them, and the recommendations that would recover them."""

from __future__ import annotations

from otel_breakout.report._advice import plural
from otel_breakout.report._mdtext import code, g, n, pct
from otel_breakout.report._model import DiagnosticsReport, Recommendation
from otel_breakout.report._whatif import BLOCKED

__all__ = ["blocked_section", "recommendations_section"]

_TOP_BLOCKED = 20
_TOP_RECOMMENDATIONS = 10


def blocked_section(report: DiagnosticsReport) -> list[str]:
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


def _recommendation(rank: int, rec: Recommendation) -> list[str]:
    direction = rec.direction or "direction unknown"
    unit = "Extra signals" if rec.unit == "signals" else "Extra candidates"
    seed = rec.seed_rule
    noun = "signal" if rec.unit == "signals" else "candidate"
    basis = "the median near-miss value" if rec.near_misses else "the median value of the blocked failures"
    blocked = f"This check alone blocked {n(rec.sole_blocked)} {plural(rec.sole_blocked, noun)}"
    if rec.recoverable != rec.sole_blocked:
        blocked += f" ({n(rec.recoverable)} with a value a threshold change can pass)"
    out = [
        f"### {rank}. {code(rec.check)} ({direction})",
        "",
        rec.summary,
        "",
        f"The seed's proportional rule (midpoint between threshold and {basis}) gives {g(seed.threshold)}: "
        f"{n(seed.failures_passing)} {plural(seed.failures_passing, 'failure')} would have passed and "
        f"{n(seed.extra_passing)} extra {plural(seed.extra_passing, noun)}. {blocked}.",
        "",
        f"| Candidate | Threshold | Change | Failures passing | Near misses recovered | Blocked recovered | {unit} |",
        "| --- | --: | --: | --: | --: | --: | --: |",
    ]
    for w in rec.candidates:
        marker = " **(recommended)**" if w == rec.recommended else ""
        threshold = g(w.threshold) + (" (median)" if rec.thresholds_vary else "")
        near = pct(w.near_miss_share) if rec.near_misses else "-"
        recovered = pct(w.blocked_share) if rec.sole_blocked else "-"
        out.append(
            f"| {w.label}{marker} | {threshold} | {w.relative_change:.2%} | {n(w.failures_passing)} | {near} | "
            f"{recovered} | {n(w.extra_passing)} |"
        )
    return [*out, ""]


def recommendations_section(report: DiagnosticsReport) -> list[str]:
    if not report.recommendations:
        return []
    share = f"{report.options.recover_share:.0%}"
    out = [
        "## Recommendations",
        "",
        "Each figure is counted from the recorded events: a failure passes a candidate threshold when its gap to "
        "its own threshold is at most the change. Extra signals are candidates whose only failing check was this "
        f"one. A check that alone blocked candidates gets the smallest change recovering {share} of them (basis: "
        f"blocked); one that blocked none gets the smallest change recovering {share} of its near misses. Most "
        "extra signals first; test a change on fresh data before trading on it.",
        "",
    ]
    for rank, rec in enumerate(report.recommendations[:_TOP_RECOMMENDATIONS], 1):
        out += _recommendation(rank, rec)
    rest = len(report.recommendations) - _TOP_RECOMMENDATIONS
    if rest > 0:
        blocked = sum(1 for r in report.recommendations[_TOP_RECOMMENDATIONS:] if r.basis == BLOCKED)
        out += [f"{rest} more recommendations ({blocked} on blocked candidates) are in the JSON form.", ""]
    return out
