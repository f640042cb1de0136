"""The API traces itself through the OTel ASGI middleware, on the given Telemetry's providers (not globals).

Scrapes of ``/api/metrics`` are not traced: one span every 5 s per Prometheus server would drown the
interesting ones. Span names use the route template (``GET /api/metrics/metric/{name}``), so a fuzzer or a
typo cannot mint one span name per URL; unmatched paths are named by their method alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import TracerProvider
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from otel_breakout.api._auth import route_path

__all__ = ["SECRET_HEADERS", "TracingMiddleware"]

_UNTRACED = frozenset({"/api/metrics"})
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class TracingMiddleware:
    def __init__(self, app: ASGIApp, *, tracer_provider: TracerProvider, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self._routes = routes
        self._traced = OpenTelemetryMiddleware(
            app,
            default_span_details=self._span_details,
            tracer_provider=tracer_provider,
            # The middleware's http.server.* metrics would cost as much again per request as the span (attribute
            # hashing on four instruments) to describe a handful of JSON routes: the span carries the same facts.
            meter_provider=NoOpMeterProvider(),
            # One span per request: the per-message receive/send spans say nothing about a JSON route.
            exclude_spans=["receive", "send"],
            # Should someone capture request headers (OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*), the token
            # and the like still never reach a span.
            http_capture_headers_sanitize_fields=list(SECRET_HEADERS),
        )

    def _span_details(self, scope: Scope) -> tuple[str, dict[str, Any]]:
        method = scope.get("method", "")
        method = method if method in _METHODS else "HTTP"
        # Route matching needs the path below the mount point, exactly as routing will see it.
        probe = {**scope, "path": route_path(scope), "root_path": ""}
        for route in self._routes:
            match, _ = route.matches(probe)
            if match != Match.NONE:
                template: str = getattr(route, "path", "")
                return f"{method} {template}", {"http.route": template}
        return method, {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and route_path(scope) not in _UNTRACED:
            await self._traced(scope, receive, send)
            return
        await self.app(scope, receive, send)
