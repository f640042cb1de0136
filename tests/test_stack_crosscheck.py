"""Cross-checks between the stack files, the metric catalogue and the docs.

Metric and label names in rules and dashboards must exist in ``otel_breakout.catalogue`` (or be a
recording rule of ours, or one of the few external series listed below with the reason), every selector
of our metrics must select bots by identity (never by the copy: job or instance) and collapse the copies
of one process, and every alert must have its runbook in docs/runbooks.md.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from otel_breakout.catalogue import CATALOGUE, ENGINE_STATES, get_spec, prometheus_name
from tests.support.markdown import anchors
from tests.support.promql import Selector, grouping_labels, selectors, substitute
from tests.support.stack import (
    BOT_JOB,
    COLLECTOR_METRICS,
    COMPOSE,
    GRAFANA_TEST_VARIABLES,
    IDENTITY_LABELS,
    ROOT,
    Query,
    alert_rules,
    catalogue_series_names,
    dashboard_queries,
    dashboards,
    datasource_queries,
    load_yaml,
    panels,
    recording_rules,
    rule_queries,
    tempo_queries,
)

README = (ROOT / "README.md").read_text()
STACK_DOC = (ROOT / "docs" / "stack.md").read_text()
# Where the rules' runbook_url annotations point: the runbooks page on the main branch.
RUNBOOK_BASE = "https://github.com/otel-breakout/otel-breakout/blob/main/"

# Series that are not ours, each with the reason a rule or dashboard may read it.
EXTERNAL = {
    "up": "Prometheus' own scrape health (TargetDown)",
    "ALERTS": "Prometheus' own alert series (alert annotations on dashboards)",
    "target_info": "the bot's resource as its scrape served it (TargetDown names the bot it last saw)",
    "traces_spanmetrics_calls_total": "Tempo's span metrics (trace-to-metrics links)",
    "traces_spanmetrics_latency_bucket": "Tempo's span metrics (trace-to-metrics links)",
    **{name: "the Collector's own telemetry (Fleet Overview, Collector alerts)" for name in COLLECTOR_METRICS},
}
# Labels every series of ours has besides its attributes: target labels, the bot's identity (every copy),
# scope labels (the scrape only).
TARGET_LABELS = {"job", "instance"}
SCOPE_LABELS = {"otel_scope_name", "otel_scope_version", "otel_scope_schema_url"}
# Labels of the Collector's own series, and of target_info (the resource: any attribute).
COLLECTOR_LABELS = {"receiver", "exporter", "transport", "signal"}


def _sanitize(attribute: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", attribute)


LABELS_OF: dict[str, set[str]] = {}
for _spec in CATALOGUE:
    _attributes = {_sanitize(a) for a in (*_spec.attributes, *_spec.optional_attributes)}
    _labels = _attributes | TARGET_LABELS | SCOPE_LABELS | set(IDENTITY_LABELS)
    _base = prometheus_name(_spec)
    for _name in (f"{_base}_bucket", f"{_base}_sum", f"{_base}_count") if _spec.kind == "histogram" else (_base,):
        LABELS_OF[_name] = _labels | ({"le"} if _name.endswith("_bucket") else set())


def _recorded_labels(rule: dict[str, Any]) -> set[str]:
    """Labels a recording rule's series keeps: its outermost ``by`` clause (plus label_replace targets)."""
    match = re.match(r"\s*(?:histogram_quantile\([^,]+,\s*)?\w+\s+by\s*\(([^)]*)\)", rule["expr"])
    assert match, f"cannot tell which labels {rule['record']} keeps"
    by = match.group(1)
    kept = {label.strip() for label in by.split(",")} - {"le"}
    return kept | set(re.findall(r'label_replace\([^"]*"(\w+)"', rule["expr"]))


RECORDED: dict[str, set[str]] = {rule["record"]: _recorded_labels(rule) for rule in recording_rules()}
# The recording rules over our own metrics (the others read the Collector's).
OUR_RECORDED = {
    rule["record"] for rule in recording_rules() if any(s.metric in LABELS_OF for s in selectors(rule["expr"]))
}
ALL_LABELS = set().union(*LABELS_OF.values(), *RECORDED.values()) | {"alertname", "alertstate", "severity"}
ALL_LABELS |= COLLECTOR_LABELS
# The Grafana variables as sentinels, so that a check can see which selector uses which variable.
SENTINELS = {**GRAFANA_TEST_VARIABLES, "bot": "__BOT__", "env": "__ENV__"}


def _concrete(query: Query) -> str:
    return substitute(query.expr, GRAFANA_TEST_VARIABLES)


