"""collector-config/: what cannot run here (no Collector binary), checked structurally against the release."""

from __future__ import annotations

import re
from typing import Any

from tests.support.stack import COLLECTOR_CONFIG, COLLECTOR_METRICS, COMPOSE, ROOT, load_yaml, recording_rules

CONFIG: dict[str, Any] = load_yaml(COLLECTOR_CONFIG)
SERVICES: dict[str, dict[str, Any]] = load_yaml(COMPOSE)["services"]
TEMPO: dict[str, Any] = load_yaml(ROOT / "tempo" / "tempo.yml")

# The release compose.yaml pins, and the component types of that release this config may use, read from
# its manifest (opentelemetry-collector-releases, distributions/otelcol-contrib/manifest.yaml at v0.159.0)
# and each component's metadata.yaml, with the signals each one handles.
RELEASE = "0.159.0"
ALL = frozenset({"traces", "metrics", "logs"})
TYPES: dict[str, dict[str, frozenset[str]]] = {
    "receivers": {"otlp": ALL, "webhook_event": frozenset({"logs"})},
    "processors": {"memory_limiter": ALL, "batch": ALL, "resource": ALL},
    "exporters": {"otlp_grpc": ALL, "otlp_http": ALL, "debug": ALL},
    "extensions": {"health_check": frozenset()},
    "connectors": {},
}
# Names that still load in this release but only as deprecated aliases (or no longer at all).
DEPRECATED = {
    "otlphttp": "otlp_http (renamed in 0.144)",
    "spanmetrics": "span_metrics",
    "logging": "debug (removed)",
    "loki": "otlp_http to Loki's /otlp (the loki exporter was removed)",
    # Still in the release, but the Collector's batching-migration RFC (docs/rfcs/batching-migration.md at
    # v0.159.0) moves batching into the exporters' sending queue and retires the processor.
    "batch": "sending_queue.batch on each exporter (the legacy batch processor is being retired)",
    # Renamed to snake case (contrib PR #47517, the naming effort of collector issue #14208 that also gave
    # otlp_grpc and otlp_http); the old type still loads as a deprecated alias that warns at start-up.
    "webhookevent": "webhook_event",
}
# The exporters in the release that are gRPC OTLP under the deprecated name `otlp`.
DEPRECATED_EXPORTERS = {"otlp": "otlp_grpc (renamed in 0.144)"}

PIPELINES: dict[str, dict[str, list[str]]] = CONFIG["service"]["pipelines"]


def _type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def test_the_pinned_image_is_the_release_the_names_are_checked_against() -> None:
    build = SERVICES["otel-collector"]["build"]["dockerfile_inline"]
    assert f"FROM otel/opentelemetry-collector-contrib:{RELEASE}\n" in build


def test_every_component_type_exists_in_the_pinned_release_under_its_current_name() -> None:
    for kind, known in TYPES.items():
        for component_id in CONFIG.get(kind) or {}:
            name = _type(component_id)
            assert name not in DEPRECATED, f"{kind} {component_id}: use {DEPRECATED[name]}"
            if kind == "exporters":
                assert name not in DEPRECATED_EXPORTERS, f"{component_id}: use {DEPRECATED_EXPORTERS[name]}"
            assert name in known, f"{kind} {component_id} is not a {kind[:-1]} type of otelcol-contrib {RELEASE}"


def test_every_referenced_component_is_defined_and_every_defined_one_is_used() -> None:
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline in PIPELINES.values():
        assert set(pipeline) <= {"receivers", "processors", "exporters"}
        for kind, ids in pipeline.items():
            used[kind].update(ids)
    for kind, used_ids in used.items():
        defined = set(CONFIG[kind])
        assert used_ids == defined, f"{kind}: used {sorted(used_ids)}, defined {sorted(defined)}"
    assert set(CONFIG["service"]["extensions"]) == set(CONFIG["extensions"])
    assert not CONFIG.get("connectors")


