"""The whole package through ``otel-breakout demo``: journal, report, API and exit agree with each other."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from otel_breakout.report import DiagnosticsReportBuilder
from tests.support.demo import running_demo

pytestmark = pytest.mark.slow


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_journal_report_and_api_agree(tmp_path: Path) -> None:
    with running_demo(tmp_path, ["--cycles", "40", "--speed", "0", "--symbols", "120", "--linger", "120"]) as demo:
        demo.wait_for("the API stays up")
        base = demo.api_url
        with httpx.Client(base_url=base, timeout=10) as client:
            summary = client.get("/api/metrics/summary").json()
            exposition = client.get("/api/metrics").text
            health = client.get("/api/metrics/health")
        demo.process.send_signal(signal.SIGINT)
        assert demo.process.wait(timeout=60) == 0, demo.output
        final = demo.final_signals()
    assert health.status_code == 200, health.text

    events = demo.events()
    evaluations = [e for e in events if "filter" in e["payload"] or "condition" in e["payload"]]  # type: ignore[operator]
    journal_signals = Counter(
        str(e["stage"])
        for e in events
        if e["component"] == "signal" and e["passed"] and "condition" not in e["payload"]  # type: ignore[operator]
    )
    failures = Counter(str(e["reason"]) for e in evaluations if e["passed"] is False)

    # The process's own summary line, the journal and the API count the same signals.
    assert journal_signals and dict(journal_signals) == final
    assert summary["engine"]["cycles"] == 40
    assert {k: int(v) for k, v in summary["trading"]["signals"].items()} == final

    metrics = _samples(exposition)
    assert sum(v for _, v in metrics["breakout_engine_cycles_total"]) == 40
    assert {labels["strategy"]: int(v) for labels, v in metrics["breakout_signals_total"]} == final
    assert sum(v for _, v in metrics["breakout_diag_evaluations_total"]) == len(evaluations)
    by_reason = {labels["reason"]: int(v) for labels, v in metrics["breakout_diag_reasons_total"] if v}
    assert by_reason == dict(failures)

    # The report the demo wrote, and one built again from the same journal, say the same.
    assert demo.report.exists()
    report = DiagnosticsReportBuilder([str(p) for p in demo.journal()]).build().to_dict()
    assert report["totals"]["events"] == len(events)
    reported = {row["reason"]: row["failures"] for row in report["reasons"]}
    assert reported == dict(failures)
    fired = {row["strategy"]: row["signals"] for row in report["strategies"] if row["signals"]}
    assert fired == final
    assert "Top failure reasons" in demo.report.read_text()


def test_banner_says_where_to_look(tmp_path: Path) -> None:
    with running_demo(tmp_path, ["--cycles", "2", "--speed", "0", "--symbols", "20"]) as demo:
        assert demo.process.wait(timeout=60) == 0, demo.output
    text = demo.output
    for needle in ("/api/metrics", "/api/metrics/health", "diagnostics journal", "report", "docker compose up"):
        assert needle in text
    assert "Traceback" not in text
