"""The stack files as data: compose, Prometheus rules, dashboards, provisioning, and every query in them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from otel_breakout.catalogue import CATALOGUE, IDENTITY_ATTRIBUTES, prometheus_name

__all__ = [
    "ALERTMANAGER_CONFIG",
    "BOT_JOB",
    "BOT_LABELS",
    "COLLECTOR_CONFIG",
    "COLLECTOR_METRICS",
    "COMPOSE",
    "DASHBOARD_DIR",
    "DATASOURCES",
    "GRAFANA_TEST_VARIABLES",
    "IDENTITY_LABELS",
    "PROMETHEUS_CONFIG",
    "ROOT",
    "RULE_FILES",
    "RULE_TESTS",
    "Query",
    "alert_rules",
    "catalogue_series_names",
    "dashboard_queries",
    "dashboards",
    "datasource_queries",
    "for_bot",
    "github_anchor",
    "load_yaml",
    "panels",
    "recording_rules",
    "rule_queries",
    "tempo_queries",
    "unescape_provisioning",
    "volume_mounts",
]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
PROMETHEUS_CONFIG = ROOT / "prometheus" / "prometheus.yml"
RULE_FILES = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((ROOT / "prometheus" / "tests").glob("*.test.yml"))
ALERTMANAGER_CONFIG = ROOT / "alertmanager" / "alertmanager.yml"
COLLECTOR_CONFIG = ROOT / "collector-config" / "config.yaml"
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yml"
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"

# The scrape job of the bot's API (prometheus/prometheus.yml). Dashboards and rules select bots by identity, not by job.
BOT_JOB = "breakout-bot-api"

# The labels every copy of a bot's series carries (the exposition writes them, Prometheus' OTLP receiver
# promotes them): the identity of the process, and of the bot (its service.name in its environment).
IDENTITY_LABELS = tuple(sorted(attribute.replace(".", "_") for attribute in IDENTITY_ATTRIBUTES))
BOT_LABELS = ("deployment_environment_name", "service_name")

# What the Grafana variables in dashboard queries become when a test runs them against a Prometheus that
# scrapes every second: every bot (Grafana's All is the list of bots; any bot name will do here), every
# environment, short windows that still hold several samples.
GRAFANA_TEST_VARIABLES = {
    "bot": ".+",
    "env": ".*",
    "search": "",
    "__interval": "10s",
    "__rate_interval": "10s",
    "__range": "5m",
    "__tags": 'service_name="breakout-bot"',
}


# The Collector's own metrics the rules and the Fleet Overview read, as the pinned release (0.159.0) serves
# them with collector-config/config.yaml's without_type_suffix and without_units: the `otelcol_` prefix
# and the metadata.yaml names of receiver/receiverhelper and exporter/exporterhelper in
# open-telemetry/opentelemetry-collector at v0.159.0, each with the label that tells components apart.
COLLECTOR_METRICS: dict[str, str] = {
    **{
        f"otelcol_receiver_{outcome}_{unit}": "receiver"
        for outcome in ("accepted", "refused", "failed")
        for unit in ("spans", "metric_points", "log_records")
    },
    **{
        f"otelcol_exporter_{outcome}_{unit}": "exporter"
        for outcome in ("sent", "send_failed", "enqueue_failed")
        for unit in ("spans", "metric_points", "log_records")
    },
    "otelcol_exporter_queue_size": "exporter",
    "otelcol_exporter_queue_capacity": "exporter",
}


def for_bot(bot: str) -> dict[str, str]:
    """The test variables with the bot selector set to one bot, as a user picks it in Grafana."""
    if not re.fullmatch(r"[a-z0-9-]+", bot):
        raise ValueError(f"{bot!r}: test bots need names that are their own regular expression")
    return {**GRAFANA_TEST_VARIABLES, "bot": bot}


def volume_mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """A compose service's volumes as {source: target}, options such as ``:ro`` dropped."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        mounts[source] = target
    return mounts


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def unescape_provisioning(text: str) -> str:
    """What Grafana sees after expanding a provisioning file: ``$$`` is a literal ``$``."""
    return text.replace("$$", "$")


