from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as _parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from otel_breakout.api import ApiServer, create_app
from otel_breakout.metrics import MetricsLogger
from otel_breakout.testing import TelemetryCapture
from tests.support.sources import FixedMonitor, calm_monitor

TOKEN = "correct-horse-battery-staple"


def parse_openmetrics(text: str) -> Iterator[Metric]:
    families: Iterator[Metric] = _parse_openmetrics(text)  # type: ignore[no-untyped-call]  # untyped upstream
    return families


PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


class SlowSnapshots:
    def __init__(self) -> None:
        self.started = threading.Event()

    def __call__(self, path: Any = None, *, top: int = 25) -> dict[str, Any]:
        self.started.set()
        time.sleep(0.5)
        return {"path": None, "top": [], "total_kib": 0.0}


@pytest.fixture
def capture(capture: TelemetryCapture) -> TelemetryCapture:
    # The bot's own instrument, beside the logger's: a label value that needs escaping on the wire.
    own = capture.telemetry.get_meter("my_bot")
    own.create_gauge("my_bot.balance", "{quote}", "Balance by account.").set(10_250.5, {"account": 'main "A"'})
    return capture


@pytest.fixture
def logger(capture: TelemetryCapture) -> MetricsLogger:
    logger = MetricsLogger(capture.telemetry)
    for value in (0.002, 0.04, 0.3):
        logger.end_cycle(value)
    return logger


@pytest.fixture
def snapshots() -> SlowSnapshots:
    return SlowSnapshots()


@pytest.fixture
def server(capture: TelemetryCapture, logger: MetricsLogger, snapshots: SlowSnapshots) -> Iterator[ApiServer]:
    monitor = calm_monitor(capture.telemetry)
    app = create_app(
        capture.telemetry, metrics_logger=logger, resource_monitor=monitor, token=TOKEN, snapshot=snapshots
    )
    with ApiServer(app, port=0) as server:
        yield server


def test_binds_loopback_on_a_free_port(server: ApiServer) -> None:
    assert server.host == "127.0.0.1" and server.port > 0 and server.running
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_text_exposition_over_http(server: ApiServer) -> None:
    response = httpx.get(server.url + "/api/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "server" not in response.headers  # no version advertised
    families = {family.name: family for family in parse_text(response.text)}
    assert families["breakout_engine_cycles"].samples[0].value == 3.0
    duration = families["breakout_engine_cycle_duration_seconds"]
    count = [s for s in duration.samples if s.name.endswith("_count")]
    assert count[0].value == 3.0
    balance = families["my_bot_balance"].samples[0]
    assert balance.value == 10_250.5 and balance.labels["account"] == 'main "A"'


def test_openmetrics_over_http(server: ApiServer) -> None:
    response = httpx.get(server.url + "/api/metrics", headers={"Accept": PROMETHEUS_ACCEPT})
    assert response.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    families = {family.name: family for family in parse_openmetrics(response.text)}
    assert families["breakout_engine_cycle_duration_seconds"].unit == "seconds"
    assert families["breakout_engine_cycles"].type == "counter"


def test_gzip_over_http(server: ApiServer) -> None:
    with (
        httpx.Client() as client,
        client.stream("GET", server.url + "/api/metrics", headers={"Accept-Encoding": "gzip"}) as response,
    ):
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert raw[:2] == b"\x1f\x8b"
    assert b"breakout_engine_cycles_total" in gzip.decompress(raw)


def test_health_and_errors_over_http(server: ApiServer) -> None:
    health = httpx.get(server.url + "/api/metrics/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    missing = httpx.get(server.url + "/nope", headers={"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    # Without the token, an unknown path is refused like any other: the route list is not probed for free.
    assert httpx.get(server.url + "/nope").status_code == 401
    refused = httpx.get(server.url + "/api/metrics/summary")
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"


def test_stop_lets_a_request_in_flight_finish(server: ApiServer, snapshots: SlowSnapshots) -> None:
    result: dict[str, Any] = {}

    def ask() -> None:
        response = httpx.post(server.url + "/api/metrics/snapshot", headers={"Authorization": f"Bearer {TOKEN}"})
        result["status"] = response.status_code

    thread = threading.Thread(target=ask)
    thread.start()
    assert snapshots.started.wait(5)
    server.stop()
    thread.join(5)
    assert result == {"status": 200}
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/api/metrics/health")
    server.stop()  # twice is fine


def test_a_busy_port_fails_start_in_the_callers_thread(
    server: ApiServer, capture: TelemetryCapture, logger: MetricsLogger
) -> None:
    clash = ApiServer(
        create_app(capture.telemetry, metrics_logger=logger, resource_monitor=FixedMonitor()), port=server.port
    )
    with pytest.raises(OSError):
        clash.start()
    assert threading.active_count() < 50


def test_start_twice_is_refused(server: ApiServer) -> None:
    with pytest.raises(RuntimeError, match="already started"):
        server.start()


def test_ipv6_loopback(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    app = create_app(capture.telemetry, metrics_logger=logger, resource_monitor=calm_monitor(capture.telemetry))
    try:
        server = ApiServer(app, host="::1", port=0).start()
    except OSError as exc:
        pytest.skip(f"IPv6 loopback unavailable: {exc}")
    try:
        assert server.url.startswith("http://[::1]:")
        assert httpx.get(server.url + "/api/metrics/health").status_code == 200
    finally:
        server.stop()


def test_one_snapshot_at_a_time(server: ApiServer, snapshots: SlowSnapshots) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    first: dict[str, int] = {}
    thread = threading.Thread(
        target=lambda: first.update(
            status=httpx.post(server.url + "/api/metrics/snapshot", headers=headers).status_code
        )
    )
    thread.start()
    assert snapshots.started.wait(5)
    second = httpx.post(server.url + "/api/metrics/snapshot", headers=headers)
    thread.join(5)
    assert first == {"status": 200}
    assert second.status_code == 429 and second.json()["error"] == "busy"
    assert second.headers["retry-after"] == "5"
