"""The real demo as a Prometheus scrape target: ``otel-breakout demo`` on a free loopback port."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from tests.support.demo import running_demo
from tests.support.simulated_bot import Scenario, ScrapeTarget

__all__ = ["demo_bot"]

# The stack's scenarios as demo scenarios. The healthy bot scans more symbols, so that it signals on
# nearly every cycle and never looks starved by chance.
_DEMO = {"normal": ("default", "400"), "starved": ("starved", "200")}


@contextmanager
def demo_bot(scenario: Scenario) -> Iterator[ScrapeTarget]:
    name, symbols = _DEMO[scenario]
    with tempfile.TemporaryDirectory(prefix=f"demo-{name}-") as tmp:
        args = ["--scenario", name, "--symbols", symbols, "--speed", "10", "--duration", "900"]
        with running_demo(Path(tmp), args) as demo:
            url = urlparse(demo.api_url)
            yield ScrapeTarget(url.netloc, "/api/metrics", scenario)