_LABEL_VALUES = re.compile(r"label_values\((.+),\s*(\w+)\)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL expression and where it lives."""

    origin: str  # "<file>: <panel or rule>" for messages
    expr: str
    kind: Literal["panel", "annotation", "variable", "rule", "datasource"]
    instant: bool = False


@cache
def dashboards() -> Mapping[str, dict[str, Any]]:
    """Every dashboard JSON by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARD_DIR.glob("*.json"))}


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # collapsed rows keep their panels inside


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    return _panels(dashboard.get("panels", []))


def _datasource_uid(node: Mapping[str, Any], default: str | None) -> str | None:
    datasource = node.get("datasource")
    if isinstance(datasource, Mapping):
        uid = datasource.get("uid")
        return str(uid) if uid is not None else default
    return default


def dashboard_queries(datasource: str = "prometheus") -> list[Query]:
    """Every query of the given data source uid in the dashboards: panel targets, annotations, variables."""
    found: list[Query] = []
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            panel_uid = _datasource_uid(panel, None)
            for target in panel.get("targets", []):
                if _datasource_uid(target, panel_uid) == datasource and "expr" in target:
                    origin = f"{name}: {panel['title']}"
                    found.append(Query(origin, target["expr"], "panel", bool(target.get("instant"))))
        for annotation in dashboard.get("annotations", {}).get("list", []):
            if _datasource_uid(annotation, None) == datasource and "expr" in annotation:
                found.append(Query(f"{name}: annotation {annotation['name']}", annotation["expr"], "annotation"))
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") == "query" and _datasource_uid(variable, None) == datasource:
                query = variable["query"]
                text = query["query"] if isinstance(query, Mapping) else query
                # label_values(<selector>, <label>) is Grafana's; the selector inside is PromQL.
                match = _LABEL_VALUES.fullmatch(text.strip())
                if match is None:
                    raise ValueError(f"{name}: variable {variable['name']}: cannot read {text!r}")
                origin = f"{name}: variable {variable['name']} ({match.group(2)})"
                found.append(Query(origin, match.group(1), "variable", True))
    return found


def tempo_queries() -> list[Query]:
    """The TraceQL of every Tempo panel target in the dashboards."""
    found: list[Query] = []
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            panel_uid = _datasource_uid(panel, None)
            for target in panel.get("targets", []):
                if _datasource_uid(target, panel_uid) == "tempo":
                    found.append(Query(f"{name}: {panel['title']}", target["query"], "panel"))
    return found


@cache
def _rule_groups() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, group) for path in RULE_FILES for group in load_yaml(path)["groups"]]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for _, group in _rule_groups() for rule in group["rules"] if "alert" in rule]


def recording_rules() -> list[dict[str, Any]]:
    return [rule for _, group in _rule_groups() for rule in group["rules"] if "record" in rule]


def rule_queries() -> list[Query]:
    found = []
    for file, group in _rule_groups():
        for rule in group["rules"]:
            found.append(Query(f"{file}: {rule.get('alert') or rule.get('record')}", rule["expr"], "rule", True))
    return found


def datasource_queries() -> list[Query]:
    """The PromQL in the Grafana data sources (Tempo's trace-to-metrics links), as Grafana expands it."""
    provisioning = yaml.safe_load(unescape_provisioning(DATASOURCES.read_text()))
    found = []
    for source in provisioning["datasources"]:
        for query in source.get("jsonData", {}).get("tracesToMetrics", {}).get("queries", []):
            found.append(Query(f"datasource {source['uid']}: {query['name']}", query["query"], "datasource", True))
    return found


def catalogue_series_names() -> dict[str, str]:
    """Every series name our metrics produce in Prometheus, mapped to the catalogue's OTel name."""
    names: dict[str, str] = {}
    for spec in CATALOGUE:
        base = prometheus_name(spec)
        if spec.kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                names[base + suffix] = spec.name
        else:
            names[base] = spec.name
    return names


_ANCHOR_CHARS = re.compile(r"[^a-z0-9 _-]")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return _ANCHOR_CHARS.sub("", heading.strip().lower()).replace(" ", "-")
