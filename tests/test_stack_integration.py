"""The stack's Prometheus side, for real, in the three deployments a user can run (docs/stack.md, "Which copy
of the metrics"): Prometheus 2.42 with the repository's rule files, two real demo bots with different
service.name (one healthy, one starved), every dashboard query run against it bot by bot, and the
starvation alert travelling to a real Alertmanager configured by the repository's alertmanager.yml.

One Prometheus per deployment, side by side, all reading the same two bots at the same time:

- ``scrape``: both bots scraped from /api/metrics (job="breakout-bot-api"), no Collector;
- ``otlp``: both bots as Prometheus 3's OTLP receiver stores them (see :func:`otlp_copy_job`), no scrape;
- ``both``: both copies of each bot (the compose default);
- ``mixed``: a fleet whose bots arrive differently: the healthy one scraped, the starved one pushed.

Each Prometheus labels its alerts with ``run=<deployment>`` (external_labels), so one Alertmanager tells
them apart while grouping them by bot exactly as configured.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest
import yaml

from tests.support.demo_bot import ENVIRONMENT, Scenario, ScrapeTarget, demo_bot
from tests.support.prometheus import (
    Alertmanager,
    Prometheus,
    WebhookSink,
    running_alertmanager,
    running_prometheus,
    webhook_sink,
)
from tests.support.promql import Selector, selectors, substitute
from tests.support.stack import (
    ALERTMANAGER_CONFIG,
    BOT_JOB,
    GRAFANA_TEST_VARIABLES,
    IDENTITY_LABELS,
    PROMETHEUS_CONFIG,
    RULE_FILES,
    Query,
    catalogue_series_names,
    dashboard_queries,
    datasource_queries,
    for_bot,
    load_yaml,
    rule_queries,
)
from tests.support.waits import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Deployment = Literal["scrape", "otlp", "both", "mixed"]
Copy = Literal["scrape", "otlp"]
DEPLOYMENTS: tuple[Deployment, ...] = ("scrape", "otlp", "both", "mixed")
BOTS: dict[Scenario, str] = {"normal": "bot-normal", "starved": "bot-starved"}
# The job name of the scrape that stands in for Prometheus 3's OTLP receiver; no series of ours keeps it.
OTLP_EMULATION_JOB = "otlp-receiver-emulation"


def copies(deployment: Deployment, scenario: Scenario) -> tuple[Copy, ...]:
    """Which copies of a bot's metrics reach Prometheus in a deployment."""
    if deployment == "mixed":
        return ("scrape",) if scenario == "normal" else ("otlp",)
    return ("scrape", "otlp") if deployment == "both" else (deployment,)


def otlp_copy_job(bots: list[ScrapeTarget], metrics_path: str) -> dict[str, Any]:
    """A scrape job whose series come out as Prometheus 3.x's OTLP receiver stores the same metrics.

    What the receiver does (storage/remote/otlptranslator/prometheusremotewrite at v3.13.2, the version
    compose.yaml pins, configured by prometheus/prometheus.yml) and how this job reproduces it:

    - ``job`` is ``<service.namespace>/<service.name>``, or ``<service.name>`` without a namespace
      (``setResourceContext``): here ``job`` is set from the series' ``service_name`` label (the test bots
      set no namespace, and the exposition does not carry one);
    - ``instance`` is ``service.instance.id``: set from ``service_instance_id``;
    - the promoted resource attributes (``otlp.promote_resource_attributes``, equal to the attributes the
      bot's exposition puts on every series: test_stack_prometheus.py keeps the two lists equal) become
      labels, and a data point attribute of the same name wins (``createAttributes``), as in the exposition;
    - scope labels come only with ``promote_scope_metadata``, off by default and in prometheus.yml: the
      ``otel_scope_*`` labels are dropped;
    - ``target_info`` gets ``job``, ``instance`` and every non-identifying resource attribute, without
      service.name, service.namespace and service.instance.id (``addResourceTargetInfo`` with
      ``keep_identifying_resource_attributes`` off): those labels are removed from target_info only;
    - names follow ``UnderscoreEscapingWithSuffixes`` (units, ``_total``, ``_ratio``), which the exposition
      already produces (otel_breakout/_exposition.py, tests/test_catalogue.py);
    - no staleness markers and no ``up``: this job's own ``up`` keeps the job name above, which no
      dashboard or bot rule reads.
    """
    relabel: list[dict[str, Any]] = [
        {"source_labels": ["service_name"], "regex": "(.+)", "target_label": "job", "replacement": "$1"},
        {"source_labels": ["service_instance_id"], "regex": "(.+)", "target_label": "instance", "replacement": "$1"},
        {"action": "labeldrop", "regex": "otel_scope_.*"},
    ]
    for identifying in ("service_name", "service_instance_id"):
        relabel.append(
            {"source_labels": ["__name__"], "regex": "target_info", "target_label": identifying, "replacement": ""}
        )
    return {
        "job_name": OTLP_EMULATION_JOB,
        "metrics_path": metrics_path,
        "static_configs": [{"targets": [bot.address for bot in bots]}],
        "metric_relabel_configs": relabel,
    }


