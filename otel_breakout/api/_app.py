"""``create_app()``: the metrics API as a Starlette app, standalone or mounted inside a bot's own app."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from otel_breakout._scrub import printable
from otel_breakout._settings import API_TOKEN_MIN_LENGTH, ConfigError
from otel_breakout._telemetry import Telemetry, configure, get_telemetry
from otel_breakout.api._auth import BearerTokenMiddleware, TokenCheck
from otel_breakout.api._defaults import default_logger, default_monitor, default_snapshot
from otel_breakout.api._health import HealthPolicy
from otel_breakout.api._params import ParameterError
from otel_breakout.api._responses import error_response
from otel_breakout.api._routes import Handlers
from otel_breakout.api._sources import MetricsSource, ResourceSource, SnapshotTaker
from otel_breakout.api._tracing import TracingMiddleware

__all__ = ["create_app"]

_logger = logging.getLogger("otel_breakout.api")
_HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_ERRORS.get(exc.status_code, "http_error")
    detail = {
        404: "no such route; the API serves /api/metrics and /api/metrics/{summary,performance,all,health,snapshot}"
        " and /api/metrics/metric/{name}",
        405: "this route does not accept that method",
    }.get(exc.status_code, "the request was not understood")
    return error_response(exc.status_code, code, detail, headers=exc.headers)


async def _parameter_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ParameterError)
    return error_response(422, "invalid_parameter", exc.detail, parameter=exc.parameter)


async def _server_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server's log (Starlette re-raises after this); the client gets a sentence. The
    # method and path are the client's: escaped and bounded, so a request cannot forge log lines or flood them.
    _logger.error(
        "metrics API request failed: %s %s", printable(request.method, 16), printable(request.url.path), exc_info=exc
    )
    return error_response(500, "internal_error", "the request failed inside the bot; details are in its log")


def create_app(
    telemetry: Telemetry | None = None,
    *,
    metrics_logger: MetricsSource | None = None,
    resource_monitor: ResourceSource | None = None,
    token: str | None = None,
    snapshot: SnapshotTaker | None = None,
    engine_check: bool = True,
    trace_requests: bool = True,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The metrics API. Mount it anywhere (``Mount("/bot", create_app(...))``) or serve it with ``ApiServer``.

    ``telemetry`` defaults to the process-wide handle (``configure()`` is called if there is none); its
    pull reader feeds ``/api/metrics`` and its providers trace the API. ``metrics_logger``,
    ``resource_monitor`` and ``snapshot`` default to ``get_metrics_logger()``, ``get_resource_monitor()``
    (not started here) and ``take_memory_snapshot``. ``token`` defaults to ``OTEL_BREAKOUT_API_TOKEN``;
    when set, every route but ``/api/metrics`` and ``/api/metrics/health`` requires
    ``Authorization: Bearer <token>``. ``engine_check=False`` leaves the engine cycle age out of the health
    verdict (for a process that runs no engine).
    """
    telemetry = telemetry if telemetry is not None else (get_telemetry() or configure())
    api = telemetry.settings.api
    token = token if token is not None else api.token
    if token is not None and len(token.strip()) < API_TOKEN_MIN_LENGTH:
        raise ConfigError("create_app(token=...)", "***", f"at least {API_TOKEN_MIN_LENGTH} characters")
    check = TokenCheck(token.strip() if token else None)
    metrics_logger = metrics_logger if metrics_logger is not None else default_logger()
    resource_monitor = resource_monitor if resource_monitor is not None else default_monitor()
    snapshot = snapshot if snapshot is not None else default_snapshot()
    handlers = Handlers(
        telemetry=telemetry,
        metrics_logger=metrics_logger,
        resource_monitor=resource_monitor,
        snapshot_taker=snapshot,
        token=check,
        health_policy=HealthPolicy(api.cycle_warning_s, api.cycle_critical_s, engine_check),
        clock=clock,
    )
    routes = [
        Route("/api/metrics", handlers.metrics, methods=["GET"]),
        Route("/api/metrics/summary", handlers.summary, methods=["GET"]),
        Route("/api/metrics/performance", handlers.performance, methods=["GET"]),
        Route("/api/metrics/metric/{name}", handlers.metric, methods=["GET"]),
        Route("/api/metrics/all", handlers.all, methods=["GET"]),
        Route("/api/metrics/health", handlers.health, methods=["GET"]),
        Route("/api/metrics/snapshot", handlers.snapshot, methods=["POST"]),
    ]
    middleware = [Middleware(BearerTokenMiddleware, check=check)]
    if trace_requests and telemetry.enabled:
        tracing = Middleware(
            TracingMiddleware,
            tracer_provider=telemetry.tracer_provider,
            routes=routes,
        )
        # Outermost, so that refused requests (401) are traced too.
        middleware.insert(0, tracing)
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            HTTPException: _http_error,
            ParameterError: _parameter_error,
            Exception: _server_error,
        },
    )
