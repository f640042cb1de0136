from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from otel_breakout import ConfigError
from otel_breakout._internal import set_internal_errors_raise
from otel_breakout.api import MetricsSource, ResourceSource, SnapshotTaker, create_app
from otel_breakout.metrics import MetricsLogger, ResourceMetrics, ResourceMonitor
from otel_breakout.testing import TelemetryCapture, capture_telemetry
from tests.support.sources import Clock, FixedMonitor, ListLogger, calm_monitor

TOKEN = "correct-horse-battery-staple"
ERROR_KEYS = {"error", "detail"}


class Snapshots:
    """Stands in for take_memory_snapshot where a test counts the calls (the real one is used below too)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, int]] = []

    def __call__(self, path: Any = None, *, top: int = 25) -> dict[str, Any]:
        self.calls.append((path, top))
        return {"path": None, "types": [], "top": top}


@pytest.fixture
def capture() -> Iterator[TelemetryCapture]:
    capture = capture_telemetry()
    yield capture
    capture.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())


@pytest.fixture
def logger(capture: TelemetryCapture, clock: Clock) -> MetricsLogger:
    logger = MetricsLogger(capture.telemetry)
    for i in range(5):
        logger.end_cycle(0.01 * (i + 1), now=clock.now - 50 + i)
    logger.trade_closed("momentum", pnl=-3.5)
    logger.end_cycle(0.06, now=clock.now - 2)
    return logger


@pytest.fixture
def monitor(capture: TelemetryCapture) -> ResourceMonitor:
    monitor: ResourceMonitor = calm_monitor(capture.telemetry)
    return monitor


def make_client(
    capture: TelemetryCapture,
    logger: MetricsSource,
    clock: Clock,
    monitor: ResourceSource,
    *,
    token: str | None = None,
    snapshots: SnapshotTaker | None = None,
    raise_server_exceptions: bool = True,
) -> TestClient:
    app = create_app(
        capture.telemetry,
        metrics_logger=logger,
        resource_monitor=monitor,
        token=token,
        snapshot=snapshots,
        clock=clock,
    )
    return TestClient(app, raise_server_exceptions=raise_server_exceptions)


def assert_error(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert ERROR_KEYS <= set(body) and body["error"] == error, body
    assert "Traceback" not in response.text
    return body


# --- /api/metrics ---------------------------------------------------------------------------------


def test_metrics_serves_the_pull_reader_in_text_format(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    response = make_client(capture, logger, clock, monitor).get("/api/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    (sample,) = families["breakout_engine_cycles"].samples
    assert sample.name == "breakout_engine_cycles_total" and sample.value == 6.0
    assert "target_info" in families
    assert "process_thread_count" in families  # the monitor's gauges, collected on the scrape


def test_metrics_negotiates_openmetrics(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    prometheus_accept = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
        "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    client = make_client(capture, logger, clock, monitor)
    response = client.get("/api/metrics", headers={"Accept": prometheus_accept})
    assert response.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert response.text.endswith("# EOF\n")
    assert "accept" in response.headers["vary"].lower()


def test_metrics_is_gzipped_when_accepted(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    client = make_client(capture, logger, clock, monitor)
    zipped = client.get("/api/metrics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "breakout_engine_cycles_total" in zipped.text  # the client decompressed it
    plain = client.get("/api/metrics", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_metrics_is_503_without_a_pull_reader(clock: Clock) -> None:
    capture = capture_telemetry(metrics_exporter="none")
    try:
        client = make_client(capture, ListLogger(clock), clock, FixedMonitor())
        body = assert_error(client.get("/api/metrics"), 503, "unavailable")
        assert "OTEL_METRICS_EXPORTER" in body["detail"]
    finally:
        capture.close()


# --- JSON routes ----------------------------------------------------------------------------------


def test_summary(capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor) -> None:
    response = make_client(capture, logger, clock, monitor).get("/api/metrics/summary")
    assert response.status_code == 200
    body = response.json()
    assert {"generated_at", "engine", "trading", "scanner"} <= set(body)
    assert body["generated_at"] == clock.now
    assert body["engine"]["cycles"] == 6.0
    assert body["trading"]["trades_closed"] == {"momentum": {"loss": 1.0}}


def test_performance(capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor) -> None:
    client = make_client(capture, logger, clock, monitor)
    assert client.get("/api/metrics/performance").json()["current"] is None  # no sample yet
    sample = monitor.run_once()
    body = client.get("/api/metrics/performance?minutes=15").json()
    assert set(body) == {"generated_at", "current", "window_minutes", "summary"}
    assert body["window_minutes"] == 15 and body["summary"]["minutes"] == 15
    assert body["current"] == dataclasses.asdict(sample)
    assert set(body["current"]) == {field.name for field in dataclasses.fields(ResourceMetrics)}
    assert body["summary"]["samples"] == 1


def test_metric_in_every_spelling(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    client = make_client(capture, logger, clock, monitor)
    body = client.get("/api/metrics/metric/breakout.engine.cycle.duration").json()
    assert body["name"] == "breakout.engine.cycle.duration"
    assert body["prometheus_name"] == "breakout_engine_cycle_duration_seconds"
    assert body["kind"] == "histogram" and body["unit"] == "s" and body["description"]
    assert body["total"] == 6
    assert [s["value"] for s in body["samples"]] == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05, 0.06])
    assert set(body["samples"][0]) == {"ts", "value", "attributes"}
    assert client.get("/api/metrics/metric/breakout_engine_cycle_duration_seconds").json() == body
    assert client.get("/api/metrics/metric/engine_cycle_time").json() == body  # the seed's name


def test_metric_limit_and_since(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    client = make_client(capture, logger, clock, monitor)
    everything = client.get("/api/metrics/metric/breakout.engine.cycle.duration").json()["samples"]
    last_two = client.get("/api/metrics/metric/breakout.engine.cycle.duration?limit=2").json()["samples"]
    assert last_two == everything[-2:]
    since = everything[3]["ts"]
    later = client.get(f"/api/metrics/metric/breakout.engine.cycle.duration?since={since!r}").json()
    assert later["samples"] == [s for s in everything if s["ts"] >= since] and later["total"] == 6


def test_metric_with_attributes(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    body = make_client(capture, logger, clock, monitor).get("/api/metrics/metric/breakout.trade.pnl").json()
    (sample,) = body["samples"]
    assert sample["value"] == -3.5 and sample["attributes"] == {"strategy": "momentum", "outcome": "loss"}


def test_a_metrics_source_of_your_own(capture: TelemetryCapture, clock: Clock, monitor: ResourceMonitor) -> None:
    # Any object with the MetricsSource methods will do; names outside the catalogue included.
    own = ListLogger(clock)
    own.record("custom.latency", float("nan"), ts=clock.now - 1)
    body = make_client(capture, own, clock, monitor).get("/api/metrics/metric/custom.latency").json()
    assert body["prometheus_name"] is None and body["kind"] is None
    assert body["samples"] == [{"ts": clock.now - 1, "value": None, "attributes": {}}]


def test_catalogue_metric_with_no_samples_yet(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    body = make_client(capture, logger, clock, monitor).get("/api/metrics/metric/breakout.equity").json()
    assert body["total"] == 0 and body["samples"] == []


@pytest.mark.parametrize(
    ("name", "error", "hint"),
    [
        ("nope", "unknown_metric", "no such metric"),
        ("breakout.engine.cycle.duration.x", "unknown_metric", "no such metric"),
        ("x" * 300, "unknown_metric", "no such metric"),
        ("%00", "unknown_metric", "no such metric"),
        ("process.cpu.utilization", "unknown_metric", "/api/metrics/performance"),
        ("breakout_diag_reasons_total", "unknown_metric", "GET /api/metrics"),
        ("..%2F..%2Fetc", "not_found", "no such route"),  # the slash splits the path: no route matches
    ],
)
def test_unknown_metric_is_404(
    capture: TelemetryCapture,
    logger: MetricsLogger,
    clock: Clock,
    monitor: ResourceMonitor,
    name: str,
    error: str,
    hint: str,
) -> None:
    body = assert_error(make_client(capture, logger, clock, monitor).get(f"/api/metrics/metric/{name}"), 404, error)
    assert hint in body["detail"]


def test_all(capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor) -> None:
    client = make_client(capture, logger, clock, monitor)
    body = client.get("/api/metrics/all").json()
    assert set(body) == {"generated_at", "metrics"}
    assert list(body["metrics"]) == sorted(logger.names())
    assert [s["value"] for s in body["metrics"]["breakout.trade.pnl"]] == [-3.5]
    limited = client.get("/api/metrics/all?limit=1").json()["metrics"]
    assert len(limited["breakout.engine.cycle.duration"]) == 1
    assert client.get(f"/api/metrics/all?since={time.time() + 60}").json()["metrics"]["breakout.trade.pnl"] == []


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/metrics/metric/breakout.equity?limit=0", "limit"),
        ("/api/metrics/metric/breakout.equity?limit=10001", "limit"),
        ("/api/metrics/metric/breakout.equity?limit=ten", "limit"),
        ("/api/metrics/metric/breakout.equity?limit=1.5", "limit"),
        ("/api/metrics/metric/breakout.equity?limit=1&limit=2", "limit"),
        ("/api/metrics/metric/breakout.equity?since=nan", "since"),
        ("/api/metrics/metric/breakout.equity?since=-1", "since"),
        ("/api/metrics/metric/breakout.equity?since=inf", "since"),
        ("/api/metrics/metric/breakout.equity?since=" + "9" * 40, "since"),
        ("/api/metrics/all?limit=-5", "limit"),
        ("/api/metrics/all?since=yesterday", "since"),
        ("/api/metrics/performance?minutes=0", "minutes"),
        ("/api/metrics/performance?minutes=1441", "minutes"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor, url: str, parameter: str
) -> None:
    body = assert_error(make_client(capture, logger, clock, monitor).get(url), 422, "invalid_parameter")
    assert body["parameter"] == parameter
    assert parameter in body["detail"]


# --- health ---------------------------------------------------------------------------------------


def test_health_ok(capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor) -> None:
    response = make_client(capture, logger, clock, monitor).get("/api/metrics/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "generated_at", "uptime_s", "issues", "metrics", "engine", "limits", "monitor"}
    assert (body["status"], body["issues"], body["generated_at"], body["uptime_s"]) == ("ok", [], clock.now, 0.0)
    assert body["engine"] == {"last_cycle_age_s": 2.0, "warning_after_s": 60.0, "critical_after_s": 180.0}
    assert set(body["metrics"]) == {field.name for field in dataclasses.fields(ResourceMetrics)}
    assert body["limits"] == dataclasses.asdict(monitor.limits)
    assert body["monitor"]["running"] is False


def test_health_degraded_by_the_monitor_is_200(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    # This process's memory a quarter over the limit: a warning (critical starts at 1.5x).
    rss_mb = psutil.Process().memory_info().rss / 2**20
    monitor.limits = dataclasses.replace(monitor.limits, max_memory_mb=rss_mb / 1.25)
    response = make_client(capture, logger, clock, monitor).get("/api/metrics/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    (issue,) = body["issues"]
    assert issue["check"] == "process_memory_mb" and issue["severity"] == "warning"
    assert set(issue) == {"check", "value", "limit", "severity", "message"}


def test_health_critical_is_503(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    monitor.limits = dataclasses.replace(monitor.limits, max_threads=1)  # this test runs more than 1.5 threads
    response = make_client(capture, logger, clock, monitor).get("/api/metrics/health")
    assert response.status_code == 503
    assert response.json()["status"] == "critical"
    assert [i["check"] for i in response.json()["issues"]] == ["active_threads"]


def test_a_stalled_engine_is_unhealthy_while_the_process_is_fine(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    client = make_client(capture, logger, clock, monitor)
    logger.end_cycle(0.01, now=clock.now - 90)
    degraded = client.get("/api/metrics/health")
    assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
    (issue,) = degraded.json()["issues"]
    assert issue["check"] == "engine_cycle_age" and issue["value"] == 90.0 and issue["limit"] == 60.0
    assert issue["severity"] == "warning"
    logger.end_cycle(0.01, now=clock.now - 600)
    critical = client.get("/api/metrics/health")
    assert critical.status_code == 503 and critical.json()["issues"][0]["severity"] == "critical"
    logger.end_cycle(0.01, now=clock.now)
    assert client.get("/api/metrics/health").status_code == 200


def test_an_engine_that_never_cycles_becomes_critical(
    capture: TelemetryCapture, clock: Clock, monitor: ResourceMonitor
) -> None:
    client = make_client(capture, MetricsLogger(capture.telemetry), clock, monitor)
    assert client.get("/api/metrics/health").json()["status"] == "ok"  # still starting
    clock.now += 200
    response = client.get("/api/metrics/health")
    assert response.status_code == 503
    assert response.json()["engine"]["last_cycle_age_s"] is None
    assert "no engine cycle yet" in response.json()["issues"][0]["message"]


def test_health_without_the_engine_check(capture: TelemetryCapture, clock: Clock, monitor: ResourceMonitor) -> None:
    logger = MetricsLogger(capture.telemetry)
    app = create_app(
        capture.telemetry, metrics_logger=logger, resource_monitor=monitor, engine_check=False, clock=clock
    )
    clock.now += 10_000
    response = TestClient(app).get("/api/metrics/health")
    assert response.status_code == 200 and response.json()["engine"] is None


def test_a_failing_monitor_degrades_health_without_leaking(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock
) -> None:
    class Broken(FixedMonitor):
        def get_health_status(self) -> dict[str, Any]:
            raise RuntimeError("secret internals /home/bot/keys")

    previous = set_internal_errors_raise(False)
    try:
        response = make_client(capture, logger, clock, Broken()).get("/api/metrics/health")
    finally:
        set_internal_errors_raise(previous)
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert "secret" not in response.text and response.json()["issues"][0]["check"] == "resource_monitor"


def test_a_failing_cycle_age_degrades_health(capture: TelemetryCapture, clock: Clock, monitor: ResourceMonitor) -> None:
    class Broken(ListLogger):
        def last_cycle_age(self, now: float | None = None) -> float | None:
            raise RuntimeError("lock poisoned")

    previous = set_internal_errors_raise(False)
    try:
        response = make_client(capture, Broken(clock), clock, monitor).get("/api/metrics/health")
    finally:
        set_internal_errors_raise(previous)
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["issues"][0]["check"] == "engine_cycle_age" and "poisoned" not in response.text


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api", "/api/metrics/nope", "/api/metrics/metric", "/favicon.ico"])
def test_unknown_routes_are_404_json(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor, path: str
) -> None:
    assert_error(make_client(capture, logger, clock, monitor).get(path), 404, "not_found")


def test_wrong_method_is_405_json(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    client = make_client(capture, logger, clock, monitor)
    body = assert_error(client.post("/api/metrics/health"), 405, "method_not_allowed")
    assert body["detail"]
    assert set(client.post("/api/metrics/health").headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert_error(client.get("/api/metrics/snapshot"), 405, "method_not_allowed")


def test_a_failing_route_is_500_json_without_a_traceback(
    capture: TelemetryCapture, clock: Clock, monitor: ResourceMonitor
) -> None:
    class Exploding(ListLogger):
        def summary(self) -> dict[str, Any]:
            raise KeyError("/home/bot/.secrets")

    client = make_client(capture, Exploding(clock), clock, monitor, raise_server_exceptions=False)
    response = client.get("/api/metrics/summary")
    body = assert_error(response, 500, "internal_error")
    assert "secrets" not in response.text and "KeyError" not in body["detail"]


def test_a_failing_request_is_logged_without_what_the_client_made_up(
    capture: TelemetryCapture, clock: Clock, monitor: ResourceMonitor, caplog: pytest.LogCaptureFixture
) -> None:
    # The path is the client's: a newline would forge a log line, an escape sequence drive the terminal, and
    # a long one flood the log; a token in it is a secret like any other.
    class Exploding(ListLogger):
        def names(self) -> list[str]:
            raise KeyError("names")

    client = make_client(capture, Exploding(clock), clock, monitor, raise_server_exceptions=False)
    forged = "x%0A2025-01-01 CRITICAL forged%1B[2J%20api_key=PLANTED"
    with caplog.at_level(logging.ERROR, "otel_breakout.api"):
        assert client.get(f"/api/metrics/metric/{forged}").status_code == 500
    [record] = [r for r in caplog.records if r.name == "otel_breakout.api"]
    message = record.getMessage()
    assert "\n" not in message and "\x1b" not in message and "PLANTED" not in message
    assert "CRITICAL forged\\x1b[2J api_key=[REDACTED]" in message


# --- token ----------------------------------------------------------------------------------------


def test_token_guards_every_route_but_scrape_and_health(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    client = make_client(capture, logger, clock, monitor, token=TOKEN)
    assert client.get("/api/metrics").status_code == 200
    assert client.get("/api/metrics/health").status_code == 200
    for path in ("/api/metrics/summary", "/api/metrics/performance", "/api/metrics/all", "/api/metrics/metric/x"):
        response = client.get(path)
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")
        wrong = {"Authorization": "Bearer wrong-token-of-some-length"}
        assert_error(client.get(path, headers=wrong), 401, "unauthorized")
        assert_error(client.get(path, headers={"Authorization": f"Basic {TOKEN}"}), 401, "unauthorized")
        assert_error(client.get(path, headers={"Authorization": TOKEN}), 401, "unauthorized")
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/metrics/summary", headers=good).status_code == 200
    assert client.get("/api/metrics/summary", headers={"authorization": f"bearer  {TOKEN} "}).status_code == 200
    assert_error(client.post("/api/metrics/snapshot"), 401, "unauthorized")
    # Without the token an unknown path is refused like any other: the route list is not probed for free.
    assert_error(client.get("/nope"), 401, "unauthorized")
    assert_error(client.get("/nope", headers=good), 404, "not_found")


def test_token_comes_from_the_environment(clock: Clock) -> None:
    capture = capture_telemetry(environ={"OTEL_BREAKOUT_API_TOKEN": TOKEN})
    try:
        client = make_client(capture, MetricsLogger(capture.telemetry), clock, calm_monitor(capture.telemetry))
        assert_error(client.get("/api/metrics/summary"), 401, "unauthorized")
        assert client.get("/api/metrics/summary", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    finally:
        capture.close()


def test_a_short_token_is_refused(capture: TelemetryCapture, logger: MetricsLogger, monitor: ResourceMonitor) -> None:
    with pytest.raises(ConfigError, match="at least 16 characters") as caught:
        create_app(capture.telemetry, metrics_logger=logger, resource_monitor=monitor, token="hunter2")
    assert "hunter2" not in str(caught.value)


def test_snapshot_is_refused_without_a_configured_token(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    snapshots = Snapshots()
    client = make_client(capture, logger, clock, monitor, snapshots=snapshots)
    body = assert_error(client.post("/api/metrics/snapshot"), 403, "forbidden")
    assert "OTEL_BREAKOUT_API_TOKEN" in body["detail"]
    assert snapshots.calls == []


def test_snapshot_with_the_token(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    snapshots = Snapshots()
    client = make_client(capture, logger, clock, monitor, token=TOKEN, snapshots=snapshots)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = client.post("/api/metrics/snapshot?top=3", headers=headers)
    assert response.status_code == 200 and response.json()["top"] == 3
    assert snapshots.calls == [(None, 3)]
    assert_error(client.post("/api/metrics/snapshot?top=501", headers=headers), 422, "invalid_parameter")


def test_snapshot_by_default_is_the_real_one(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    client = make_client(capture, logger, clock, monitor, token=TOKEN)
    response = client.post("/api/metrics/snapshot?top=3", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    body = response.json()
    assert body["path"] is None and body["pid"] == os.getpid() and len(body["largest_containers"]) == 3


# --- defaults, mounting and tracing ---------------------------------------------------------------


def test_defaults_are_the_process_wide_objects(capture: TelemetryCapture, clock: Clock) -> None:
    from otel_breakout.metrics import _logger, _monitor

    try:
        client = TestClient(create_app(capture.telemetry, clock=clock))
        assert client.get("/api/metrics/summary").json()["engine"]["cycles"] == 0
        assert client.get("/api/metrics/performance").status_code == 200
        assert client.get("/api/metrics/health").status_code in (200, 503)  # the real machine decides
    finally:
        _logger._reset_for_tests()
        _monitor._reset_for_tests()


def test_mounted_inside_a_users_app(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    inner = create_app(capture.telemetry, metrics_logger=logger, resource_monitor=monitor, token=TOKEN, clock=clock)
    client = TestClient(Starlette(routes=[Mount("/bot", app=inner)]))
    assert client.get("/bot/api/metrics/health").status_code == 200
    assert client.get("/bot/api/metrics").status_code == 200
    assert_error(client.get("/bot/api/metrics/summary"), 401, "unauthorized")
    assert client.get("/bot/api/metrics/summary", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    spans = [s.name for s in capture.spans()]
    assert "GET /api/metrics/health" in spans and "GET /api/metrics/summary" in spans
    assert not any(name == "GET /api/metrics" for name in spans)


def test_requests_are_traced_by_route_and_scrapes_are_not(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    client = make_client(capture, logger, clock, monitor)
    client.get("/api/metrics")
    traceparent = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    client.get("/api/metrics/metric/breakout.equity", headers={"traceparent": traceparent})
    client.get("/no/such/route")
    spans = capture.spans()
    assert [s.name for s in spans] == ["GET /api/metrics/metric/{name}", "GET"]
    traced = spans[0]
    assert traced.context is not None and traced.context.trace_id == int("a" * 32, 16)
    assert traced.attributes is not None and traced.attributes["http.route"] == "/api/metrics/metric/{name}"
    assert spans[1].attributes is not None and spans[1].attributes["http.status_code"] == 404


def test_tracing_can_be_turned_off(
    capture: TelemetryCapture, logger: MetricsLogger, clock: Clock, monitor: ResourceMonitor
) -> None:
    app = create_app(capture.telemetry, metrics_logger=logger, resource_monitor=monitor, trace_requests=False)
    TestClient(app).get("/api/metrics/health")
    assert capture.spans() == []


def test_captured_headers_never_carry_the_token(
    capture: TelemetryCapture,
    logger: MetricsLogger,
    clock: Clock,
    monitor: ResourceMonitor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The ASGI instrumentation reads this variable itself; a user may well set it to capture everything.
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", ".*")
    client = make_client(capture, logger, clock, monitor, token=TOKEN)
    assert client.get("/api/metrics/summary", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    (span,) = capture.spans()
    assert span.attributes is not None
    assert span.attributes["http.request.header.authorization"] == ("[REDACTED]",)
    assert TOKEN not in repr(dict(span.attributes))
