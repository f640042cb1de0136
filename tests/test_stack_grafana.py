"""grafana/: data sources and their correlations, the dashboard provider, and the dashboards' structure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.support.stack import (
    COMPOSE,
    DASHBOARD_DIR,
    DATASOURCES,
    ROOT,
    dashboard_queries,
    dashboards,
    load_yaml,
    panels,
    unescape_provisioning,
    volume_mounts,
)

RAW = DATASOURCES.read_text()
SOURCES: dict[str, dict[str, Any]] = {s["uid"]: s for s in yaml.safe_load(unescape_provisioning(RAW))["datasources"]}
SERVICES: dict[str, dict[str, Any]] = load_yaml(COMPOSE)["services"]
GRAFANA_BUILTIN = "-- Grafana --"

REQUIRED_DASHBOARDS = {
    "Engine State Transitions",
    "Signal Frequency",
    "Performance Decay",
    "Scanner Efficiency",
    "Trading Performance",
    "Diagnostics",
    "Fleet Overview",
}


def test_the_three_correlated_data_sources_have_fixed_uids_and_compose_urls() -> None:
    assert {"prometheus", "loki", "tempo"} <= set(SOURCES)
    expected = {"prometheus": ("prometheus", 9090), "loki": ("loki", 3100), "tempo": ("tempo", 3200),
                "alertmanager": ("alertmanager", 9093)}  # fmt: skip
    for uid, source in SOURCES.items():
        host, port = expected[uid]
        assert source["url"] == f"http://{host}:{port}", uid
        assert host in SERVICES
        assert source["type"] == uid
        assert source["editable"] is False


def test_provisioning_escapes_every_grafana_variable() -> None:
    # Grafana expands $NAME and ${NAME} from its environment in provisioned values; a lone $ would turn
    # ${__value.raw} into an empty string. (Comments are not values.)
    assert "$$" in RAW
    values = [line.split(" #", 1)[0] for line in RAW.splitlines() if not line.lstrip().startswith("#")]
    lone = [line for line in values if "$" in line.replace("$$", "")]
    assert not lone, lone


def test_metric_to_trace_exemplars_link_to_tempo() -> None:
    (destination,) = SOURCES["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert destination["name"] == "trace_id"
    assert destination["datasourceUid"] == "tempo"


def test_log_to_trace_reads_the_trace_id_structured_metadata() -> None:
    (field,) = SOURCES["loki"]["jsonData"]["derivedFields"]
    assert field["matcherType"] == "label"
    assert field["matcherRegex"] == "trace_id"
    assert field["datasourceUid"] == "tempo"
    assert field["url"] == "${__value.raw}"


def test_trace_to_logs_queries_loki_on_the_trace_id() -> None:
    to_logs = SOURCES["tempo"]["jsonData"]["tracesToLogsV2"]
    assert to_logs["datasourceUid"] == "loki"
    assert to_logs["customQuery"] is True
    assert to_logs["query"] == '{${__tags}} | trace_id="${__trace.traceId}"'
    assert {"key": "service.name", "value": "service_name"} in to_logs["tags"]


def test_trace_to_metrics_service_map_and_node_graph() -> None:
    data = SOURCES["tempo"]["jsonData"]
    assert data["tracesToMetrics"]["datasourceUid"] == "prometheus"
    assert data["tracesToMetrics"]["queries"]
    assert all("$__tags" in q["query"] or "job=" in q["query"] for q in data["tracesToMetrics"]["queries"])
    assert data["serviceMap"]["datasourceUid"] == "prometheus"
    assert data["nodeGraph"]["enabled"] is True


def _uids(node: Any) -> Iterator[str]:
    """Every datasource uid referenced anywhere below ``node`` (``datasourceUid`` keys and ``datasource``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasourceUid":
                yield value
            elif key == "datasource" and isinstance(value, dict) and "uid" in value:
                yield value["uid"]
            else:
                yield from _uids(value)
    elif isinstance(node, list):
        for item in node:
            yield from _uids(item)


def test_every_referenced_datasource_uid_exists() -> None:
    referenced = set(_uids(list(SOURCES.values())))
    for dashboard in dashboards().values():
        referenced |= set(_uids(dashboard))
    assert referenced, "found no references at all"
    assert referenced <= set(SOURCES) | {GRAFANA_BUILTIN}, referenced - set(SOURCES)


def test_the_provider_loads_the_folder_compose_mounts() -> None:
    (provider,) = load_yaml(ROOT / "grafana" / "provisioning" / "dashboards" / "otel-breakout.yml")["providers"]
    mounts = volume_mounts(SERVICES["grafana"])
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (DASHBOARD_DIR / home.rsplit("/", 1)[1]).is_file()
    assert provider["allowUiUpdates"] is False


def test_the_seven_dashboards_exist_with_unique_uids() -> None:
    found = dashboards()
    assert {d["title"] for d in found.values()} == REQUIRED_DASHBOARDS
    uids = [d["uid"] for d in found.values()]
    assert len(set(uids)) == len(uids)
    assert all(d["tags"] == ["otel-breakout"] and d["editable"] is False for d in found.values())


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_panels_have_unique_ids_and_fit_the_grid_without_overlapping(name: str) -> None:
    dashboard = dashboards()[name]
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}"
    cells: set[tuple[int, int]] = set()
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not area & cells, f"{name}: {panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] != "row":  # a row only groups the panels below it
            assert panel["targets"], f"{name}: {panel['title']} has no query"


