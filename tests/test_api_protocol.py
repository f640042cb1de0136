"""Idle, half-sent and trickling connections against a real uvicorn on loopback: they time out, and health answers."""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack

import httpx

from otel_breakout.api import ApiServer, create_app
from otel_breakout.api._protocol import LimitedH11Protocol
from otel_breakout.metrics import MetricsLogger
from otel_breakout.testing import TelemetryCapture
from tests.support.sources import calm_monitor
from tests.support.waits import until

HALF_SENT = b"GET /api/metrics/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no blank line: the headers never end


def _server(capture: TelemetryCapture, **options: float) -> ApiServer:
    logger = MetricsLogger(capture.telemetry)
    logger.end_cycle(0.01)
    app = create_app(capture.telemetry, metrics_logger=logger, resource_monitor=calm_monitor(capture.telemetry))
    return ApiServer(app, port=0, **options)  # type: ignore[arg-type]  # float options only


def _connect(server: ApiServer, stack: ExitStack, payload: bytes = b"") -> socket.socket:
    sock = stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=5))
    if payload:
        sock.sendall(payload)
    return sock


def _closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """True when the server closes the connection within ``within_s`` (reads until EOF or the deadline)."""
    sock.settimeout(within_s)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def _accepted(server: ApiServer) -> int:
    # Connections the server's protocol took over (accepted, not merely queued by the kernel): open, or closed by
    # the server since. These tests' clients never hang up first.
    protocol = server._config.http
    assert isinstance(protocol, type) and issubclass(protocol, LimitedH11Protocol)
    limits = protocol.limits
    return len(limits.open) + limits.closed_idle + limits.closed_slow + limits.refused


def test_health_answers_json_while_300_connections_sit_idle_or_half_sent(capture: TelemetryCapture) -> None:
    with _server(capture) as server, ExitStack() as stack:
        for i in range(300):
            _connect(server, stack, HALF_SENT if i % 2 else b"")
        until(lambda: _accepted(server) == 300, what="the server to accept all 300")
        health = httpx.get(server.url + "/api/metrics/health", timeout=10)
        assert health.status_code == 200, health.text
        assert health.headers["content-type"] == "application/json"
        assert health.json()["status"] == "ok"


def test_idle_half_sent_and_trickling_connections_are_closed_at_the_request_deadline(
    capture: TelemetryCapture,
) -> None:
    with _server(capture, request_timeout_s=0.5) as server, ExitStack() as stack:
        idle = _connect(server, stack)
        half = _connect(server, stack, HALF_SENT)
        trickle = _connect(server, stack, b"GET /api/metrics/health HTTP/1.1\r\n")
        started = time.monotonic()
        # One header byte every 0.1 s: each byte arrives well within any per-read timeout, the request never does.
        while time.monotonic() - started < 1.5:
            try:
                trickle.sendall(b"X")
            except OSError:
                break
            time.sleep(0.1)
        assert _closed_by_server(trickle, within_s=0.1)
        assert _closed_by_server(idle, within_s=0.1)
        assert _closed_by_server(half, within_s=0.1)
        # A prompt client is not affected: a request, then another on the same connection after a pause.
        with httpx.Client(base_url=server.url) as client:
            assert client.get("/api/metrics/health").status_code == 200
            time.sleep(0.3)
            assert client.get("/api/metrics/health").status_code == 200


def test_a_new_connection_beyond_the_limit_closes_the_oldest_idle_one(capture: TelemetryCapture) -> None:
    with _server(capture, limit_concurrency=3) as server, ExitStack() as stack:
        oldest, *others = [_connect(server, stack) for _ in range(3)]
        until(lambda: _accepted(server) == 3, what="the server to accept the first three")
        health = httpx.get(server.url + "/api/metrics/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert _closed_by_server(oldest, within_s=2)
        for sock in others:
            assert not _closed_by_server(sock, within_s=0.05)
