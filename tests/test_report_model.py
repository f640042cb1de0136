"""The report's records: the midpoint rule's new name and its deprecated alias, the JSON keys, no import cycle."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import otel_breakout.report
from otel_breakout.report import DiagnosticsReport, DiagnosticsReportBuilder, Recommendation
from tests.support.journal import signal_event, write_journal_lines

REPORT_PACKAGE = Path(otel_breakout.report.__file__).parent


def _report(tmp_path: Path) -> DiagnosticsReport:
    # One condition alone blocks two candles and fires on a third: enough for a midpoint rule.
    events = []
    for n, volume in enumerate((1.9, 1.96, 2.1)):
        candle = 1_755_640_800 + 60 * n
        events.append(signal_event("momentum", "X", "volume_threshold", volume, 2.0, "min", candle, ts=candle + 1))
    write_journal_lines(tmp_path / "diag_S_1.jsonl", events)
    return DiagnosticsReportBuilder(tmp_path).build()


def _recommendation(report: DiagnosticsReport) -> Recommendation:
    rec = report.recommendation_for("signal:momentum:volume_threshold")
    assert rec is not None and rec.midpoint_rule is not None
    return rec


def test_seed_rule_is_a_deprecated_alias_of_midpoint_rule(tmp_path: Path) -> None:
    rec = _recommendation(_report(tmp_path))
    with pytest.warns(DeprecationWarning, match=r"Recommendation\.seed_rule is deprecated; use .*midpoint_rule"):
        alias = rec.seed_rule
    assert alias is rec.midpoint_rule
    # The alias is not a field: it never reaches asdict(), replace() or the constructor's keywords.
    assert "seed_rule" not in {field.name for field in dataclasses.fields(Recommendation)}


def test_the_json_keeps_its_schema_2_key_for_the_midpoint_rule(tmp_path: Path) -> None:
    report = _report(tmp_path)
    data = report.to_dict()
    assert data["schema"] == "otel-breakout.diagnostics-report/2"
    [rec] = data["recommendations"]
    keys = list(rec)
    assert "midpoint_rule" not in keys
    # In its place among the fields, so the JSON is byte for byte what schema 2 always wrote.
    fields = [field.name for field in dataclasses.fields(Recommendation)]
    assert keys == [("seed_rule" if name == "midpoint_rule" else name) for name in fields]
    assert rec["seed_rule"] == dataclasses.asdict(_recommendation(report).midpoint_rule)  # type: ignore[arg-type]  # checked not None above


def test_the_report_keeps_its_class_name_and_answers_from_its_data(tmp_path: Path) -> None:
    report = _report(tmp_path)
    assert type(report) is DiagnosticsReport and type(report).__module__ == "otel_breakout.report._report"
    assert repr(report).startswith("DiagnosticsReport(options=ReportOptions(")
    assert report.top_blocker() == "signal:momentum:volume_threshold"
    assert report == dataclasses.replace(report) and report.to_markdown().startswith("# ")


def _imports(path: Path) -> set[str]:
    """Every otel_breakout.report module that ``path`` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("otel_breakout.report."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("otel_breakout.report."))
    return found


def test_no_import_cycle_between_the_report_modules() -> None:
    graph = {
        f"otel_breakout.report.{path.stem}": _imports(path)
        for path in REPORT_PACKAGE.glob("_*.py")
        if path.stem != "__init__"
    }
    assert "otel_breakout.report._markdown" in graph["otel_breakout.report._report"]  # the graph sees real imports

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph.get(start, ()))
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
        return seen

    cycles = sorted(module for module in graph if module in reach(module))
    assert cycles == []
