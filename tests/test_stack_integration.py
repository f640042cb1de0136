"""The stack's Prometheus side, for real: Prometheus 2.42 scraping bots on loopback with the repository's
rule files, every dashboard and rule expression run against it, and the starvation alert travelling to a
real Alertmanager configured by the repository's alertmanager.yml.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.support.demo_bot import demo_bot
from tests.support.prometheus import (
    Alertmanager,
    Prometheus,
    WebhookSink,
    running_alertmanager,
    running_prometheus,
    wait_for,
    webhook_sink,
)
from tests.support.promql import substitute
from tests.support.simulated_bot import BotFactory, Scenario, ScrapeTarget
from tests.support.stack import (
    ALERTMANAGER_CONFIG,
    BOT_JOB,
    GRAFANA_TEST_VARIABLES,
    PROMETHEUS_CONFIG,
    RULE_FILES,
    Query,
    catalogue_series_names,
    dashboard_queries,
    datasource_queries,
    load_yaml,
    rule_queries,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The bots Prometheus scrapes: a scenario name in, a running scrape target out: the real demo, run
# as `otel-breakout demo --scenario <scenario>` on a free loopback port (`tests/support/demo_bot.py`);
# `simulated_bot` is the stand-in that drives every catalogue instrument synthetically.
start_bot: BotFactory = demo_bot

SCENARIOS: tuple[Scenario, ...] = ("normal", "starved")


@dataclass
class Stack:
    prometheus: Prometheus
    alertmanager: Alertmanager
    webhook: WebhookSink
    bots: dict[Scenario, ScrapeTarget]


def prometheus_test_config(bots: Iterable[ScrapeTarget], alertmanager: str) -> str:
    """The stack's bot scrape job and rule files, on loopback, scraped and evaluated every second."""
    stack_job = next(job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"] if job["job_name"] == BOT_JOB)
    targets = list(bots)
    assert {bot.metrics_path for bot in targets} == {stack_job["metrics_path"]}
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in RULE_FILES],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {
                "job_name": BOT_JOB,
                "metrics_path": stack_job["metrics_path"],
                "static_configs": [{"targets": [bot.address for bot in targets]}],
            }
        ],
    }
    return yaml.safe_dump(config)


def alertmanager_test_config(webhook_url: str) -> str:
    """The repository's config with two changes: webhooks post to the test's sink, and groups wait 1 s
    and flush every 2 s.

    The starved demo flaps (its gauge resets on the odd signal between droughts), so a group's first flush
    can find its alert already resolved and send nothing; the next flush must then come within the test's
    patience, not after the production group_interval.
    """
    config: dict[str, Any] = load_yaml(ALERTMANAGER_CONFIG)
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = webhook_url
    for route in (config["route"], *config["route"]["routes"]):
        if "group_wait" in route:
            route["group_wait"] = "1s"
        if "group_interval" in route:
            route["group_interval"] = "2s"
    return yaml.safe_dump(config)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp_path = tmp_path_factory.mktemp("stack")
    with ExitStack() as context:
        webhook = context.enter_context(webhook_sink())
        alertmanager = context.enter_context(running_alertmanager(tmp_path, alertmanager_test_config(webhook.url)))
        bots = {scenario: context.enter_context(start_bot(scenario)) for scenario in SCENARIOS}
        config = prometheus_test_config(bots.values(), alertmanager.address)
        prometheus = context.enter_context(running_prometheus(tmp_path, config))
        yield Stack(prometheus, alertmanager, webhook, bots)


def _concrete(query: Query) -> str:
    return substitute(query.expr, GRAFANA_TEST_VARIABLES)


