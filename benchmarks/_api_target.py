"""A server for ``bench_api``: ``python -m benchmarks._api_target KIND PORT SERIES`` serves until SIGTERM.

KIND is ``ours`` (``create_app`` under uvicorn), ``native`` (prometheus_client's own ASGI app over an
equivalent native registry) or ``bare`` (one Starlette route returning a constant JSON body: the floor
of the stack). The server runs in its own process so that the load generator does not share its GIL.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from otel_breakout import Settings, Telemetry
from otel_breakout.api import ApiServer, create_app

SCOPE = {"otel_scope_name": "otel_breakout", "otel_scope_schema_url": "", "otel_scope_version": "0.1.0"}


def label_sets(count: int) -> list[dict[str, str]]:
    return [{"symbol": f"SYM{i:05d}USDT", "strategy": ("momentum", "retest")[i % 2]} for i in range(count)]


class _Logger:
    """Just enough of MetricsLogger for the health route: an engine that cycled a moment ago."""

    def series(self, name: str) -> list[Any]:
        return []

    def all(self) -> dict[str, list[Any]]:
        return {}

    def summary(self) -> dict[str, Any]:
        return {"engine": {}, "trading": {}, "scanner": {}}

    def names(self) -> list[str]:
        return []

    def last_cycle_age(self, now: float | None = None) -> float | None:
        return 0.5


def ours(series: int) -> Any:
    telemetry = Telemetry.create(Settings.from_env({}))
    meter = telemetry.get_meter()
    counter = meter.create_counter("bench.orders", "{order}", "Orders sent.")
    gauge = meter.create_gauge("bench.spread", "1", "Relative spread.")
    for i, attributes in enumerate(label_sets(series // 2)):
        counter.add(i, attributes)
        gauge.set(i / 1000, attributes)
    return create_app(telemetry, metrics_logger=_Logger(), resource_monitor=None)


def native(series: int) -> Any:
    from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics, make_asgi_app

    # Our exposition has no _created series; the baseline should not format them either.
    disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
    registry = CollectorRegistry()
    names = ["symbol", "strategy", *SCOPE]
    counter = Counter("bench_orders", "Orders sent.", names, registry=registry)
    gauge = Gauge("bench_spread_ratio", "Relative spread.", names, registry=registry)
    for i, attributes in enumerate(label_sets(series // 2)):
        counter.labels(**attributes, **SCOPE).inc(i)
        gauge.labels(**attributes, **SCOPE).set(i / 1000)
    return make_asgi_app(registry)  # answers on every path, /api/metrics included


def bare(series: int) -> Any:
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "issues": [], "metrics": {}})

    return Starlette(routes=[Route("/api/metrics/health", health)])


def main() -> None:
    kind, port, series = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    app = {"ours": ours, "native": native, "bare": bare}[kind](series)
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    server = ApiServer(app, port=port, limit_concurrency=1000)
    server.serve_forever()


if __name__ == "__main__":
    main()
