"""Threshold recommendations for one check, and the sentence that states them.

A check's **unit** is what relaxing it lets through: complete signals for a strategy condition and for a
scanner filter that took part in signal candidates (recorded with the candle's ``candle_ts``), otherwise
symbols through its stage. With outcomes, the verdict is the outcome rule's (:mod:`._verdict`) on the
candidates it alone blocked and the signals it let through; without, there is no verdict ("untested"), only
the exact what-if counts: the seed's midpoint rule and the changes recovering a share of what it blocked
(of its near misses when it blocked none).
"""

from __future__ import annotations

import statistics
from dataclasses import replace

from otel_breakout.report._candidates import SIGNAL_COMPONENT
from otel_breakout.report._model_advice import OutcomeBucket, OutcomeEvidence, OutcomeStats, Recommendation, WhatIf
from otel_breakout.report._outcomes import Outcomes, outcome_stats
from otel_breakout.report._records import CheckAcc
from otel_breakout.report._verdict import KEEP, LOOSEN, TIGHTEN, TOO_FEW, UNTESTED, Item, Judgement, clip_bounds, judge
from otel_breakout.report._whatif import CheckFigures, WhatIfCounter, advise, median, move_threshold

__all__ = ["OutcomeInputs", "check_direction", "check_label", "plural", "recommend", "recommendation_order"]


