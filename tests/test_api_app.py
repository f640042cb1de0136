from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from otel_breakout import ConfigError
from otel_breakout._internal import set_internal_errors_raise
from otel_breakout.api import create_app
from otel_breakout.testing import TelemetryCapture, capture_telemetry
from tests.support.sources import Clock, FixedMonitor, ListLogger

TOKEN = "correct-horse-battery-staple"
ERROR_KEYS = {"error", "detail"}


class Snapshots:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, int]] = []

    def __call__(self, path: Any = None, *, top: int = 25) -> dict[str, Any]:
        self.calls.append((path, top))
        return {"path": None, "top": [{"file": "bot.py:1", "size_kib": 1.0}][:top], "total_kib": 1.0}


@pytest.fixture
def capture() -> Iterator[TelemetryCapture]:
    capture = capture_telemetry()
    yield capture
    capture.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logger(clock: Clock) -> ListLogger:
    logger = ListLogger(clock)
    for i in range(5):
        logger.record("breakout.engine.cycle.duration", 0.01 * (i + 1), ts=clock.now - 50 + i)
    logger.record("breakout.trade.pnl", -3.5, ts=clock.now - 10, strategy="momentum")
    logger.record("custom.latency", float("nan"), ts=clock.now - 1)
    logger.last_cycle_end = clock.now - 2
    return logger