def test_the_rule_files_load_and_every_rule_evaluates_cleanly(stack: Stack) -> None:
    expected = {group["name"] for path in RULE_FILES for group in load_yaml(path)["groups"]}

    def evaluated() -> list[dict[str, Any]] | None:
        groups = stack.prometheus.api("/api/v1/rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        done = groups and all(rule["lastEvaluation"] > "2000" for rule in rules)
        return groups if done else None

    groups = wait_for(evaluated, timeout=20, what="every rule to be evaluated")
    assert {group["name"] for group in groups} == expected
    broken = [(rule["name"], rule.get("lastError")) for g in groups for rule in g["rules"] if rule["health"] != "ok"]
    assert not broken


def test_every_promql_expression_of_the_dashboards_rules_and_data_sources_parses(stack: Stack) -> None:
    queries = [*dashboard_queries(), *rule_queries(), *datasource_queries()]
    assert len(queries) > 60
    rejected = []
    for query in queries:
        try:
            stack.prometheus.query(_concrete(query))
        except AssertionError as error:
            rejected.append(f"{query.origin}: {error}")
    assert not rejected, "\n".join(rejected)


def test_every_dashboard_query_returns_data(stack: Stack) -> None:
    waiting = dashboard_queries()

    def returns_data(query: Query) -> bool:
        expr = _concrete(query)
        if query.instant:
            return bool(stack.prometheus.query(expr))
        return bool(stack.prometheus.query_range(expr, seconds=30))

    def all_answered() -> bool | None:
        waiting[:] = [query for query in waiting if not returns_data(query)]
        return True if not waiting else None

    try:
        wait_for(all_answered, timeout=45, interval=1, what="every dashboard query to return data")
    except AssertionError:
        raise AssertionError("no data for:\n" + "\n".join(f"{q.origin}: {_concrete(q)}" for q in waiting)) from None


def test_the_bot_variable_lists_every_bot(stack: Stack) -> None:
    (variable, *_) = [q for q in dashboard_queries() if q.kind == "variable"]
    found = {series["metric"]["instance"] for series in stack.prometheus.query(_concrete(variable))}
    assert found == {bot.address for bot in stack.bots.values()}


# Counters whose label values cannot be known in advance appear with their first event; a healthy demo
# never has one. Every other catalogue series exists from the first scrape (zeros included).
APPEAR_ON_FIRST_EVENT = {"breakout_metrics_dropped_total": "a measurement MetricsLogger refused"}


def test_the_scrape_carries_the_catalogue_names(stack: Stack) -> None:
    expected = set(catalogue_series_names()) - set(APPEAR_ON_FIRST_EVENT)

    def names() -> set[str] | None:
        found = set(stack.prometheus.api("/api/v1/label/__name__/values", **{"match[]": f'{{job="{BOT_JOB}"}}'}))
        return found if expected <= found else None

    try:
        wait_for(names, timeout=20, what="every catalogue series in Prometheus")
    except AssertionError:
        found = set(stack.prometheus.api("/api/v1/label/__name__/values", **{"match[]": f'{{job="{BOT_JOB}"}}'}))
        raise AssertionError(f"missing from the scrape: {sorted(expected - found)}") from None


def test_signal_starvation_fires_for_the_starved_bot_only_and_reaches_alertmanager(stack: Stack) -> None:
    starved = stack.bots["starved"].address

    def received() -> list[dict[str, Any]] | None:
        alerts = stack.alertmanager.alerts(alertname="SignalStarvation")
        return alerts or None

    (alert,) = wait_for(received, timeout=30, what="SignalStarvation to reach Alertmanager")
    assert alert["labels"]["instance"] == starved
    assert alert["labels"]["job"] == BOT_JOB
    assert alert["labels"]["severity"] == "warning"
    assert alert["status"]["state"] == "active"
    assert alert["annotations"]["summary"].startswith("No signal for ")
    assert alert["annotations"]["runbook_url"].endswith("#runbook-signalstarvation")

    # Routed by severity to the `warning` receiver, whose webhook is the documented extension point.
    def notified() -> dict[str, Any] | None:
        for body in stack.webhook.notifications():
            if body["groupLabels"].get("alertname") == "SignalStarvation" and body["status"] == "firing":
                return body
        return None

    try:
        notification = wait_for(notified, timeout=30, what="Alertmanager's webhook notification")
    except AssertionError as error:
        raise AssertionError(f"{error}\nAlertmanager's log:\n{stack.alertmanager.log.read_text()[-4000:]}") from None
    assert notification["receiver"] == "warning"
    assert notification["status"] == "firing"
    assert [a["labels"]["instance"] for a in notification["alerts"]] == [starved]

    # The bot that keeps signalling never starved, at any point of the run.
    ever = stack.prometheus.query('count by (instance) (count_over_time(ALERTS{alertname="SignalStarvation"}[15m]))')
    assert {series["metric"]["instance"] for series in ever} == {starved}