def check_label(component: str, stage: str, name: str) -> str:
    """The check's name as its failure reason spells it (``filter:atr_range``, ``signal:momentum:rsi``)."""
    if component == "scanner":
        return f"filter:{name}"
    if component == SIGNAL_COMPONENT:
        return f"signal:{stage}:{name}"
    return f"{component}:{stage}:{name}"


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``singular`` for one, ``many`` (default: with an s) otherwise."""
    return singular if count == 1 else (many or singular + "s")


def check_direction(acc: CheckAcc) -> tuple[str | None, str]:
    """(direction, where it came from: "events", "inferred" or "unknown")."""
    if acc.recorded_min or acc.recorded_max:
        return ("max" if acc.recorded_max > acc.recorded_min else "min"), "events"
    if acc.inferred_min or acc.inferred_max:
        return ("max" if acc.inferred_max > acc.inferred_min else "min"), "inferred"
    return None, "unknown"


def _fired_direction(acc: CheckAcc) -> str | None:
    """For a check that never failed: the side its values on fired signals sit on."""
    above = sum(1 for v, t in zip(acc.fired_values, acc.fired_thresholds, strict=True) if v > t)
    below = sum(1 for v, t in zip(acc.fired_values, acc.fired_thresholds, strict=True) if v < t)
    if above == below:
        return None
    return "min" if above > below else "max"


def _margin(value: float, threshold: float, direction: str | None) -> float:
    """How far a passed value cleared its threshold, relative to it (absolute for a zero threshold)."""
    diff = value - threshold if direction != "max" else threshold - value
    if direction is None:
        diff = abs(diff)
    return diff / abs(threshold) if threshold != 0 else diff


def _crosses_zero(current: float, new: float) -> bool:
    return (current > 0 and new <= 0) or (current < 0 and new >= 0) or (current == 0 and new != 0)


class OutcomeInputs:
    """What every check's verdict shares: the outcomes, the settings and the fired signals' returns."""

    def __init__(self, outcomes: Outcomes, reference: list[list[float]]) -> None:
        self.outcomes = outcomes
        self.settings = outcomes.settings
        self.reference = reference  # per horizon: the returns of every fired signal with one
        self.decision = reference[outcomes.settings.horizons.index(outcomes.settings.horizon)]


def _evidence(
    acc: CheckAcc, direction: str | None, inputs: OutcomeInputs
) -> tuple[list[Item], list[Item], tuple[OutcomeStats, ...], tuple[OutcomeStats, ...], tuple[float, float]]:
    """The blocked and fired candidates with an outcome at the decision horizon (ordered by distance), their
    statistics at every horizon, and the clip bounds at the decision horizon."""
    outcomes, settings = inputs.outcomes, inputs.settings
    returns, get, decision = outcomes.returns, outcomes.cache.get, settings.horizons.index(settings.horizon)
    # Each side: its candidates' returns at every horizon, and the rows to order those with a decision-horizon
    # return: (distance, value, threshold, (symbol, candle), return). Ties go by symbol and candle, so that the
    # groups never depend on the order candidates were finished in (a symbol may be null: "" sorts with it).
    blocked_returns = []
    blocked_rows = []
    for gap, value, threshold, at in zip(
        acc.signal_gaps, acc.signal_values, acc.signal_thresholds, acc.signal_at, strict=True
    ):
        if at is not None:
            rets = get(at) or returns(at)
            blocked_returns.append(rets)
            if (ret := rets[decision]) is not None:
                blocked_rows.append((gap, value, threshold, at if at[0] is not None else ("", at[1]), ret))
    fired_returns = []
    fired_rows = []
    sign = -1.0 if direction == "max" else 1.0
    for value, threshold, at in zip(acc.fired_values, acc.fired_thresholds, acc.fired_at, strict=True):
        diff = sign * (value - threshold) if direction is not None else abs(value - threshold)
        margin = diff / abs(threshold) if threshold != 0 else diff  # as _margin, inline
        if margin >= 0:  # a value recorded as passing on the failing side cannot be ordered by its margin
            rets = get(at) or returns(at)
            fired_returns.append(rets)
            if (ret := rets[decision]) is not None:
                fired_rows.append((margin, value, threshold, at if at[0] is not None else ("", at[1]), ret))
    fired_stats, blocked_stats = [], []
    decision_bounds = (0.0, 0.0)
    for j, horizon in enumerate(settings.horizons):
        fired_known = [r for rets in fired_returns if (r := rets[j]) is not None]
        fired_known.sort()
        blocked_known = [r for rets in blocked_returns if (r := rets[j]) is not None]
        blocked_known.sort()
        # Sorted runs: the sorts in clip_bounds and outcome_stats merge them in linear time.
        bounds = clip_bounds([*fired_known, *blocked_known, *inputs.reference[j]])
        if j == decision:
            decision_bounds = bounds
        fired_stats.append(outcome_stats(horizon, len(fired_returns), fired_known, bounds))
        blocked_stats.append(outcome_stats(horizon, len(blocked_returns), blocked_known, bounds))
    blocked_rows.sort()
    fired_rows.sort()
    new = tuple.__new__  # an Item without its Python-level constructor: one per candidate adds up
    blocked = [new(Item, (d, v, t, r)) for d, v, t, _, r in blocked_rows]
    fired = [new(Item, (d, v, t, r)) for d, v, t, _, r in fired_rows]
    return blocked, fired, tuple(fired_stats), tuple(blocked_stats), decision_bounds


def _buckets(judgement: Judgement) -> tuple[OutcomeBucket, ...]:
    low, high = judgement.bounds
    rows = []
    for band in (*reversed(judgement.fired), *judgement.blocked):
        returns = [item.ret for item in band.items]
        values = [item.value for item in band.items]
        clipped = [low if r < low else high if r > high else r for r in returns]
        rows.append(
            OutcomeBucket(
                side=band.side,
                low=min(values),
                high=max(values),
                candidates=len(band.items),
                median=statistics.median(returns),
                mean=sum(clipped) / len(clipped),
                win_share=sum(1 for r in returns if r > 0) / len(returns),
                role=band.role,
            )
        )
    return tuple(rows)


def recommend(
    key: tuple[str, str, str], acc: CheckAcc, recover_share: float, inputs: OutcomeInputs | None = None
) -> Recommendation | None:
    """The recommendation for one check, or None when there is nothing to judge or compute for it."""
    component, stage, name = key
    signals = component == SIGNAL_COMPONENT or acc.signal_failed > 0 or len(acc.fired_values) > 0
    if signals:
        figures = CheckFigures(
            acc.gaps,
            acc.values,
            acc.thresholds,
            acc.far_gaps,
            acc.signal_gaps,
            acc.signal_values,
            acc.signal_thresholds,
            acc.signal_blocked,
        )
    else:
        figures = CheckFigures(
            acc.gaps,
            acc.values,
            acc.thresholds,
            acc.far_gaps,
            acc.sole_gaps,
            acc.sole_values,
            acc.sole_thresholds,
            acc.sole_blocked,
        )
    has_what_if = bool(figures.near_gaps or figures.blocked_gaps)
    unit = "signals" if signals else "candidates"
    direction = check_direction(acc)[0] or _fired_direction(acc)
    judged: Judgement | None = None
    evidence: OutcomeEvidence | None = None
    if inputs is not None and signals:
        settings = inputs.settings
        blocked, fired, fired_stats, blocked_stats, bounds = _evidence(acc, direction, inputs)
        if not has_what_if and len(fired) < 2 * settings.min_outcomes:
            return None  # a check that never failed, with too few fired outcomes to judge a tightening
        judged = judge(blocked, fired, inputs.decision, min_outcomes=settings.min_outcomes,
                       edge_share=settings.edge_share, bounds=bounds)  # fmt: skip
        evidence = OutcomeEvidence(
            horizon=settings.horizon,
            cost_bps=settings.cost_bps,
            reference_signals=len(inputs.decision),
            reference_mean=judged.reference_mean,
            fired=fired_stats,
            blocked=blocked_stats,
            buckets=_buckets(judged),
            rule=judged.reason,
        )
    elif not has_what_if:
        return None
    advice = advise(figures, direction, recover_share, unit) if has_what_if else None
    if advice is not None:
        current, vary = advice.threshold, advice.vary
    else:
        current = median(acc.fired_thresholds)
        vary = min(acc.fired_thresholds) != max(acc.fired_thresholds)
    recommended: WhatIf | None = None
    flags: tuple[str, ...] = ()
    if judged is None:
        verdict = UNTESTED
    else:
        verdict = judged.verdict
        if verdict == KEEP:
            recommended = WhatIf("keep", current, 0.0, 0, 0.0, 0, 0.0)
        elif verdict in (LOOSEN, TIGHTEN):
            assert judged.change is not None and judged.value is not None
            change = judged.change
            threshold = move_threshold(current, change, direction) if vary else judged.value
            if verdict == LOOSEN:
                recommended = WhatIfCounter(figures).at("loosen (outcomes)", change, threshold)
            else:
                removed = sum(
                    1
                    for v, t in zip(acc.fired_values, acc.fired_thresholds, strict=True)
                    if 0 <= _margin(v, t, direction) < -change
                )
                recommended = WhatIf("tighten (outcomes)", threshold, change, 0, 0.0, 0, 0.0, removed)
            if _crosses_zero(current, threshold):
                flags = ("crosses_zero",)
    rec = Recommendation(
        check=check_label(component, stage, name),
        component=component,
        stage=stage,
        name=name,
        direction=direction,
        current_threshold=current,
        thresholds_vary=vary,
        near_misses=len(figures.near_gaps),
        sole_blocked=figures.blocked,
        recoverable=len(figures.blocked_gaps),
        verdict=verdict,
        basis="outcomes" if judged is not None else "no_outcomes",
        unit=unit,
        flags=flags,
        recommended=recommended,
        outcomes=evidence,
        midpoint_rule=advice.seed if advice is not None else None,
        recover=advice.recommended if advice is not None else None,
        what_if_basis=advice.basis if advice is not None else None,
        candidates=advice.candidates if advice is not None else (),
        summary="",
    )
    return replace(rec, summary=_summary(rec))


_VERDICT_RANK = {LOOSEN: 0, TIGHTEN: 0, KEEP: 2, TOO_FEW: 3, UNTESTED: 4}


def recommendation_order(rec: Recommendation) -> tuple[int, int, int, int, int, str]:
    """Advised changes first (most signals changed first), then flagged ones, keeps, too few outcomes and, with
    no prices, the what-if by extra signals; within each, most lone blocks and near misses first."""
    rank = 1 if rec.flags else _VERDICT_RANK.get(rec.verdict, 5)
    w = rec.recommended if rec.recommended is not None else rec.recover
    moved = (w.extra_passing + w.removed) if w is not None else 0
    signals = moved if rec.unit == "signals" else 0
    return (rank, -signals, -moved, -rec.sole_blocked, -rec.near_misses, rec.check)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _gain(rec: Recommendation, w: WhatIf) -> str:
    """What ``w`` would have let through, in the check's unit."""
    extra = w.extra_passing
    if rec.unit == "candidates":
        return f"{extra} more {plural(extra, 'symbol')} would have passed the `{rec.stage}` stage"
    whose = f" `{rec.stage}`" if rec.component == SIGNAL_COMPONENT else ""
    return f"{extra} more complete{whose} {plural(extra, 'signal')} would have fired"


