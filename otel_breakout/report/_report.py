"""``DiagnosticsReport``: the report's data in its two forms, ``to_dict()`` (JSON-ready) and ``to_markdown()``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from otel_breakout.report._markdown import render
from otel_breakout.report._model import ReportData
from otel_breakout.report._model_advice import OutcomeStats

__all__ = ["DiagnosticsReport"]


@dataclass(frozen=True, slots=True)
class DiagnosticsReport(ReportData):
    """Ranked failure reasons, funnels, near misses and tested recommendations for a set of journals."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: lists for tuples, epoch seconds for times, plus ``top_blocker`` and
        ``recommended_thresholds`` (check -> verdict, basis, threshold, sample sizes, horizon, costs, flags)."""
        data: dict[str, Any] = asdict(self)
        # Schema 2 names the midpoint rule "seed_rule": the key stays until the schema's next version.
        data["recommendations"] = [_schema_2_keys(rec) for rec in data["recommendations"]]
        data["top_blocker"] = self.top_blocker()
        recommended: dict[str, Any] = {}
        horizon = self.outcomes.horizon if self.outcomes is not None else None
        cost = self.outcomes.cost_bps if self.outcomes is not None else None
        for rec in self.recommendations:
            evidence = rec.outcomes
            recommended.setdefault(
                rec.check,
                {
                    "verdict": rec.verdict,
                    "basis": rec.basis,
                    "threshold": rec.recommended.threshold if rec.recommended is not None else None,
                    "current_threshold": rec.current_threshold,
                    "direction": rec.direction,
                    "relative_change": rec.recommended.relative_change if rec.recommended is not None else None,
                    "extra_passing": rec.recommended.extra_passing if rec.recommended is not None else None,
                    "removed": rec.recommended.removed if rec.recommended is not None else None,
                    "unit": rec.unit,
                    "flags": list(rec.flags),
                    "advised": rec.advised,
                    "horizon_bars": horizon,
                    "cost_bps": cost,
                    "sample": {
                        "blocked_outcomes": _outcomes_at(evidence.blocked, horizon) if evidence else 0,
                        "fired_outcomes": _outcomes_at(evidence.fired, horizon) if evidence else 0,
                        "reference_signals": evidence.reference_signals if evidence else 0,
                    },
                },
            )
        data["recommended_thresholds"] = recommended
        data["schema"] = "otel-breakout.diagnostics-report/2"
        return data

    def to_markdown(self) -> str:
        """The Markdown report (``reports/diag_summary.md``)."""
        return render(self)


def _schema_2_keys(recommendation: dict[str, Any]) -> dict[str, Any]:
    return {("seed_rule" if key == "midpoint_rule" else key): value for key, value in recommendation.items()}


def _outcomes_at(stats: tuple[OutcomeStats, ...], horizon: int | None) -> int:
    return next((row.outcomes for row in stats if row.horizon == horizon), 0)