def make_client(
    capture: TelemetryCapture,
    logger: ListLogger | None,
    clock: Clock,
    *,
    monitor: FixedMonitor | None = None,
    token: str | None = None,
    snapshots: Snapshots | None = None,
    raise_server_exceptions: bool = True,
) -> TestClient:
    app = create_app(
        capture.telemetry,
        metrics_logger=logger,
        resource_monitor=monitor if monitor is not None else FixedMonitor(),
        token=token,
        snapshot=snapshots if snapshots is not None else Snapshots(),
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
    capture: TelemetryCapture, logger: ListLogger, clock: Clock
) -> None:
    capture.telemetry.get_meter().create_counter("breakout.engine.cycles", unit="{cycle}", description="Cycles.").add(7)
    response = make_client(capture, logger, clock).get("/api/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    (sample,) = families["breakout_engine_cycles"].samples
    assert sample.name == "breakout_engine_cycles_total" and sample.value == 7.0
    assert "target_info" in families


def test_metrics_negotiates_openmetrics(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    capture.telemetry.get_meter().create_counter("breakout.engine.cycles", unit="{cycle}").add(1)
    prometheus_accept = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
        "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    response = make_client(capture, logger, clock).get("/api/metrics", headers={"Accept": prometheus_accept})
    assert response.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert response.text.endswith("# EOF\n")
    assert "accept" in response.headers["vary"].lower()


def test_metrics_is_gzipped_when_accepted(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    capture.telemetry.get_meter().create_counter("breakout.engine.cycles").add(1)
    client = make_client(capture, logger, clock)
    zipped = client.get("/api/metrics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "breakout_engine_cycles_total" in zipped.text  # httpx decompressed it
    plain = client.get("/api/metrics", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_metrics_is_503_without_a_pull_reader(logger: ListLogger, clock: Clock) -> None:
    capture = capture_telemetry(metrics_exporter="none")
    try:
        body = assert_error(make_client(capture, logger, clock).get("/api/metrics"), 503, "unavailable")
        assert "OTEL_METRICS_EXPORTER" in body["detail"]
    finally:
        capture.close()


# --- JSON routes ----------------------------------------------------------------------------------


def test_summary(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    response = make_client(capture, logger, clock).get("/api/metrics/summary")
    assert response.status_code == 200
    assert response.json() == {
        "generated_at": clock.now,
        "engine": {"cycles": 5},
        "trading": {"trades": 1},
        "scanner": {"scans": 0},
    }


def test_performance(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    body = make_client(capture, logger, clock).get("/api/metrics/performance?minutes=15").json()
    assert set(body) == {"generated_at", "current", "window_minutes", "summary"}
    assert body["window_minutes"] == 15 and body["summary"]["minutes"] == 15
    assert set(body["current"]) == {
        "timestamp", "cpu_percent", "memory_percent", "memory_used_mb", "memory_available_mb",
        "disk_usage_percent", "disk_free_gb", "active_threads", "open_files", "network_connections",
    }  # fmt: skip
    assert body["current"]["cpu_percent"] == 12.5


def test_metric_by_otel_and_prometheus_name(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    client = make_client(capture, logger, clock)
    body = client.get("/api/metrics/metric/breakout.engine.cycle.duration").json()
    assert body["name"] == "breakout.engine.cycle.duration"
    assert body["prometheus_name"] == "breakout_engine_cycle_duration_seconds"
    assert body["kind"] == "histogram" and body["unit"] == "s" and body["description"]
    assert body["total"] == 5
    assert [s["value"] for s in body["samples"]] == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])
    assert body["samples"][0] == {"ts": clock.now - 50, "value": 0.01, "attributes": {}}
    same = client.get("/api/metrics/metric/breakout_engine_cycle_duration_seconds").json()
    assert same == body


def test_metric_limit_and_since(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    client = make_client(capture, logger, clock)
    last_two = client.get("/api/metrics/metric/breakout.engine.cycle.duration?limit=2").json()["samples"]
    assert [s["ts"] for s in last_two] == [clock.now - 47, clock.now - 46]
    since = client.get(f"/api/metrics/metric/breakout.engine.cycle.duration?since={clock.now - 48}").json()
    assert [s["ts"] for s in since["samples"]] == [clock.now - 48, clock.now - 47, clock.now - 46]
    assert since["total"] == 5


def test_metric_tracked_outside_the_catalogue_and_nan(
    capture: TelemetryCapture, logger: ListLogger, clock: Clock
) -> None:
    body = make_client(capture, logger, clock).get("/api/metrics/metric/custom.latency").json()
    assert body["prometheus_name"] is None and body["kind"] is None
    assert body["samples"] == [{"ts": clock.now - 1, "value": None, "attributes": {}}]


def test_catalogue_metric_with_no_samples_yet(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    body = make_client(capture, logger, clock).get("/api/metrics/metric/breakout.equity").json()
    assert body["total"] == 0 and body["samples"] == []


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("nope", "unknown_metric"),
        ("breakout.engine.cycle.duration.x", "unknown_metric"),
        ("x" * 300, "unknown_metric"),
        ("%00", "unknown_metric"),
        ("..%2F..%2Fetc", "not_found"),  # the slash splits the path: no route matches at all
    ],
)
def test_unknown_metric_is_404(
    capture: TelemetryCapture, logger: ListLogger, clock: Clock, name: str, error: str
) -> None:
    assert_error(make_client(capture, logger, clock).get(f"/api/metrics/metric/{name}"), 404, error)


def test_all(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    client = make_client(capture, logger, clock)
    body = client.get("/api/metrics/all").json()
    assert set(body) == {"generated_at", "metrics"}
    assert list(body["metrics"]) == ["breakout.engine.cycle.duration", "breakout.trade.pnl", "custom.latency"]
    assert body["metrics"]["breakout.trade.pnl"] == [
        {"ts": clock.now - 10, "value": -3.5, "attributes": {"strategy": "momentum"}}
    ]
    limited = client.get("/api/metrics/all?limit=1").json()["metrics"]
    assert [len(v) for v in limited.values()] == [1, 1, 1]
    assert client.get(f"/api/metrics/all?since={clock.now - 5}").json()["metrics"]["breakout.trade.pnl"] == []


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
    capture: TelemetryCapture, logger: ListLogger, clock: Clock, url: str, parameter: str
) -> None:
    body = assert_error(make_client(capture, logger, clock).get(url), 422, "invalid_parameter")
    assert body["parameter"] == parameter
    assert parameter in body["detail"]


def test_routes_without_a_logger_or_monitor_are_503(capture: TelemetryCapture, clock: Clock) -> None:
    app = create_app(capture.telemetry, metrics_logger=None, resource_monitor=None, clock=clock)
    client = TestClient(app)
    for path in ("/api/metrics/summary", "/api/metrics/all", "/api/metrics/metric/breakout.equity"):
        if app.state is not None and client.get(path).status_code == 200:
            continue  # the metrics part's process-wide logger is installed
        assert_error(client.get(path), 503, "unavailable")
    assert_error(client.get("/api/metrics/performance"), 503, "unavailable")
    assert client.get("/api/metrics/health").status_code == 200


# --- health ---------------------------------------------------------------------------------------


def test_health_ok(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    response = make_client(capture, logger, clock).get("/api/metrics/health")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "ok",
        "generated_at": clock.now,
        "uptime_s": 0.0,
        "issues": [],
        "metrics": {"cpu_percent": 12.5},
        "engine": {"last_cycle_age_s": 2.0, "warning_after_s": 60.0, "critical_after_s": 180.0},
        "limits": None,
        "monitor": None,
    }


def test_health_degraded_by_the_monitor_is_200(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    issue = {"check": "memory_percent", "value": 88.0, "limit": 85.0, "severity": "warning", "message": "high"}
    response = make_client(capture, logger, clock, monitor=FixedMonitor("degraded", [issue])).get("/api/metrics/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded" and response.json()["issues"] == [issue]


def test_health_critical_is_503(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    issue = {"check": "disk_usage_percent", "value": 97.0, "limit": 95.0, "severity": "critical", "message": "full"}
    response = make_client(capture, logger, clock, monitor=FixedMonitor("critical", [issue])).get("/api/metrics/health")
    assert response.status_code == 503
    assert response.json()["status"] == "critical"


def test_a_stalled_engine_is_unhealthy_while_the_process_is_fine(
    capture: TelemetryCapture, logger: ListLogger, clock: Clock
) -> None:
    client = make_client(capture, logger, clock)
    logger.last_cycle_end = clock.now - 90
    degraded = client.get("/api/metrics/health")
    assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
    (issue,) = degraded.json()["issues"]
    assert issue["check"] == "engine_cycle_age" and issue["value"] == 90.0 and issue["limit"] == 60.0
    assert issue["severity"] == "warning"
    logger.last_cycle_end = clock.now - 600
    critical = client.get("/api/metrics/health")
    assert critical.status_code == 503 and critical.json()["issues"][0]["severity"] == "critical"


def test_an_engine_that_never_cycles_becomes_critical(capture: TelemetryCapture, clock: Clock) -> None:
    logger = ListLogger(clock)
    client = make_client(capture, logger, clock)
    assert client.get("/api/metrics/health").json()["status"] == "ok"  # still starting
    clock.now += 200
    response = client.get("/api/metrics/health")
    assert response.status_code == 503
    assert response.json()["engine"]["last_cycle_age_s"] is None
    assert "no engine cycle yet" in response.json()["issues"][0]["message"]


def test_health_without_the_engine_check(capture: TelemetryCapture, clock: Clock) -> None:
    app = create_app(capture.telemetry, metrics_logger=ListLogger(clock), engine_check=False, clock=clock)
    clock.now += 10_000
    response = TestClient(app).get("/api/metrics/health")
    assert response.status_code == 200 and response.json()["engine"] is None


def test_a_failing_monitor_degrades_health_without_leaking(
    capture: TelemetryCapture, logger: ListLogger, clock: Clock
) -> None:
    class Broken(FixedMonitor):
        def get_health_status(self) -> dict[str, Any]:
            raise RuntimeError("secret internals /home/bot/keys")

    previous = set_internal_errors_raise(False)
    try:
        response = make_client(capture, logger, clock, monitor=Broken()).get("/api/metrics/health")
    finally:
        set_internal_errors_raise(previous)
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert "secret" not in response.text and response.json()["issues"][0]["check"] == "resource_monitor"


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api", "/api/metrics/nope", "/api/metrics/metric", "/favicon.ico"])
def test_unknown_routes_are_404_json(capture: TelemetryCapture, logger: ListLogger, clock: Clock, path: str) -> None:
    assert_error(make_client(capture, logger, clock).get(path), 404, "not_found")


def test_wrong_method_is_405_json(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    client = make_client(capture, logger, clock)
    body = assert_error(client.post("/api/metrics/health"), 405, "method_not_allowed")
    assert body["detail"]
    assert set(client.post("/api/metrics/health").headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert_error(client.get("/api/metrics/snapshot"), 405, "method_not_allowed")


def test_a_failing_route_is_500_json_without_a_traceback(capture: TelemetryCapture, clock: Clock) -> None:
    class Exploding(ListLogger):
        def summary(self) -> dict[str, Any]:
            raise KeyError("/home/bot/.secrets")

    client = make_client(capture, Exploding(clock), clock, raise_server_exceptions=False)
    response = client.get("/api/metrics/summary")
    body = assert_error(response, 500, "internal_error")
    assert "secrets" not in response.text and "KeyError" not in body["detail"]


# --- token ----------------------------------------------------------------------------------------


def test_token_guards_every_route_but_scrape_and_health(
    capture: TelemetryCapture, logger: ListLogger, clock: Clock
) -> None:
    client = make_client(capture, logger, clock, token=TOKEN)
    assert client.get("/api/metrics").status_code == 200
    assert client.get("/api/metrics/health").status_code == 200
    for path in ("/api/metrics/summary", "/api/metrics/performance", "/api/metrics/all", "/api/metrics/metric/x"):
        response = client.get(path)
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert_error(
            client.get(path, headers={"Authorization": "Bearer wrong-token-of-some-length"}), 401, "unauthorized"
        )
        assert_error(client.get(path, headers={"Authorization": f"Basic {TOKEN}"}), 401, "unauthorized")
        assert_error(client.get(path, headers={"Authorization": TOKEN}), 401, "unauthorized")
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/metrics/summary", headers=good).status_code == 200
    assert client.get("/api/metrics/summary", headers={"authorization": f"bearer  {TOKEN} "}).status_code == 200
    assert_error(client.post("/api/metrics/snapshot"), 401, "unauthorized")


def test_token_comes_from_the_environment(logger: ListLogger, clock: Clock) -> None:
    capture = capture_telemetry(environ={"OTEL_BREAKOUT_API_TOKEN": TOKEN})
    try:
        client = make_client(capture, logger, clock)
        assert_error(client.get("/api/metrics/summary"), 401, "unauthorized")
        assert client.get("/api/metrics/summary", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    finally:
        capture.close()


def test_a_short_token_is_refused(capture: TelemetryCapture) -> None:
    with pytest.raises(ConfigError, match="at least 16 characters") as caught:
        create_app(capture.telemetry, token="hunter2")
    assert "hunter2" not in str(caught.value)


def test_snapshot_is_refused_without_a_configured_token(
    capture: TelemetryCapture, logger: ListLogger, clock: Clock
) -> None:
    snapshots = Snapshots()
    body = assert_error(
        make_client(capture, logger, clock, snapshots=snapshots).post("/api/metrics/snapshot"), 403, "forbidden"
    )
    assert "OTEL_BREAKOUT_API_TOKEN" in body["detail"]
    assert snapshots.calls == []


def test_snapshot_with_the_token(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    snapshots = Snapshots()
    client = make_client(capture, logger, clock, token=TOKEN, snapshots=snapshots)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = client.post("/api/metrics/snapshot?top=3", headers=headers)
    assert response.status_code == 200 and response.json()["total_kib"] == 1.0
    assert snapshots.calls == [(None, 3)]
    assert_error(client.post("/api/metrics/snapshot?top=501", headers=headers), 422, "invalid_parameter")


# --- mounting and tracing -------------------------------------------------------------------------


def test_mounted_inside_a_users_app(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    inner = create_app(capture.telemetry, metrics_logger=logger, token=TOKEN, clock=clock)
    client = TestClient(Starlette(routes=[Mount("/bot", app=inner)]))
    assert client.get("/bot/api/metrics/health").status_code == 200
    assert client.get("/bot/api/metrics").status_code == 200
    assert_error(client.get("/bot/api/metrics/summary"), 401, "unauthorized")
    assert client.get("/bot/api/metrics/summary", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    spans = [s.name for s in capture.spans()]
    assert "GET /api/metrics/health" in spans and "GET /api/metrics/summary" in spans
    assert not any(name == "GET /api/metrics" for name in spans)


def test_requests_are_traced_by_route_and_scrapes_are_not(
    capture: TelemetryCapture, logger: ListLogger, clock: Clock
) -> None:
    client = make_client(capture, logger, clock)
    client.get("/api/metrics")
    client.get(
        "/api/metrics/metric/breakout.equity", headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    )
    client.get("/no/such/route")
    spans = capture.spans()
    assert [s.name for s in spans] == ["GET /api/metrics/metric/{name}", "GET"]
    traced = spans[0]
    assert traced.context is not None and traced.context.trace_id == int("a" * 32, 16)
    assert traced.attributes is not None and traced.attributes["http.route"] == "/api/metrics/metric/{name}"
    assert spans[1].attributes is not None and spans[1].attributes["http.status_code"] == 404


def test_tracing_can_be_turned_off(capture: TelemetryCapture, logger: ListLogger, clock: Clock) -> None:
    app = create_app(capture.telemetry, metrics_logger=logger, trace_requests=False, clock=clock)
    TestClient(app).get("/api/metrics/health")
    assert capture.spans() == []


def test_a_failing_cycle_age_degrades_health(capture: TelemetryCapture, clock: Clock) -> None:
    class Broken(ListLogger):
        def last_cycle_age(self, now: float | None = None) -> float | None:
            raise RuntimeError("lock poisoned")

    previous = set_internal_errors_raise(False)
    try:
        response = make_client(capture, Broken(clock), clock).get("/api/metrics/health")
    finally:
        set_internal_errors_raise(previous)
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["issues"][0]["check"] == "engine_cycle_age" and "poisoned" not in response.text


def test_captured_headers_never_carry_the_token(
    capture: TelemetryCapture, logger: ListLogger, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ASGI instrumentation reads this variable itself; a user may well set it to capture everything.
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", ".*")
    client = make_client(capture, logger, clock, token=TOKEN)
    assert client.get("/api/metrics/summary", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    (span,) = capture.spans()
    assert span.attributes is not None
    assert span.attributes["http.request.header.authorization"] == ("[REDACTED]",)
    assert TOKEN not in repr(dict(span.attributes))
