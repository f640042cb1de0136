"""prometheus/: the stack's scrape config, the rule files (promtool) and their unit tests."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from otel_breakout.catalogue import IDENTITY_ATTRIBUTES
from tests.support.binaries import require_binary
from tests.support.promql import selectors
from tests.support.stack import (
    BOT_JOB,
    COMPOSE,
    PROMETHEUS_CONFIG,
    ROOT,
    RULE_FILES,
    RULE_TESTS,
    alert_rules,
    catalogue_series_names,
    load_yaml,
    recording_rules,
    rule_queries,
    volume_mounts,
)

CONFIG: dict[str, Any] = load_yaml(PROMETHEUS_CONFIG)
JOBS: dict[str, dict[str, Any]] = {job["job_name"]: job for job in CONFIG["scrape_configs"]}
SERVICES: dict[str, dict[str, Any]] = load_yaml(COMPOSE)["services"]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary("promtool"), *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.integration
def test_promtool_accepts_every_rule_file() -> None:
    result = _promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(RULE_FILES) >= 3


@pytest.mark.integration
def test_promtool_unit_tests_pass() -> None:
    result = _promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.integration
def test_promtool_unit_tests_catch_a_broken_threshold(tmp_path: Any) -> None:
    # The unit tests must be able to fail: move the starvation threshold and they do.
    condition = "          ) >= "
    assert (ROOT / "prometheus" / "rules" / "breakout-alerts.yml").read_text().count(condition + "15") == 1
    for rule_file in RULE_FILES:
        text = rule_file.read_text().replace(condition + "15", condition + "16")
        (tmp_path / "rules").mkdir(exist_ok=True)
        (tmp_path / "rules" / rule_file.name).write_text(text)
    (tmp_path / "tests").mkdir()
    for test_file in RULE_TESTS:
        (tmp_path / "tests" / test_file.name).write_text(test_file.read_text())
    result = _promtool("test", "rules", *(str(tmp_path / "tests" / t.name) for t in RULE_TESTS))
    assert result.returncode != 0
    assert "SignalStarvation" in result.stdout + result.stderr


def _tests_by_alert() -> dict[str, list[list[Any]]]:
    cases: dict[str, list[list[Any]]] = {}
    for path in RULE_TESTS:
        for test in load_yaml(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], []).append(case.get("exp_alerts") or [])
    return cases


def test_every_alert_has_a_firing_and_a_not_firing_unit_test() -> None:
    cases = _tests_by_alert()
    for name in {rule["alert"] for rule in alert_rules()}:
        assert any(cases.get(name, [])), f"no promtool case where {name} fires"
        assert any(not expected for expected in cases.get(name, [])), f"no promtool case where {name} stays quiet"
    # Every severity tier of every alert fires somewhere in the tests.
    fired = {
        (name, alert["exp_labels"]["severity"])
        for name, expectations in cases.items()
        for expected in expectations
        for alert in expected
    }
    assert fired == {(rule["alert"], rule["labels"]["severity"]) for rule in alert_rules()}


def test_the_rule_tests_load_the_rule_files_that_exist() -> None:
    for path in RULE_TESTS:
        listed = {(path.parent / name).resolve() for name in load_yaml(path)["rule_files"]}
        assert listed == {rule_file.resolve() for rule_file in RULE_FILES}, path


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    rules = alert_rules()
    assert len({rule["alert"] for rule in rules}) >= 9
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        annotations = rule["annotations"]
        for key in ("summary", "description", "runbook_url"):
            assert annotations.get(key, "").strip(), f"{rule['alert']} has no {key}"
        assert annotations["runbook_url"].endswith("#runbook-" + rule["alert"].lower()), rule["alert"]


def test_the_seed_alert_thresholds_are_kept() -> None:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for rule in alert_rules():
        by_name.setdefault(rule["alert"], []).append(rule)
    memory = {rule["labels"]["severity"]: rule for rule in by_name["HighMemoryUsage"]}
    assert "> 0.85" in memory["warning"]["expr"] and memory["warning"]["for"] == "2m"
    assert "> 0.1" in by_name["SlowEngineCycles"][0]["expr"]
    assert "mean5m" in by_name["SlowEngineCycles"][0]["expr"]
    assert ">= 15" in by_name["SignalStarvation"][0]["expr"]
    exhaustion = by_name["ResourceExhaustion"][0]["expr"]
    assert "process_thread_count" in exhaustion and "> 80" in exhaustion
    assert "process_open_file_descriptor_count" in exhaustion and "> 800" in exhaustion
    mean = next(r for r in recording_rules() if r["record"] == "bot:breakout_engine_cycle_duration_seconds:mean5m")
    assert mean["expr"].count("[5m]") == 2


# Features one of Prometheus 2.42 (the tests) and 3.x (compose) lacks or treats differently.
_FORBIDDEN = {
    "holt_winters": re.compile(r"\bholt_winters\s*\("),
    "double_exponential_smoothing (experimental)": re.compile(r"\bdouble_exponential_smoothing\s*\("),
    "experimental functions": re.compile(r"\b(sort_by_label|sort_by_label_desc|limitk|limit_ratio|mad_over_time|"
                                         r"info|ts_of_\w+_over_time|first_over_time)\s*\("),
    "quoted UTF-8 names": re.compile(r"\{\s*\""),
    "le equality (3.x normalises bucket bounds)": re.compile(r"\ble\s*=\s*[\"']"),
    "duration arithmetic": re.compile(r"\[[^\]]*[+*/()][^\]]*\]"),
}  # fmt: skip


def test_rules_avoid_features_only_one_prometheus_has() -> None:
    for path in RULE_FILES:
        for group in load_yaml(path)["groups"]:
            assert set(group) <= {"name", "interval", "rules"}, f"{path.name}: group keys {sorted(group)}"
            for rule in group["rules"]:
                assert set(rule) <= {"alert", "record", "expr", "for", "labels", "annotations"}, rule
    for query in rule_queries():
        for what, pattern in _FORBIDDEN.items():
            assert not pattern.search(query.expr), f"{query.origin} uses {what}"


def test_rules_select_bots_by_identity_and_never_by_copy() -> None:
    # The same metric may arrive scraped, pushed or both: no selector of ours picks a copy by job or
    # instance, every one keeps to series with a bot identity.
    ours = catalogue_series_names()
    checked = 0
    for query in rule_queries():
        for selector in selectors(query.expr):
            if selector.metric in ours:
                assert selector.value_of("job") is None and selector.value_of("instance") is None, query.origin
                assert any(m.label == "service_name" and m.op == "!=" for m in selector.matchers), query.origin
                checked += 1
    assert checked >= 15


def test_every_bot_alert_names_the_bot_in_its_labels_and_summary() -> None:
    for rule in alert_rules():
        if rule["alert"] in ("CollectorQueueDrops", "CollectorExportFailures") or "job!=" in rule["expr"]:
            continue  # the stack's own components, not a bot
        # Its series carry the bot's identity: an aggregation that keeps service_name, or a recorded series
        # at the `bot` level.
        assert "service_name" in rule["expr"] or rule["expr"].startswith("bot:"), rule["alert"]
        assert "$labels.service_name" in rule["annotations"]["summary"], rule["alert"]


def test_the_otlp_receiver_promotes_exactly_the_labels_the_scrape_carries() -> None:
    # Both copies of a bot's series carry the same identity labels: the exposition writes IDENTITY_ATTRIBUTES
    # on every series, the OTLP receiver promotes these attributes. Anything else stays on target_info.
    otlp = CONFIG["otlp"]
    assert sorted(otlp["promote_resource_attributes"]) == sorted(IDENTITY_ATTRIBUTES)
    assert otlp["translation_strategy"] == "UnderscoreEscapingWithSuffixes"  # the exposition's naming
    assert not otlp.get("promote_scope_metadata")  # the dashboards never read scope labels
    assert not otlp.get("keep_identifying_resource_attributes")


# The YAML keys of the Prometheus 3 config structs this file uses, as prometheus/prometheus config/config.go
# declares them at v3.13.2 (the version compose.yaml pins; static_configs comes from the inlined service
# discovery configs). Strict YAML: Prometheus refuses to start on any other key.
PROMETHEUS_3_KEYS: dict[str, set[str]] = {
    "": {"global", "runtime", "alerting", "rule_files", "scrape_config_files", "scrape_configs", "storage",
         "tracing", "remote_write", "remote_read", "otlp"},
    "global": {"scrape_interval", "scrape_timeout", "scrape_protocols", "evaluation_interval", "rule_query_offset",
               "query_log_file", "scrape_failure_log_file", "external_labels", "body_size_limit", "sample_limit",
               "target_limit", "label_limit", "label_name_length_limit", "label_value_length_limit",
               "keep_dropped_targets", "metric_name_validation_scheme", "metric_name_escaping_scheme",
               "scrape_native_histograms", "convert_classic_histograms_to_nhcb", "always_scrape_classic_histograms",
               "extra_scrape_metrics"},
    "scrape_configs": {"job_name", "honor_labels", "honor_timestamps", "track_timestamps_staleness", "params",
                       "scrape_interval", "scrape_timeout", "scrape_protocols", "fallback_scrape_protocol",
                       "scrape_native_histograms", "always_scrape_classic_histograms",
                       "convert_classic_histograms_to_nhcb", "scrape_failure_log_file", "metrics_path", "scheme",
                       "enable_compression", "body_size_limit", "sample_limit", "target_limit", "label_limit",
                       "label_name_length_limit", "label_value_length_limit", "native_histogram_bucket_limit",
                       "native_histogram_min_bucket_factor", "keep_dropped_targets", "metric_name_validation_scheme",
                       "metric_name_escaping_scheme", "extra_scrape_metrics", "relabel_configs",
                       "metric_relabel_configs", "static_configs"},
    "alerting": {"alert_relabel_configs", "alertmanagers"},
    "alertmanagers": {"sigv4", "scheme", "path_prefix", "timeout", "api_version", "relabel_configs",
                      "alert_relabel_configs", "static_configs"},
    "storage": {"tsdb", "exemplars"},
    "tsdb": {"out_of_order_time_window", "stale_series_compaction_threshold", "chunk_encoding", "retention"},
    "retention": {"time", "size", "percentage"},
    "exemplars": {"max_exemplars"},
    "otlp": {"promote_all_resource_attributes", "promote_resource_attributes", "ignore_resource_attributes",
             "translation_strategy", "keep_identifying_resource_attributes", "convert_histograms_to_nhcb",
             "promote_scope_metadata", "label_name_underscore_sanitization",
             "label_name_preserve_multiple_underscores"},
}  # fmt: skip


def test_the_config_uses_only_keys_prometheus_3_knows() -> None:
    def check(node: dict[str, Any], section: str) -> None:
        assert set(node) <= PROMETHEUS_3_KEYS[section], (
            f"{section or 'top level'}: {set(node) - PROMETHEUS_3_KEYS[section]}"
        )
        for key, value in node.items():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict) and key in PROMETHEUS_3_KEYS:
                    check(item, key)

    check(CONFIG, "")
    assert "retention" in CONFIG["storage"]["tsdb"]


def test_retention_is_in_the_config_file_and_the_same_for_metrics_logs_and_traces() -> None:
    # Prometheus 3 deprecates the flag for the config file's storage.tsdb.retention.
    assert not any(flag.startswith("--storage.tsdb.retention") for flag in SERVICES["prometheus"]["command"])
    metrics = _hours(CONFIG["storage"]["tsdb"]["retention"]["time"])
    logs = _hours(load_yaml(ROOT / "loki" / "loki.yml")["limits_config"]["retention_period"])
    traces = _hours(load_yaml(ROOT / "tempo" / "tempo.yml")["compactor"]["compaction"]["block_retention"])
    # An exemplar or a trace link on a metric points at a trace and logs that still exist.
    assert metrics == logs == traces, (metrics, logs, traces)
    assert load_yaml(ROOT / "loki" / "loki.yml")["compactor"]["retention_enabled"] is True


def _hours(duration: str) -> float:
    match = re.fullmatch(r"(\d+)([dh])", duration)
    assert match, duration
    return int(match.group(1)) * (24 if match.group(2) == "d" else 1)


def test_bot_scrape_job_is_the_seeds() -> None:
    job = JOBS[BOT_JOB]
    assert job["metrics_path"] == "/api/metrics"
    assert job["scrape_interval"] == "5s"
    (target,) = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host == "app"
    assert f"127.0.0.1:{port}:{port}" in SERVICES["app"]["ports"]
    assert ["--port", port] == SERVICES["app"]["command"][-2:]


def test_scrape_jobs_cover_prometheus_node_exporter_and_the_collector() -> None:
    assert JOBS["prometheus"]["static_configs"][0]["targets"] == ["localhost:9090"]
    assert JOBS["node-exporter"]["static_configs"][0]["targets"] == ["node-exporter:9100"]
    telemetry = load_yaml(ROOT / "collector-config" / "config.yaml")["service"]["telemetry"]
    collector_port = telemetry["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]["port"]
    assert JOBS["otel-collector"]["static_configs"][0]["targets"] == [f"otel-collector:{collector_port}"]
    # The telemetry rules read otelcol_* under this job name.
    assert all('job="otel-collector"' in r["expr"] for r in recording_rules() if "otelcol_" in r["expr"])
    for job in JOBS.values():
        for target in job["static_configs"][0]["targets"]:
            host = target.split(":")[0]
            assert host == "localhost" or host in SERVICES, f"{job['job_name']} scrapes unknown host {host}"


def test_alerting_and_rule_files_point_into_the_containers_mounts() -> None:
    (alertmanager,) = CONFIG["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanager == "alertmanager:9093"
    mounts = volume_mounts(SERVICES["prometheus"])
    (rule_glob,) = CONFIG["rule_files"]
    assert rule_glob == "/etc/prometheus/rules/*.yml"
    assert mounts["./prometheus/rules"] == "/etc/prometheus/rules"
    assert mounts["./prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"


def test_prometheus_is_started_with_otlp_remote_write_and_exemplars() -> None:
    flags = SERVICES["prometheus"]["command"]
    assert "--web.enable-otlp-receiver" in flags
    assert "--web.enable-remote-write-receiver" in flags  # Tempo's metrics generator writes here
    assert "--enable-feature=exemplar-storage" in flags
    assert "--config.file=/etc/prometheus/prometheus.yml" in flags
    assert "--web.enable-lifecycle" not in flags  # would let anyone on the network stop Prometheus