def prometheus_test_config(deployment: Deployment, bots: dict[Scenario, ScrapeTarget], alertmanager: str) -> str:
    """The stack's bot scrape job and rule files, on loopback, scraped and evaluated every second."""
    stack_job = next(job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"] if job["job_name"] == BOT_JOB)
    assert {bot.metrics_path for bot in bots.values()} == {stack_job["metrics_path"]}
    scraped = [bot for scenario, bot in bots.items() if "scrape" in copies(deployment, scenario)]
    pushed = [bot for scenario, bot in bots.items() if "otlp" in copies(deployment, scenario)]
    jobs = []
    if scraped:
        targets = [{"targets": [bot.address for bot in scraped]}]
        jobs.append({"job_name": BOT_JOB, "metrics_path": stack_job["metrics_path"], "static_configs": targets})
    if pushed:
        jobs.append(otlp_copy_job(pushed, stack_job["metrics_path"]))
    config = {
        "global": {
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "evaluation_interval": "1s",
            "external_labels": {"run": deployment},
        },
        "rule_files": [str(path) for path in RULE_FILES],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": jobs,
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


@dataclass
class Fleet:
    prometheus: dict[Deployment, Prometheus]
    alertmanager: Alertmanager
    webhook: WebhookSink
    bots: dict[Scenario, ScrapeTarget]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp_path = tmp_path_factory.mktemp("stack")
    with ExitStack() as context:
        webhook = context.enter_context(webhook_sink())
        alertmanager = context.enter_context(running_alertmanager(tmp_path, alertmanager_test_config(webhook.url)))
        bots = {scenario: context.enter_context(demo_bot(scenario, service_name=BOTS[scenario])) for scenario in BOTS}
        servers = {}
        for deployment in DEPLOYMENTS:
            (tmp_path / deployment).mkdir()
            config = prometheus_test_config(deployment, bots, alertmanager.address)
            servers[deployment] = context.enter_context(running_prometheus(tmp_path / deployment, config))
        fleet = Fleet(servers, alertmanager, webhook, bots)
        _wait_for_history(fleet)
        yield fleet


def _wait_for_history(fleet: Fleet) -> None:
    """Until every Prometheus holds a few seconds of every copy of every bot: rates need two samples."""

    def enough() -> bool | None:
        for deployment, prometheus in fleet.prometheus.items():
            for scenario, bot in BOTS.items():
                jobs = {BOT_JOB if copy == "scrape" else bot for copy in copies(deployment, scenario)}
                found = prometheus.query(
                    f'count by (job) (count_over_time(breakout_engine_cycles_total{{service_name="{bot}"}}[10s]) >= 5)'
                )
                if {series["metric"]["job"] for series in found} != jobs:
                    return None
        return True

    wait_for(enough, timeout=30, what="five scrapes of every copy of every bot")


def _concrete(query: Query, variables: dict[str, str] = GRAFANA_TEST_VARIABLES) -> str:
    return substitute(query.expr, variables)


def _may_be_empty(query: Query, scenario: Scenario) -> str | None:
    """Why a dashboard query may rightly return nothing for a bot (None: it must return data)."""
    if "otelcol_" in query.expr or "job_exporter_signal:" in query.expr:
        return "the Collector's own metrics: no Collector runs here (names checked in test_stack_collector.py)"
    if "ALERTS" in query.expr and scenario == "normal":
        return "alerts of a healthy bot: none fire"
    return None


def _values(result: list[dict[str, Any]]) -> dict[tuple[tuple[str, str], ...], float]:
    """{labels (sorted, without __name__): value} of an instant query's result."""
    found = {}
    for series in result:
        labels = tuple(sorted((k, v) for k, v in series["metric"].items() if k != "__name__"))
        found[labels] = float(series["value"][1])
    return found


def _instant(prometheus: Prometheus, expr: str, at: float) -> list[dict[str, Any]]:
    data = prometheus.api("/api/v1/query", query=expr, time=at)
    return list(data["result"]) if data["resultType"] == "vector" else [{"metric": {}, "value": data["result"]}]


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_the_rule_files_load_and_every_rule_evaluates_cleanly(fleet: Fleet, deployment: Deployment) -> None:
    expected = {group["name"] for path in RULE_FILES for group in load_yaml(path)["groups"]}
    prometheus = fleet.prometheus[deployment]

    def evaluated() -> list[dict[str, Any]] | None:
        groups = prometheus.api("/api/v1/rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        done = groups and all(rule["lastEvaluation"] > "2000" for rule in rules)
        return groups if done else None

    groups = wait_for(evaluated, timeout=20, what="every rule to be evaluated")
    assert {group["name"] for group in groups} == expected
    broken = [(rule["name"], rule.get("lastError")) for g in groups for rule in g["rules"] if rule["health"] != "ok"]
    assert not broken


def test_every_promql_expression_of_the_dashboards_rules_and_data_sources_parses(fleet: Fleet) -> None:
    queries = [*dashboard_queries(), *rule_queries(), *datasource_queries()]
    assert len(queries) > 80
    rejected = []
    for query in queries:
        try:
            fleet.prometheus["both"].query(_concrete(query))
        except AssertionError as error:
            rejected.append(f"{query.origin}: {error}")
    assert not rejected, "\n".join(rejected)


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_the_bot_and_environment_variables_list_every_bot(fleet: Fleet, deployment: Deployment) -> None:
    prometheus = fleet.prometheus[deployment]
    found = [q for q in dashboard_queries() if q.kind == "variable"]
    variables = {q.origin.split("variable ", 1)[1].split(" ", 1)[0]: q for q in found}
    assert set(variables) == {"bot", "env"}
    # label_values() lists each value once, however many copies carry it.
    bots = {s["metric"].get("service_name") for s in prometheus.query(_concrete(variables["bot"]))}
    envs = {s["metric"].get("deployment_environment_name") for s in prometheus.query(_concrete(variables["env"]))}
    assert bots == set(BOTS.values())
    assert envs == {ENVIRONMENT}


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_dashboard_query_returns_data_for_each_bot_and_only_that_bot(
    fleet: Fleet, deployment: Deployment
) -> None:
    for scenario, bot in BOTS.items():
        _returns_data_for(fleet.prometheus[deployment], deployment, scenario, bot)
        _selects_only(fleet.prometheus[deployment], deployment, bot)


def _returns_data_for(prometheus: Prometheus, deployment: Deployment, scenario: Scenario, bot: str) -> None:
    variables = for_bot(bot)
    waiting = [q for q in dashboard_queries() if q.kind != "variable" and _may_be_empty(q, scenario) is None]

    def returns_data(query: Query) -> bool:
        expr = _concrete(query, variables)
        if query.instant:
            return bool(prometheus.query(expr))
        return bool(prometheus.query_range(expr, seconds=30))

    def all_answered() -> bool | None:
        waiting[:] = [query for query in waiting if not returns_data(query)]
        return True if not waiting else None

    try:
        wait_for(all_answered, timeout=60, interval=1, what=f"every dashboard query to return data for {bot}")
    except AssertionError:
        missing = "\n".join(f"{q.origin}: {_concrete(q, variables)}" for q in waiting)
        raise AssertionError(f"{deployment}: no data for {bot}:\n{missing}") from None


def _selects_only(prometheus: Prometheus, deployment: Deployment, bot: str) -> None:
    """Every selector of every query, under this bot's selector, matches this bot's series alone, and
    whatever a query keeps of service_name names this bot."""
    variables = for_bot(bot)
    ours = catalogue_series_names()
    checked: set[str] = set()
    for query in dashboard_queries():
        if query.kind == "variable":  # the variables list the bots to choose from
            continue
        expr = _concrete(query, variables)
        for selector in selectors(expr):
            if selector.metric is None or selector.value_of("job"):
                continue
            text = _selector_text(selector)
            if (selector.metric not in ours and "service_name" not in text) or text in checked:
                continue
            checked.add(text)
            seen = {s["metric"].get("service_name") for s in prometheus.query(f"count by (service_name) ({text})")}
            assert seen <= {bot}, f"{deployment}: {query.origin}: {text} selects {seen} for {bot}"
        for series in prometheus.query(expr):
            assert series["metric"].get("service_name", bot) == bot, f"{deployment}: {query.origin}: {series}"
    assert len(checked) > 30


def _selector_text(selector: Selector) -> str:
    """A selector back as PromQL."""
    escaped = (m.value.replace("\\", "\\\\").replace('"', '\\"') for m in selector.matchers)
    matchers = ", ".join(f'{m.label}{m.op}"{value}"' for m, value in zip(selector.matchers, escaped, strict=True))
    return f"{selector.metric}{{{matchers}}}"


# A selector of one of our raw metrics (not a recorded series, whose name has a colon) under a bot selector.
_RAW_SELECTOR = re.compile(r'(?<![\w:])([a-zA-Z_][a-zA-Z0-9_]*)\{(service_name=~"[^"]*")')


def restricted_to(expr: str, job: str) -> str:
    """``expr`` with every raw selector of our metrics limited to one copy (one job)."""
    return _RAW_SELECTOR.sub(lambda m: f'{m.group(1)}{{{m.group(2)}, job="{job}"', expr)


def test_restricting_a_query_to_one_copy() -> None:
    expr = 'sum(rate(x_total{service_name=~"b", env=~".*"}[1m])) / bot:y:rate5m{service_name=~"b"}'
    assert restricted_to(expr, "j") == (
        'sum(rate(x_total{service_name=~"b", job="j", env=~".*"}[1m])) / bot:y:rate5m{service_name=~"b"}'
    )


def test_no_dashboard_query_counts_a_bot_twice_when_both_copies_arrive(fleet: Fleet) -> None:
    """In the deployment with both copies, every query gives what it gives over one copy alone.

    The two copies are sampled up to a scrape interval apart, so a fast-moving gauge may differ between
    them: each value over both copies must lie within what the copies give alone (25 % either way).
    Counting a bot twice adds the copies up: twice either of them. A comparison that fails is tried again
    a moment later (a gauge may move between the copies); a double count fails every time.
    """
    prometheus = fleet.prometheus["both"]
    ours = catalogue_series_names()
    queries = [q for q in dashboard_queries() if q.kind != "variable"]
    pending = [(bot, q) for bot in BOTS.values() for q in queries if any(s.metric in ours for s in _selectors(q))]
    assert len(pending) > 100
    failures: dict[tuple[str, str], str] = {}

    def compare() -> bool | None:
        for bot, query in list(pending):
            failure = _compare_copies(prometheus, query, bot)
            if failure is None:
                pending.remove((bot, query))
                failures.pop((bot, query.origin), None)
            else:
                failures[(bot, query.origin)] = failure
        return True if not pending else None

    try:
        wait_for(compare, timeout=40, interval=1, what="every query to agree with each copy alone")
    except AssertionError:
        raise AssertionError("\n".join(failures.values())) from None


def _selectors(query: Query) -> list[Selector]:
    return selectors(_concrete(query))


def _compare_copies(prometheus: Prometheus, query: Query, bot: str) -> str | None:
    """Why ``query`` for ``bot`` over both copies is not what either copy gives alone (None: it is)."""
    expr = _concrete(query, for_bot(bot))
    at = time.time() - 2  # a moment every copy has been scraped at
    full = _values(_instant(prometheus, expr, at))
    # The scrape, and the OTLP copy (job = service.name).
    alone = [_values(_instant(prometheus, restricted_to(expr, job), at)) for job in (BOT_JOB, bot)]
    if not full:
        # Nothing anywhere is agreement only where nothing is a legitimate answer (no trade in the last
        # minute for a trade marker, say); otherwise the data is not there yet.
        return f"{query.origin} for {bot}: no data" if any(alone) or "> 0" not in expr else None
    for labels, value in full.items():
        seen = [one[labels] for one in alone if labels in one]
        if not seen:
            return f"{query.origin} for {bot}: {labels} comes from no copy alone"
        low, high = min(seen), max(seen)
        if not low - 0.25 * abs(low) - 1e-9 <= value <= high + 0.25 * abs(high) + 1e-9:
            return f"{query.origin} for {bot}: {value} over both copies, {seen} over each alone"
    return None


def _own_counter(bot: ScrapeTarget, family: str) -> float:
    """The bot's own figure: the sum of a counter's samples in its /api/metrics."""
    text = httpx.get(f"http://{bot.address}{bot.metrics_path}", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if re.match(rf"{family}(\{{| )", line))


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_a_bots_counters_equal_its_own_figures_in_every_deployment(fleet: Fleet, deployment: Deployment) -> None:
    prometheus = fleet.prometheus[deployment]
    families = ("breakout_engine_cycles_total", "breakout_signals_total", "breakout_diag_evaluations_total")
    for scenario, bot in fleet.bots.items():
        before = {family: _own_counter(bot, family) for family in families}
        time.sleep(1)
        for family in families:
            # The dashboards' way of reading a counter: one value per process, summed over processes.
            expr = (
                f"sum(max by (deployment_environment_name, service_name, service_instance_id, strategy, component,"
                f' stage, check, outcome) ({family}{{service_name="{bot.service_name}"}}))'
            )
            now = _own_counter(bot, family)
            ((_, value),) = _values(prometheus.query(expr)).items()
            after = _own_counter(bot, family)
            # Prometheus' last sample is at most a scrape interval (1 s) old: within two seconds' worth of
            # the bot's own count (its rate over the second just measured), never above its count after.
            margin = 2 * (now - before[family]) + 1
            assert now - margin <= value <= after, f"{deployment} {scenario} {family}: {value}, own {now}..{after}"


def test_the_recorded_cycle_rate_is_the_same_in_every_deployment(fleet: Fleet) -> None:
    rates = {}
    for deployment, prometheus in fleet.prometheus.items():
        found = _values(prometheus.query(f'bot:breakout_engine_cycles:rate5m{{service_name="{BOTS["normal"]}"}}'))
        ((_, rates[deployment]),) = found.items()
    # Four Prometheus servers reading one bot a fraction of a second apart; a double count is twice as much.
    assert max(rates.values()) <= 1.3 * min(rates.values()), rates


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_the_scrape_carries_the_catalogue_names_and_the_identity(fleet: Fleet, deployment: Deployment) -> None:
    # Counters whose label values cannot be known in advance appear with their first event; a healthy demo
    # never has one. Every other catalogue series exists from the first scrape (zeros included).
    expected = set(catalogue_series_names()) - {"breakout_metrics_dropped_total"}
    prometheus = fleet.prometheus[deployment]
    assert IDENTITY_LABELS == ("deployment_environment_name", "service_instance_id", "service_name")
    for bot in BOTS.values():
        match = f'{{service_name="{bot}", service_instance_id!="", deployment_environment_name="{ENVIRONMENT}"}}'

        def names(match: str = match) -> set[str] | None:
            found = set(prometheus.api("/api/v1/label/__name__/values", **{"match[]": match}))
            return found if expected <= found else None

        try:
            wait_for(names, timeout=20, what=f"every catalogue series of {bot} in Prometheus")
        except AssertionError:
            found = set(prometheus.api("/api/v1/label/__name__/values", **{"match[]": match}))
            raise AssertionError(f"{deployment}: missing for {bot}: {sorted(expected - found)}") from None


def test_signal_starvation_fires_for_the_starved_bot_only_naming_it_through_alertmanager(fleet: Fleet) -> None:
    starved = BOTS["starved"]

    def received() -> dict[Deployment, list[dict[str, Any]]] | None:
        alerts = {d: fleet.alertmanager.alerts(alertname="SignalStarvation", run=d) for d in DEPLOYMENTS}
        return alerts if all(alerts.values()) else None

    try:
        by_run = wait_for(received, timeout=40, what="SignalStarvation from every deployment in Alertmanager")
    except AssertionError:
        seen = {d: fleet.alertmanager.alerts(alertname="SignalStarvation", run=d) for d in DEPLOYMENTS}
        raise AssertionError(f"alerts per deployment: {seen}") from None
    for deployment, alerts in by_run.items():
        # Once per deployment, even with both copies of the bot in Prometheus.
        (alert,) = alerts
        labels = alert["labels"]
        assert labels["service_name"] == starved, deployment
        assert labels["deployment_environment_name"] == ENVIRONMENT
        assert labels["severity"] == "warning"
        assert "job" not in labels and "instance" not in labels  # the copy it came from does not matter
        summary = alert["annotations"]["summary"]
        assert re.fullmatch(rf"No signal for \d+ engine cycles on bot {starved} \({ENVIRONMENT}\)", summary), summary
        assert alert["annotations"]["runbook_url"].endswith("#runbook-signalstarvation")

    # Routed by severity to the `warning` receiver, grouped by bot.
    def notified() -> set[str] | None:
        runs = set()
        for body in fleet.webhook.notifications():
            if body["groupLabels"].get("alertname") == "SignalStarvation" and body["status"] == "firing":
                assert body["receiver"] == "warning"
                assert body["groupLabels"]["service_name"] == starved
                assert {a["labels"]["service_name"] for a in body["alerts"]} == {starved}
                runs |= {a["labels"]["run"] for a in body["alerts"]}
        return runs if runs == set(DEPLOYMENTS) else None

    try:
        wait_for(notified, timeout=30, what="Alertmanager's webhook notification for every deployment")
    except AssertionError as error:
        raise AssertionError(f"{error}\nAlertmanager's log:\n{fleet.alertmanager.log.read_text()[-4000:]}") from None

    # The bot that keeps signalling never starved, at any point of the run, in any deployment.
    for deployment, prometheus in fleet.prometheus.items():
        ever = prometheus.query('count by (service_name) (count_over_time(ALERTS{alertname="SignalStarvation"}[15m]))')
        assert {series["metric"]["service_name"] for series in ever} == {starved}, deployment
