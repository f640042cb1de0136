"""Threshold recommendations for one check, and the sentence that states them.

A check's **unit** is what relaxing it lets through: complete signals for a strategy condition and for a
scanner filter that took part in signal candidates (recorded with the candle's ``candle_ts``), otherwise
symbols through its stage. When it alone blocked candidates of that unit with a recorded value, the
recommendation recovers ``recover_share`` of them (basis "blocked"); otherwise of its near misses.
"""

from __future__ import annotations

from dataclasses import replace

from otel_breakout.report._candidates import SIGNAL_COMPONENT
from otel_breakout.report._model import Recommendation, WhatIf
from otel_breakout.report._records import CheckAcc
from otel_breakout.report._whatif import BLOCKED, CheckFigures, advise

__all__ = ["check_direction", "check_label", "plural", "recommend", "recommendation_order"]


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


def recommend(key: tuple[str, str, str], acc: CheckAcc, recover_share: float) -> Recommendation | None:
    """The recommendation for one check, or None when no threshold change would recover anything."""
    component, stage, name = key
    signals = component == SIGNAL_COMPONENT or acc.signal_failed > 0
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
    if not figures.near_gaps and not figures.blocked_gaps:
        return None
    unit = "signals" if signals else "candidates"
    direction, _ = check_direction(acc)
    advice = advise(figures, direction, recover_share, unit)
    label = check_label(component, stage, name)
    rec = Recommendation(
        check=label,
        component=component,
        stage=stage,
        name=name,
        direction=direction,
        current_threshold=advice.threshold,
        thresholds_vary=advice.vary,
        near_misses=len(figures.near_gaps),
        sole_blocked=figures.blocked,
        recoverable=len(figures.blocked_gaps),
        basis=advice.basis,
        unit=unit,
        seed_rule=advice.seed,
        recommended=advice.recommended,
        candidates=advice.candidates,
        summary="",
    )
    return replace(rec, summary=_summary(rec))


def recommendation_order(rec: Recommendation) -> tuple[int, int, int, int, str]:
    """Most extra signals first, then extra candidates through a stage, lone blocks and near misses."""
    extra = rec.recommended.extra_passing
    return (-(extra if rec.unit == "signals" else 0), -extra, -rec.sole_blocked, -rec.near_misses, rec.check)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _gain(rec: Recommendation, w: WhatIf) -> str:
    """What ``w`` would have let through, in the check's unit."""
    extra = w.extra_passing
    if rec.unit == "candidates":
        return f"{extra} more {plural(extra, 'symbol')} would have passed the `{rec.stage}` stage"
    whose = f" `{rec.stage}`" if rec.component == SIGNAL_COMPONENT else ""
    return f"{extra} more complete{whose} {plural(extra, 'signal')} would have fired"


def _summary(rec: Recommendation) -> str:
    w = rec.recommended
    verb = {"min": "Lower", "max": "Raise"}.get(rec.direction or "", "Relax")
    current = _fmt(rec.current_threshold)
    if rec.thresholds_vary:
        change = f"{verb} `{rec.name}` by {w.relative_change:.2%} of each threshold (median {current})"
    else:
        change = f"{verb} `{rec.name}` from {current} to {_fmt(w.threshold)} ({w.relative_change:.2%})"
    what = "condition" if rec.component == SIGNAL_COMPONENT else "filter" if rec.component == "scanner" else "check"
    noun = "signal" if rec.unit == "signals" else "candidate"
    if rec.basis == BLOCKED:
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