def _by_title(title: str) -> dict[str, Any]:
    return next(d for d in dashboards().values() if d["title"] == title)


def _panel_types(title: str) -> set[str]:
    return {panel["type"] for panel in panels(_by_title(title))}


def test_each_dashboard_has_the_visualisation_the_seed_describes() -> None:
    assert "state-timeline" in _panel_types("Engine State Transitions")
    signal_bars = [
        panel
        for panel in panels(_by_title("Signal Frequency"))
        if panel["fieldConfig"]["defaults"].get("custom", {}).get("drawStyle") == "bars"
    ]
    assert any("by (strategy)" in t["expr"] for p in signal_bars for t in p["targets"])
    performance = " ".join(q.expr for q in dashboard_queries() if q.origin.startswith("performance-decay"))
    for metric in ("cycle_duration", "process_memory_usage_bytes", "system_memory_utilization", "cpu_utilization"):
        assert metric in performance
    assert {"heatmap", "bargauge"} <= _panel_types("Scanner Efficiency")
    assert "logs" in _panel_types("Diagnostics")


def test_trading_shows_equity_with_a_drawdown_band_and_trade_markers() -> None:
    trading = _by_title("Trading Performance")
    equity = next(p for p in panels(trading) if p["title"] == "Equity with drawdown band")
    legends = {t["legendFormat"] for t in equity["targets"]}
    (band,) = [o for o in equity["fieldConfig"]["overrides"] if o["matcher"]["options"] == "peak equity"]
    fill = {p["id"]: p["value"] for p in band["properties"]}["custom.fillBelowTo"]
    assert fill in legends and "peak equity" in legends
    annotations = {a["name"] for a in trading["annotations"]["list"] if a["datasource"]["uid"] == "prometheus"}
    assert {"Trade opened", "Trade closed"} <= annotations
    # The band needs one equity series: the trading dashboard selects a single bot.
    (bot,) = [v for v in trading["templating"]["list"] if v["name"] == "bot"]
    assert bot["multi"] is False and bot["includeAll"] is False


def test_diagnostics_logs_come_from_loki_by_service_name_with_trace_links() -> None:
    diagnostics = _by_title("Diagnostics")
    logs = [p for p in panels(diagnostics) if p["type"] == "logs"]
    assert logs and all(p["datasource"]["uid"] == "loki" for p in logs)
    bot_logs = logs[0]["targets"][0]["expr"]
    assert bot_logs.startswith('{service_name=~"$bot", deployment_environment_name=~"$env"}')
    # The links come from the Loki data source's derived field on trace_id.
    assert SOURCES["loki"]["jsonData"]["derivedFields"][0]["matcherRegex"] == "trace_id"
    assert logs[0]["options"]["enableLogDetails"] is True
    titles = {p["title"] for p in panels(diagnostics)}
    assert any("reasons" in t.lower() for t in titles) and any("near miss" in t.lower() for t in titles)


# --- fleets: the bot selector on every dashboard ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_every_dashboard_selects_bots_by_the_label_every_copy_carries(name: str) -> None:
    dashboard = dashboards()[name]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    env, bot = variables["env"], variables["bot"]
    assert [v["name"] for v in dashboard["templating"]["list"]][:2] == ["env", "bot"]  # bot depends on env
    assert env["query"] == "label_values(breakout_engine_cycles_total, deployment_environment_name)"
    assert env["includeAll"] is True and env["multi"] is True and env["allValue"] == ".*"  # bots without one too
    bots_of_env = 'label_values(breakout_engine_cycles_total{deployment_environment_name=~"$env"}, service_name)'
    assert bot["query"] == bots_of_env
    # All is the list of bots, never ".*": other services share the process_* and system_* names.
    assert "allValue" not in bot
    if dashboard["title"] == "Trading Performance":
        assert bot["multi"] is False and bot["includeAll"] is False
    else:
        assert bot["multi"] is True and bot["includeAll"] is True
        assert bot["current"]["value"] == ["$__all"]
    (link,) = dashboard["links"]
    assert link["includeVars"] is True and link["keepTime"] is True  # the selection follows the user


