"""The real demo as a Prometheus scrape target: ``otel-breakout demo`` on a free loopback port."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from tests.support.demo import demo_env, running_demo

__all__ = ["ENVIRONMENT", "Scenario", "ScrapeTarget", "demo_bot"]

Scenario = Literal["normal", "starved"]

# The stack's scenarios as demo scenarios. The healthy bot scans more symbols, so that it signals on
# nearly every cycle and never looks starved by chance.
_DEMO = {"normal": ("default", "400"), "starved": ("starved", "200")}
# deployment.environment.name of every test bot.
ENVIRONMENT = "stack-test"


@dataclass(frozen=True, slots=True)
class ScrapeTarget:
    """Where Prometheus finds a bot: ``http://<address><metrics_path>``."""

    address: str
    metrics_path: str = "/api/metrics"
    scenario: str = "normal"
    service_name: str = "breakout-bot"  # OTEL_SERVICE_NAME of the bot: the name dashboards select it by


@contextmanager
def demo_bot(scenario: Scenario, *, service_name: str = "breakout-bot") -> Iterator[ScrapeTarget]:
    """The demo in ``scenario``, running as ``service_name`` (OTEL_SERVICE_NAME) in :data:`ENVIRONMENT`."""
    name, symbols = _DEMO[scenario]
    env = demo_env(
        OTEL_SERVICE_NAME=service_name, OTEL_RESOURCE_ATTRIBUTES=f"deployment.environment.name={ENVIRONMENT}"
    )
    with tempfile.TemporaryDirectory(prefix=f"demo-{name}-") as tmp:
        args = ["--scenario", name, "--symbols", symbols, "--speed", "10", "--duration", "900"]
        with running_demo(Path(tmp), args, env=env) as demo:
            url = urlparse(demo.api_url)
            yield ScrapeTarget(url.netloc, "/api/metrics", scenario, service_name)