def _all_queries() -> list[Query]:
    return [*dashboard_queries(), *rule_queries(), *datasource_queries()]


def _all_selectors() -> list[tuple[Query, Selector]]:
    return [(query, selector) for query in _all_queries() for selector in selectors(_concrete(query))]


def test_the_scanner_reads_what_it_must() -> None:
    # The checks below lean on this scanner: make sure it sees what is there.
    found = selectors('sum by (a) (rate(x_total{job="j", b=~"c|d"}[5m])) / on(a) group_left y offset 1m > 0.5')
    assert found == [Selector("x_total", found[0].matchers), Selector("y", ())]
    assert [(m.label, m.op, m.value) for m in found[0].matchers] == [("job", "=", "j"), ("b", "=~", "c|d")]
    assert grouping_labels("sum without (q) (x) * on (r, s) group_right (t) z") == {"q", "r", "s", "t"}
    with pytest.raises(KeyError):
        substitute("rate(x[$__unknown])", GRAFANA_TEST_VARIABLES)
    assert len(_all_selectors()) > 80


def test_every_metric_name_is_in_the_catalogue_or_a_recording_rule_or_a_listed_external_series() -> None:
    ours = catalogue_series_names()
    for query, selector in _all_selectors():
        assert selector.metric is not None, f"{query.origin}: selector without a metric name"
        assert selector.metric in ours or selector.metric in RECORDED or selector.metric in EXTERNAL, (
            f"{query.origin}: {selector.metric} is not in the catalogue (otel_breakout/catalogue.py)"
        )


def test_the_dashboards_cover_the_catalogue() -> None:
    used = {selector.metric for query in dashboard_queries() for selector in selectors(_concrete(query))}
    for rule in recording_rules():  # a dashboard reading a recorded series reads its sources
        if rule["record"] in used:
            used |= {s.metric for s in selectors(rule["expr"])}
    shown = {catalogue_series_names().get(name or "") for name in used} - {None}
    assert shown == {spec.name for spec in CATALOGUE}, {spec.name for spec in CATALOGUE} - shown


def test_every_selector_of_our_metrics_selects_bots_by_identity_never_by_copy() -> None:
    ours = catalogue_series_names()
    checked = 0
    for query in [*dashboard_queries(), *rule_queries(), *datasource_queries()]:
        for selector in selectors(substitute(query.expr, SENTINELS)):
            if selector.metric not in ours and selector.metric not in OUR_RECORDED:
                continue
            labels = {matcher.label for matcher in selector.matchers}
            assert not labels & TARGET_LABELS, f"{query.origin}: {selector.metric} selects a copy by {labels}"
            if query.kind in ("panel", "annotation"):
                # The bot and environment selectors of the dashboard, on every selector.
                assert (selector.value_of("service_name") or "") == "" and any(
                    m.label == "service_name" and m.op == "=~" and m.value == "__BOT__" for m in selector.matchers
                ), f"{query.origin}: {selector.metric} without the bot selector"
                assert any(
                    m.label == "deployment_environment_name" and m.value == "__ENV__" for m in selector.matchers
                ), f"{query.origin}: {selector.metric} without the environment selector"
            elif query.kind == "rule" and selector.metric in ours:
                # Series without an identity are not a bot's.
                assert any(m.label == "service_name" and m.op == "!=" and m.value == "" for m in selector.matchers), (
                    f'{query.origin}: {selector.metric} without service_name!=""'
                )
            checked += 1
    assert checked > 100


_AGGREGATING = re.compile(r"\b(sum|count|avg|rate|increase)\s*(\(|by\b|without\b)")


def test_queries_that_add_up_series_of_ours_first_collapse_the_copies_of_each_process() -> None:
    # The two copies of one process (scraped and pushed) differ only in job and instance: anything that
    # sums, counts, averages or takes a rate of raw series first takes one value per service_instance_id.
    ours = catalogue_series_names()
    for query in [*dashboard_queries(), *rule_queries()]:
        expr = substitute(query.expr, SENTINELS)
        raw = [s.metric for s in selectors(expr) if s.metric in ours]
        if not raw or not _AGGREGATING.search(expr):
            continue
        gauges_only = all(get_spec(ours[name]).kind == "gauge" for name in raw)
        if gauges_only and "sum" not in expr and "count" not in expr and "avg" not in expr:
            continue  # rate-free max()/min() over gauges is copy-safe
        assert "service_instance_id" in grouping_labels(expr), f"{query.origin}: copies are not collapsed"


