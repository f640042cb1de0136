"""A server for ``bench_api``: ``python -m benchmarks._api_target KIND PORT SERIES`` serves until SIGTERM.

KIND is ``ours`` (``create_app`` with a real MetricsLogger and a running ResourceMonitor), ``native``
(prometheus_client's own ASGI app over an equivalent native registry) or ``bare`` (one Starlette route
returning a constant JSON body: the floor of the stack). The server runs in its own process so that the
load generator does not share its GIL.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
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


def ours(series: int) -> Any:
    from otel_breakout.metrics import MetricsLogger, ResourceLimits, ResourceMonitor

    environ = {"OTEL_BREAKOUT_RESOURCE_AUTO_OPTIMIZE": "false", "OTEL_BREAKOUT_RESOURCE_INTERVAL": "1"}
    telemetry = Telemetry.create(Settings.from_env(environ))
    meter = telemetry.get_meter("bench")
    counter = meter.create_counter("bench.orders", "{order}", "Orders sent.")
    gauge = meter.create_gauge("bench.spread", "1", "Relative spread.")
    for i, attributes in enumerate(label_sets(series // 2)):
        counter.add(i, attributes)
        gauge.set(i / 1000, attributes)
    logger = MetricsLogger(telemetry)
    logger.end_cycle(0.02)
    # The real monitor, running; limits this busy machine cannot exceed, so that health answers 200.
    limits = ResourceLimits(100.0, 100.0, 1e9, 100.0, 1_000_000, 1_000_000)
    monitor = ResourceMonitor(telemetry, limits=limits)
    monitor.start()
    # Health turns critical once the engine has been quiet for three minutes: keep it cycling.
    threading.Thread(target=_cycle, args=(logger,), daemon=True).start()
    return create_app(telemetry, metrics_logger=logger, resource_monitor=monitor)


def _cycle(logger: Any) -> None:
    while True:
        time.sleep(1.0)
        logger.end_cycle(0.02)


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
