from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time

import httpx
import pytest

from tests.support.binaries import free_port, venv_bin
from tests.support.outage import black_hole

TOKEN = "correct-horse-battery-staple"


def wait_for(url: str, process: subprocess.Popen[str], timeout: float = 20.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                out, err = process.communicate(timeout=5)
                raise AssertionError(f"serve did not answer; exit {process.returncode}\n{out}\n{err}") from None
            time.sleep(0.1)


def _serve(port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [venv_bin("otel-breakout"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_serve_runs_the_api_and_stops_on_sigterm() -> None:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OTEL_BREAKOUT_API_TOKEN": TOKEN,
        "OTEL_SERVICE_NAME": "serve-test",
        # The real monitor judges this (busy, shared) machine: limits it cannot exceed keep the test stable.
        "OTEL_BREAKOUT_RESOURCE_MAX_CPU_PERCENT": "100",
        "OTEL_BREAKOUT_RESOURCE_MAX_MEMORY_PERCENT": "100",
        "OTEL_BREAKOUT_RESOURCE_MAX_DISK_PERCENT": "100",
        "OTEL_BREAKOUT_RESOURCE_AUTO_OPTIMIZE": "false",
    }
    process = _serve(port, env)
    try:
        base = f"http://127.0.0.1:{port}"
        health = wait_for(base + "/api/metrics/health", process)
        assert health.status_code == 200, health.text
        assert health.json()["engine"] is None and health.json()["monitor"]["running"] is True
        # The process-wide logger and the started monitor report through the pull reader.
        metrics = httpx.get(base + "/api/metrics").text
        assert 'service_name="serve-test"' in metrics
        assert "process_thread_count{" in metrics and "breakout_engine_cycles_total{" in metrics
        assert httpx.get(base + "/api/metrics/summary").status_code == 401
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_serve_exits_within_5_s_of_sigterm_with_a_black_holed_collector() -> None:
    port = free_port()
    waiting = threading.Event()
    with black_hole(waiting) as endpoint:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "OTEL_BREAKOUT_API_TOKEN": TOKEN,
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_METRIC_EXPORT_INTERVAL": "500",  # the periodic export is waiting on the black hole
            "OTEL_BREAKOUT_RESOURCE_AUTO_OPTIMIZE": "false",
        }
        process = _serve(port, env)
        try:
            wait_for(f"http://127.0.0.1:{port}/api/metrics/health", process)
            assert waiting.wait(20), "no export reached the black hole"
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=20)
            took = time.monotonic() - sent
            assert process.returncode == 0, err
            assert took < 5.0, (took, err)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_serve_refuses_a_bad_port() -> None:
    result = subprocess.run(
        [venv_bin("otel-breakout"), "serve", "--port", "70000"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "70000" in result.stderr


def test_serve_refuses_a_short_token() -> None:
    result = subprocess.run(
        [venv_bin("otel-breakout"), "serve"],
        env={"PATH": os.environ.get("PATH", ""), "OTEL_BREAKOUT_API_TOKEN": "short"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "OTEL_BREAKOUT_API_TOKEN" in result.stderr and "short" not in result.stderr


def test_serve_reports_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [venv_bin("otel-breakout"), "serve", "--port", str(port)],
            env={"PATH": os.environ.get("PATH", "")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on http://127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