def test_pipelines_carry_a_signal_every_component_handles() -> None:
    assert {_type(name) for name in PIPELINES} == ALL
    for name, pipeline in PIPELINES.items():
        signal = _type(name)
        assert pipeline["receivers"] and pipeline["exporters"], name
        for kind, ids in pipeline.items():
            for component_id in ids:
                assert signal in TYPES[kind][_type(component_id)], f"{name}: {component_id} has no {signal}"


def test_memory_limiter_first_in_every_pipeline_and_batching_in_every_exporter() -> None:
    for name, pipeline in PIPELINES.items():
        processors = pipeline["processors"]
        assert processors[0] == "memory_limiter", name
        assert "batch" not in {_type(p) for p in processors}, name
    for name, exporter in CONFIG["exporters"].items():
        queue = exporter["sending_queue"]
        batch = queue["batch"]
        # Sized in items, explicitly: left out, the batch would take the queue's sizer (requests), and the
        # release refuses a min_size above queue_size for one sizer.
        assert batch["sizer"] == "items", name
        assert queue.get("sizer", "requests") != batch["sizer"] or batch["min_size"] <= queue["queue_size"], name
        assert 0 < batch["min_size"] <= batch["max_size"], name
        assert batch["flush_timeout"], name


def test_exporters_reach_prometheus_loki_and_tempo_on_their_compose_ports() -> None:
    exporters = CONFIG["exporters"]
    assert exporters["otlp_http/prometheus"]["endpoint"] == "http://prometheus:9090/api/v1/otlp"
    assert "127.0.0.1:9090:9090" in SERVICES["prometheus"]["ports"]
    assert exporters["otlp_http/loki"]["endpoint"] == "http://loki:3100/otlp"
    assert load_yaml(ROOT / "loki" / "loki.yml")["server"]["http_listen_port"] == 3100
    tempo_grpc = TEMPO["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert exporters["otlp_grpc/tempo"]["endpoint"] == "tempo:" + tempo_grpc.rsplit(":", 1)[1]
    assert exporters["otlp_grpc/tempo"]["tls"]["insecure"] is True  # plaintext inside the compose network
    for exporter in exporters.values():
        assert exporter["sending_queue"]["queue_size"] > 0  # bounded: drops are counted, never unbounded growth


def test_the_bot_pushes_to_the_receivers_the_collector_listens_on() -> None:
    protocols = CONFIG["receivers"]["otlp"]["protocols"]
    grpc_port = protocols["grpc"]["endpoint"].rsplit(":", 1)[1]
    http_port = protocols["http"]["endpoint"].rsplit(":", 1)[1]
    environment = SERVICES["app"]["environment"]
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{grpc_port}"
    assert environment["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    ports = SERVICES["otel-collector"]["ports"]
    assert f"127.0.0.1:{grpc_port}:{grpc_port}" in ports
    assert f"127.0.0.1:{http_port}:{http_port}" in ports


def test_health_check_is_what_the_compose_healthcheck_probes() -> None:
    port = CONFIG["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1]
    assert f"http://127.0.0.1:{port}/" in SERVICES["otel-collector"]["healthcheck"]["test"]


def test_span_metrics_come_from_tempo_only() -> None:
    connectors = {_type(c) for c in CONFIG.get("connectors") or {}}
    assert not connectors & {"span_metrics", "spanmetrics", "servicegraph"}
    processors = TEMPO["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert {"span-metrics", "service-graphs"} <= set(processors)
    (remote_write,) = TEMPO["metrics_generator"]["storage"]["remote_write"]
    assert remote_write["url"] == "http://prometheus:9090/api/v1/write"
    assert remote_write["send_exemplars"] is True
    assert "--web.enable-remote-write-receiver" in SERVICES["prometheus"]["command"]


def test_internal_metrics_keep_the_names_the_telemetry_rules_read() -> None:
    telemetry = CONFIG["service"]["telemetry"]["metrics"]
    (reader,) = telemetry["readers"]
    prometheus = reader["pull"]["exporter"]["prometheus"]
    assert prometheus["host"] == "0.0.0.0"  # the default, localhost, is unreachable for Prometheus
    # Without these the counters would gain _total (and units), and the rules would read nothing.
    assert prometheus["without_type_suffix"] is True
    assert prometheus["without_units"] is True
    names = {n for rule in recording_rules() for n in re.findall(r"otelcol_[a-z_]+", rule["expr"])}
    assert names and not any(name.endswith("_total") for name in names)


def test_alert_notifications_become_logs_named_alertmanager() -> None:
    pipeline = PIPELINES["logs/alerts"]
    assert pipeline["receivers"] == ["webhook_event/alertmanager"]
    (attribute,) = CONFIG["processors"]["resource/alertmanager"]["attributes"]
    assert attribute == {"key": "service.name", "value": "alertmanager", "action": "upsert"}
    assert "otlp_http/loki" in pipeline["exporters"]


# The internal metrics of the pinned release (open-telemetry/opentelemetry-collector v0.159.0,
# receiver/receiverhelper/metadata.yaml and exporter/exporterhelper/metadata.yaml), as the pull reader
# serves them with without_type_suffix and without_units: `otelcol_` + the metadata name.
RELEASE_TELEMETRY = {
    *(f"receiver_{outcome}_{unit}" for outcome in ("accepted", "refused", "failed")
      for unit in ("spans", "metric_points", "log_records", "profile_samples")),
    "receiver_requests",
    *(f"exporter_{outcome}_{unit}" for outcome in ("sent", "send_failed", "enqueue_failed")
      for unit in ("spans", "metric_points", "log_records", "profile_samples")),
    "exporter_queue_size", "exporter_queue_capacity", "exporter_in_flight_requests",
}  # fmt: skip


def test_the_collector_metrics_the_stack_reads_exist_in_the_release() -> None:
    for name in COLLECTOR_METRICS:
        assert name.removeprefix("otelcol_") in RELEASE_TELEMETRY, name
    read = set()
    for path in (ROOT / "grafana" / "dashboards").glob("*.json"):
        read |= set(re.findall(r"(?<!:)otelcol_[a-z_]+", path.read_text()))  # not in recorded names
    for rule in recording_rules():
        read |= set(re.findall(r"otelcol_[a-z_]+", rule["expr"]))
    # The Fleet Overview builds names from a prefix and a unit; what it reads must be in the list.
    assert read - {"otelcol_receiver_accepted", "otelcol_receiver_refused", "otelcol_receiver_failed",
                   "otelcol_exporter_sent"} <= set(COLLECTOR_METRICS)  # fmt: skip


def test_tempo_keeps_every_span_for_traceql_metrics_and_flushes_the_blocks() -> None:
    # local-blocks keeps only root and server spans unless told otherwise (Tempo 2.10's default
    # filter_server_spans: true): engine.scan, engine.signals and engine.manage are internal children.
    assert "local-blocks" in TEMPO["overrides"]["defaults"]["metrics_generator"]["processors"]
    local_blocks = TEMPO["metrics_generator"]["processor"]["local_blocks"]
    assert local_blocks["filter_server_spans"] is False
    assert local_blocks["flush_to_storage"] is True  # TraceQL metrics over history, not only memory
    assert TEMPO["metrics_generator"]["traces_storage"]["path"].startswith("/var/tempo/")


def test_no_component_sends_usage_reports() -> None:
    assert TEMPO["usage_report"]["reporting_enabled"] is False
    assert load_yaml(ROOT / "loki" / "loki.yml")["analytics"]["reporting_enabled"] is False
    assert SERVICES["grafana"]["environment"]["GF_ANALYTICS_REPORTING_ENABLED"] == "false"