def test_the_fleet_overview_shows_every_bot_and_links_to_its_dashboards() -> None:
    fleet = _by_title("Fleet Overview")
    text = json.dumps(fleet)
    for metric in (
        "breakout_engine_last_cycle_timestamp_seconds",  # health
        "bot:breakout_engine_cycle_duration_seconds:mean5m",  # cycle time
        "breakout_engine_cycles_since_signal",
        "bot_strategy:breakout_signals:rate5m",
        "breakout_trades_opened_total",
        "breakout_equity",
        "breakout_drawdown_ratio",
        "process_memory_usage_bytes",
        "process_cpu_utilization_ratio",
        "breakout_diag_dropped_total",
        "ALERTS",
    ):
        assert metric in text, metric
    (table,) = [p for p in panels(fleet) if p["type"] == "table"]
    links = [
        link["url"]
        for override in table["fieldConfig"]["overrides"]
        for prop in override["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    others = {d["uid"] for d in dashboards().values() if d["uid"] != fleet["uid"]}
    assert {url.split("?")[0].removeprefix("/d/") for url in links} == others
    for url in links:
        assert "var-bot=${__data.fields.service_name}" in url and "var-env=" in url and "${__url_time_range}" in url
    # Every query of the table keeps the labels the links read.
    for target in table["targets"]:
        assert target["format"] == "table" and target["instant"] is True
        assert "service_name" in target["expr"]


def test_the_collector_row_reads_accepted_refused_sent_failed_and_queue_metrics() -> None:
    fleet = _by_title("Fleet Overview")
    rows = [p["title"] for p in panels(fleet) if p["type"] == "row"]
    assert any("Collector" in title for title in rows)
    text = " ".join(t["expr"] for p in panels(fleet) for t in p.get("targets", []))
    for part in ("receiver_accepted", "receiver_refused", "receiver_failed", "exporter_sent"):
        for unit in ("spans", "metric_points", "log_records"):
            assert f"otelcol_{part}_{unit}" in text
    for name in ("otelcol_exporter_queue_size", "otelcol_exporter_queue_capacity"):
        assert name in text
    assert "otelcol_exporter_send_failed:rate5m" in text and "otelcol_exporter_enqueue_failed:rate5m" in text


# --- metric -> trace ----------------------------------------------------------------------------------------


def test_cycle_time_heatmap_and_latency_panels_ask_for_exemplars() -> None:
    bucket = "breakout_engine_cycle_duration_seconds_bucket"
    found = 0
    for dashboard in dashboards().values():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if bucket in target.get("expr", ""):
                    # Exemplars hang on the raw buckets: every panel that reads them shows them.
                    assert target.get("exemplar") is True, f"{dashboard['title']}: {panel['title']}"
                    found += 1
    assert found >= 3  # the heatmap, the latency panel, the Fleet Overview's cycle time
    heatmap = next(p for p in panels(_by_title("Performance Decay")) if p["type"] == "heatmap")
    assert all(t.get("exemplar") for t in heatmap["targets"])


def test_every_exemplar_label_maps_to_tempo() -> None:
    names = {d["name"] for d in SOURCES["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]}
    # The bot's exemplars (its exposition, or OTLP through Prometheus) and Tempo's span metrics.
    tempo = load_yaml(ROOT / "tempo" / "tempo.yml")
    assert tempo["overrides"]["defaults"]["metrics_generator"]["trace_id_label_name"] in names
    assert '{trace_id="' in (ROOT / "otel_breakout" / "_exposition.py").read_text()
    assert "trace_id" in names


def test_trace_to_metrics_selects_the_span_s_bot_by_the_same_label_as_the_dashboards() -> None:
    to_metrics = SOURCES["tempo"]["jsonData"]["tracesToMetrics"]
    assert to_metrics["tags"] == [{"key": "service.name", "value": "service_name"}]
    assert all("{$__tags}" in query["query"] for query in to_metrics["queries"])
    # Tempo's span metrics carry service_name too: a dimension looked up in the resource attributes.
    tempo = load_yaml(ROOT / "tempo" / "tempo.yml")
    assert "service.name" in tempo["metrics_generator"]["processor"]["span_metrics"]["dimensions"]
