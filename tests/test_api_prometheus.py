"""A real Prometheus (2.42, as in CI) scrapes the API: it negotiates OpenMetrics and gzip, and ingests it all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from otel_breakout.api import ApiServer, create_app
from otel_breakout.metrics import MetricsLogger
from otel_breakout.testing import TelemetryCapture, capture_telemetry
from tests.support.prometheus import running_prometheus
from tests.support.sources import calm_monitor
from tests.support.waits import wait_for

TOKEN = "correct-horse-battery-staple"


class HeaderLog:
    """Remembers the request headers of every scrape, then hands the request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.scrapes: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/metrics":
            self.scrapes.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@pytest.fixture
def capture() -> Iterator[TelemetryCapture]:
    capture = capture_telemetry()
    yield capture
    capture.close()


@pytest.mark.integration
@pytest.mark.slow
def test_prometheus_scrapes_openmetrics_with_gzip(capture: TelemetryCapture, tmp_path: Path) -> None:
    logger = MetricsLogger(capture.telemetry)
    logger.end_cycle(0.03)
    logger.update_equity(900.0, peak=1000.0)
    # A token guards the JSON routes; the scrape needs none.
    app = HeaderLog(
        create_app(
            capture.telemetry, metrics_logger=logger, resource_monitor=calm_monitor(capture.telemetry), token=TOKEN
        )
    )
    with ApiServer(app, port=0) as server:
        config = f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: breakout-bot-api
    metrics_path: /api/metrics
    static_configs:
      - targets: ["127.0.0.1:{server.port}"]
"""
        with running_prometheus(tmp_path, config) as prometheus:

            def scraped() -> list[dict[str, Any]] | None:
                result = prometheus.query('breakout_engine_cycles_total{job="breakout-bot-api"}')
                return result or None

            (series,) = wait_for(scraped, timeout=30, what="the first scrape")
            assert float(series["value"][1]) == 1.0
            (target,) = prometheus.api("/api/v1/targets")["activeTargets"]
            assert target["health"] == "up" and target["lastError"] == ""
            (drawdown,) = prometheus.query('breakout_drawdown_ratio{job="breakout-bot-api"}')
            assert float(drawdown["value"][1]) == pytest.approx(0.1)
            assert prometheus.query('target_info{job="breakout-bot-api"}')
            buckets = prometheus.query('breakout_engine_cycle_duration_seconds_bucket{le="0.05"}')
            assert [float(b["value"][1]) for b in buckets] == [1.0]
    scrape = app.scrapes[0]
    assert scrape["accept"].startswith("application/openmetrics-text")
    assert "gzip" in scrape["accept-encoding"]
    assert "authorization" not in scrape