def _change(rec: Recommendation, w: WhatIf, verb: str) -> str:
    current = _fmt(rec.current_threshold)
    if rec.thresholds_vary:
        return f"{verb} `{rec.name}` by {abs(w.relative_change):.2%} of each threshold (median {current})"
    return f"{verb} `{rec.name}` from {current} to {_fmt(w.threshold)} ({abs(w.relative_change):.2%})"


def _summary(rec: Recommendation) -> str:
    w = rec.recommended
    rule = rec.outcomes.rule if rec.outcomes is not None else ""
    if rec.verdict == UNTESTED:
        preface = f"No advice on `{rec.name}`: no prices, so what the blocked candidates would have done is unknown."
        return f"{preface} What-if, untested: {_what_if_sentence(rec)}" if rec.recover is not None else preface
    if rec.verdict == TOO_FEW or w is None:
        return f"No advice on `{rec.name}`: too few outcomes. {rule}"
    horizon = rec.outcomes.horizon if rec.outcomes is not None else 0
    cost = rec.outcomes.cost_bps if rec.outcomes is not None else 0.0
    basis = f"Judged by outcomes {horizon} bars after each candle, net of {cost:g} bps round-trip costs."
    if rec.verdict == KEEP:
        return f"Keep `{rec.name}` at {_fmt(rec.current_threshold)}. {basis} {rule}"
    flag = (
        " **Flagged, not advised:** the change moves the threshold past zero, which changes what the check means; "
        "review it before trying it."
        if rec.flags
        else ""
    )
    if rec.verdict == LOOSEN:
        verb = {"min": "Lower", "max": "Raise"}.get(rec.direction or "", "Relax")
        return f"{_change(rec, w, verb)}: {_gain(rec, w)}. {basis} {rule}{flag}"
    verb = {"min": "Raise", "max": "Lower"}.get(rec.direction or "", "Tighten")
    lost = w.removed
    return f"{_change(rec, w, verb)}: {lost} fewer {plural(lost, 'signal')} would have fired. {basis} {rule}{flag}"


def _what_if_sentence(rec: Recommendation) -> str:
    """The smallest change recovering the share asked for, in words (exact counts, no judgement)."""
    w = rec.recover
    assert w is not None
    verb = {"min": "Lower", "max": "Raise"}.get(rec.direction or "", "Relax")
    change = _change(rec, w, verb)
    what = "condition" if rec.component == SIGNAL_COMPONENT else "filter" if rec.component == "scanner" else "check"
    noun = "signal" if rec.unit == "signals" else "candidate"
    if rec.what_if_basis == "blocked":
        return (
            f"{change}: {_gain(rec, w)} ({w.extra_passing} of the {rec.sole_blocked} {plural(rec.sole_blocked, noun)} "
            f"this {what} alone blocked, {w.blocked_share:.0%}), and {w.failures_passing} recorded "
            f"{plural(w.failures_passing, 'failure')} would have passed. Basis: the {noun}s it alone blocked."
        )
    near = rec.near_misses
    return (
        f"{change}: {w.failures_passing} of {near} near {plural(near, 'miss', 'misses')} "
        f"({w.near_miss_share:.0%}) would have passed, and {_gain(rec, w)}. Basis: near misses (this {what} alone "
        f"blocked no {noun} that a threshold change could recover)."
    )
