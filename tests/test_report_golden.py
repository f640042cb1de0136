"""The report on a fixed, checked-in corpus, against checked-in Markdown and JSON.

After an intended change to the report, regenerate the goldens with ``UPDATE_GOLDEN=1 make test`` and
review the diff like any other change.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from otel_breakout import Settings
from otel_breakout.report import DiagnosticsReport, DiagnosticsReportBuilder
from tests.support.report_corpus import ROOT

UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture
def report(monkeypatch: pytest.MonkeyPatch) -> DiagnosticsReport:
    # Paths in the report are as the user typed them: run from the corpus folder for stable goldens.
    monkeypatch.chdir(ROOT)
    return DiagnosticsReportBuilder(
        ["journals"], settings=Settings.from_env({}), workers=1, prices=["prices.csv"]
    ).build()


def _check(name: str, text: str) -> None:
    golden = ROOT / name
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text(), f"{name} changed; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"


def test_markdown(report: DiagnosticsReport) -> None:
    _check("diag_summary.md", report.to_markdown())


def test_json(report: DiagnosticsReport) -> None:
    _check("diag_summary.json", orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")


def test_the_golden_report_shows_every_section(report: DiagnosticsReport) -> None:
    markdown = report.to_markdown()
    for heading in (
        "## What blocked signals",
        "## Top failure reasons",
        "## Funnel",
        "## Top blockers per symbol",
        "## Near misses",
        "## Outcomes",
        "## Recommendations",
        "## Evidence",
        "## Input problems",
        "## Input files",
        "## How to read this report",
    ):
        assert heading in markdown, heading
    assert {row.cause for row in report.skipped} == {
        "not_json",
        "nan_or_infinity",
        "wrong_type",
        "unknown_version",
        "truncated",
    }
    assert report.totals.sessions == 3 and report.totals.files == 5
    # The joined session's planted fault (atr_range at 0.025, where values reach 0.0192) is found first,
    # and its advice is based on the signals it alone blocked.
    assert report.top_blocker() == "filter:atr_range"
    rec = report.recommendation_for("filter:atr_range")
    assert rec is not None and (rec.what_if_basis, rec.unit) == ("blocked", "signals")
    # Its prices give the blocked candidates outcomes, but ten candles are too few to judge a threshold by.
    assert report.outcomes is not None and report.outcomes.basis == "outcomes"
    assert (rec.verdict, rec.basis, rec.recommended) == ("too_few_outcomes", "outcomes", None)


def test_journal_files_are_the_corpus() -> None:
    # The goldens are only meaningful with the corpus they were made from.
    names = sorted(p.name for p in (Path(ROOT) / "journals").iterdir())
    assert names == [
        "diag_G3_1755641000.jsonl",
        "diag_S42_1755640800.1.jsonl",
        "diag_S42_1755640800.jsonl",
        "diag_S43_1755641400.jsonl.gz",
        "diag_S46_1755642000.jsonl",
    ]