def test_matchers_use_labels_the_series_has() -> None:
    for query, selector in _all_selectors():
        known = LABELS_OF.get(selector.metric or "") or RECORDED.get(selector.metric or "")
        if known is None:
            continue
        for matcher in selector.matchers:
            assert matcher.label in known, f"{query.origin}: {selector.metric} has no label {matcher.label!r}"


def test_grouping_and_legends_use_known_labels() -> None:
    for query in _all_queries():
        unknown = grouping_labels(_concrete(query)) - ALL_LABELS
        assert not unknown, f"{query.origin}: groups by unknown labels {unknown}"
    for dashboard in dashboards().values():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")):
                    assert label in ALL_LABELS, f"{panel['title']}: legend uses unknown label {label}"


def test_label_values_are_the_ones_our_code_emits() -> None:
    values: dict[str, set[str]] = {}
    for _, selector in _all_selectors():
        for matcher in selector.matchers:
            if matcher.op == "=":
                values.setdefault(matcher.label, set()).add(matcher.value)
    assert values["state"] <= set(ENGINE_STATES)
    assert values["component"] <= {"scanner", "signal"}  # DiagnosticsCollector.record_filter / record_signal_condition
    assert values["outcome"] <= {"pass", "fail", "win", "loss", "breakeven"}


def test_engine_state_codes_follow_the_catalogue_order() -> None:
    rule = next(r for r in recording_rules() if r["record"] == "bot:breakout_engine_state:code")
    codes = {state: int(code) for state, code in re.findall(r'state="(\w+)"\} == 1\) \* (\d+)', rule["expr"])}
    assert codes == {state: index for index, state in enumerate(ENGINE_STATES)}
    timeline = next(p for d in dashboards().values() for p in panels(d) if p["type"] == "state-timeline")
    (mapping,) = timeline["fieldConfig"]["defaults"]["mappings"]
    assert {option["text"]: int(code) for code, option in mapping["options"].items()} == codes


def test_every_alert_has_a_runbook_section_in_the_docs() -> None:
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith(RUNBOOK_BASE), url
        page, anchor = url.removeprefix(RUNBOOK_BASE).split("#", 1)
        assert page == "docs/runbooks.md", url
        text = (ROOT / page).read_text()
        assert anchor in anchors(text), f"{page} has no runbook section for {rule['alert']} (#{anchor})"
        section = text.split(f"Runbook: {rule['alert']}\n", 1)[1].split("\n#", 1)[0]
        assert len(section.split()) > 40, f"the runbook for {rule['alert']} is too thin to act on"


def test_the_docs_explain_the_three_deployments_and_the_fleet_view() -> None:
    section = STACK_DOC.split("## Which copy of the metrics", 1)[1].split("\n## Dashboards", 1)[0]
    for deployment in ("**Scraped only**", "**Pushed over OTLP only**", "**Both at once**"):
        assert deployment in section
    for label in IDENTITY_LABELS:
        assert f"`{label}`" in section
    assert "otlp.promote_resource_attributes" in section and f'job="{BOT_JOB}"' in section
    assert "## Fleets" in section and "**Fleet Overview**" in section
    # The README's brief names them too, and links to the full story.
    brief = README.split("## The stack in brief", 1)[1].split("\n## ", 1)[0]
    for deployment in ("*scraped only*", "*pushed over OTLP only*", "*both at once*", "**The fleet view.**"):
        assert deployment in brief
    assert "(docs/stack.md)" in brief
    # Nobody edits a query to switch deployments any more.
    for text in (README, STACK_DOC):
        assert not re.search(r"replace `?job=", text, re.IGNORECASE)


def test_log_panels_follow_the_bot_selector() -> None:
    loki = [q for q in dashboard_queries("loki")]
    assert loki
    for query in loki:
        expr = query.expr
        bot_logs = expr.startswith('{service_name=~"$bot", deployment_environment_name=~"$env"}')
        # Alert notifications are Alertmanager's log records; the selected bots' names are in their body.
        notifications = expr.startswith('{service_name="alertmanager"}') and "${bot:regex}" in expr
        assert bot_logs or notifications, f"{query.origin}: {expr}"
    # The compose bot's logs are indexed under its service.name, which the bot variable lists.
    service_name = load_yaml(COMPOSE)["services"]["app"]["environment"]["OTEL_SERVICE_NAME"]
    assert service_name


def test_trace_panels_follow_the_bot_selector() -> None:
    traces = tempo_queries()
    assert traces
    for query in traces:
        assert 'resource.service.name=~"${bot:regex}"' in query.expr, query.origin
