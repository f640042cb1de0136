"""The Prometheus pull reader: metrics collected on demand and rendered as exposition text.

``configure()`` opens no listener; the text is served by the API (``/api/metrics``) or read with
``Telemetry.prometheus_text()``. Each reader has its own registry, so several ``Telemetry`` handles
(tests, several bots in one process) never mix their series.
"""

from __future__ import annotations

import threading

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics.export import CardinalityLimits
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

__all__ = ["PrometheusPullReader"]


class PrometheusPullReader(PrometheusMetricReader):
    """A pull reader with a private registry and a render lock."""

    def __init__(self, *, cardinality_limits: CardinalityLimits | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        super().__init__(registry=self.registry, cardinality_limits=cardinality_limits)
        # The underlying collector keeps collected batches in a shared deque: two concurrent scrapes
        # would steal each other's data, so renders take turns.
        self._render_lock = threading.Lock()

    def render(self, *, openmetrics: bool = False) -> bytes:
        with self._render_lock:
            if openmetrics:
                text: bytes = generate_openmetrics(self.registry)  # type: ignore[no-untyped-call]  # untyped upstream
                return text
            return generate_text(self.registry)
