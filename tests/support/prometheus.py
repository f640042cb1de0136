"""Real Prometheus and Alertmanager processes on loopback for integration tests, and a webhook sink."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.support.binaries import free_port, require_binary
from tests.support.waits import wait_for

__all__ = ["Alertmanager", "Prometheus", "WebhookSink", "running_alertmanager", "running_prometheus", "webhook_sink"]


@contextmanager
def _process(argv: list[str], log: Path, ready_url: str, name: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    try:

        def ready() -> bool | None:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{log.read_text()[-4000:]}")
            try:
                return True if httpx.get(ready_url, timeout=1).status_code == 200 else None
            except httpx.TransportError:
                return None

        wait_for(ready, timeout=30, what=f"{name} to be ready ({log})")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Prometheus:
    url: str
    log: Path
    # One keep-alive connection for the hundreds of queries a test sends (a new one each costs more than
    # most queries do).
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def _get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(f"{self.url}{path}", params=params)

    def api(self, path: str, **params: Any) -> Any:
        """GET an API path; the ``data`` of a successful answer, or AssertionError with Prometheus' error."""
        response = self._get(path, **params)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("/api/v1/query", query=expr)
        result = data["result"]
        if data["resultType"] == "scalar":
            return [{"value": result}]
        return list(result)

    def query_range(self, expr: str, seconds: float, step: str = "1s") -> list[dict[str, Any]]:
        end = time.time()
        return list(self.api("/api/v1/query_range", query=expr, start=end - seconds, end=end, step=step)["result"])


@contextmanager
def running_prometheus(tmp_path: Path, config: str) -> Iterator[Prometheus]:
    """Prometheus (the Debian 2.42 package in CI) with ``config``, on a free loopback port."""
    binary = require_binary("prometheus")
    port = free_port()
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(config)
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with _process(argv, tmp_path / "prometheus.log", f"{url}/-/ready", "prometheus"):
        prometheus = Prometheus(url, tmp_path / "prometheus.log")
        try:
            yield prometheus
        finally:
            prometheus.client.close()


@dataclass
class Alertmanager:
    url: str
    address: str
    log: Path

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds (API v2), filtered by label equality."""
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("filter", f'{k}="{v}"') for k, v in filters.items()
        ]
        params += [("silenced", True), ("inhibited", True), ("active", True)]
        response = httpx.get(f"{self.url}/api/v2/alerts", params=params, timeout=10)
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()
        return alerts

    def post(self, *alerts: dict[str, Any]) -> None:
        response = httpx.post(f"{self.url}/api/v2/alerts", json=list(alerts), timeout=10)
        response.raise_for_status()


@contextmanager
def running_alertmanager(tmp_path: Path, config: str) -> Iterator[Alertmanager]:
    """Alertmanager (Debian's ``prometheus-alertmanager`` in CI) with ``config``, clustering off."""
    binary = require_binary("prometheus-alertmanager", "alertmanager")
    port = free_port()
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(config)
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.path={tmp_path / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    with _process(argv, tmp_path / "alertmanager.log", f"{url}/-/ready", "alertmanager"):
        yield Alertmanager(url, f"127.0.0.1:{port}", tmp_path / "alertmanager.log")


@dataclass
class WebhookSink:
    """Collects the JSON bodies Alertmanager posts to a webhook receiver."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notifications(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received)


@contextmanager
def webhook_sink(path: str = "/alertmanager") -> Iterator[WebhookSink]:
    sink_holder: list[WebhookSink] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path != path:
                self.send_error(404)
                return
            with sink_holder[0].lock:
                sink_holder[0].received.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    sink_holder.append(WebhookSink(f"http://{host!s}:{port}{path}"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield sink_holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
