"""The route handlers. Each reads what it needs from the objects handed to ``create_app``, never globals."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from otel_breakout._prometheus import PrometheusPullReader
from otel_breakout._telemetry import Telemetry
from otel_breakout.api._auth import TokenCheck
from otel_breakout.api._coalesce import Coalescer
from otel_breakout.api._health import STATUS_CODES, HealthPolicy, assess
from otel_breakout.api._negotiation import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    accepts_gzip,
    wants_openmetrics,
)
from otel_breakout.api._params import float_param, int_param
from otel_breakout.api._responses import JSONResponse, error_response
from otel_breakout.api._sources import MetricsSource, ResourceSource, SnapshotTaker
from otel_breakout.catalogue import CATALOGUE, LEGACY_ALIASES, MetricSpec, prometheus_name

__all__ = ["LIMITS", "Handlers"]


@dataclass(frozen=True, slots=True)
class _Limits:
    samples_max: int = 10_000
    metric_default: int = 1_000
    all_default: int = 100
    minutes_default: int = 5
    minutes_max: int = 1_440
    top_default: int = 25
    top_max: int = 500
    since_max: float = 1e11  # epoch seconds, year 5138
    name_max: int = 200


LIMITS = _Limits()
_BY_OTEL_NAME = {spec.name: spec for spec in CATALOGUE}
_BY_PROMETHEUS_NAME = {prometheus_name(spec): spec for spec in CATALOGUE}
_METRICS_HEADERS = {"Cache-Control": "no-store", "Vary": "Accept, Accept-Encoding"}


def _renderer(reader: PrometheusPullReader) -> Callable[[tuple[bool, bool]], bytes]:
    def render(key: tuple[bool, bool]) -> bytes:
        return reader.render(openmetrics=key[0], gzipped=key[1])

    return render


def _unavailable(what: str) -> JSONResponse:
    return error_response(503, "unavailable", f"{what} is not configured in this process")


def _samples(samples: Iterable[Any], since: float | None, limit: int) -> list[dict[str, Any]]:
    chosen = [s for s in samples if since is None or s.ts >= since]
    return [{"ts": s.ts, "value": s.value, "attributes": dict(s.attributes)} for s in chosen[-limit:]]


def _spec_fields(spec: MetricSpec | None) -> dict[str, Any]:
    if spec is None:
        return {"prometheus_name": None, "kind": None, "unit": None, "description": None}
    return {
        "prometheus_name": prometheus_name(spec),
        "kind": spec.kind,
        "unit": spec.unit,
        "description": spec.description,
    }


@dataclass
class Handlers:
    telemetry: Telemetry
    metrics_logger: MetricsSource
    resource_monitor: ResourceSource
    snapshot_taker: SnapshotTaker
    token: TokenCheck
    health_policy: HealthPolicy
    clock: Callable[[], float] = time.time
    started_at: float = field(default=0.0)
    _snapshot_lock: threading.Lock = field(default_factory=threading.Lock)
    _scrapes: tuple[PrometheusPullReader, Coalescer[tuple[bool, bool], bytes]] | None = None
    _health: Coalescer[None, dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        self.started_at = self.clock()

    # --- Prometheus -------------------------------------------------------------------------------

    async def metrics(self, request: Request) -> Response:
        reader = self.telemetry.prometheus_reader
        if reader is None or self.telemetry.is_shutdown:
            return _unavailable("the Prometheus pull reader (OTEL_METRICS_EXPORTER has no `prometheus`)")
        openmetrics = wants_openmetrics(request.headers.get("accept"))
        gzipped = accepts_gzip(request.headers.get("accept-encoding"))
        # Collection runs instrument callbacks (psutil and the like): it runs in a thread, never on the loop.
        coalescer = self._scrapes
        if coalescer is None or coalescer[0] is not reader:
            coalescer = self._scrapes = (reader, Coalescer(_renderer(reader)))
        body = await coalescer[1].call((openmetrics, gzipped))
        headers = {**_METRICS_HEADERS, "Content-Type": OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(body, headers=headers)

    # --- JSON routes (sync: Starlette runs them in its thread pool) ---------------------------------

    def summary(self, request: Request) -> Response:
        return JSONResponse({"generated_at": self.clock(), **self.metrics_logger.summary()})

    def performance(self, request: Request) -> Response:
        minutes = int_param(request.query_params, "minutes", LIMITS.minutes_default, 1, LIMITS.minutes_max)
        return JSONResponse(
            {
                "generated_at": self.clock(),
                "current": self.resource_monitor.get_current_metrics(),
                "window_minutes": minutes,
                "summary": self.resource_monitor.get_metrics_summary(minutes),
            }
        )

    def metric(self, request: Request) -> Response:
        limit = int_param(request.query_params, "limit", LIMITS.metric_default, 1, LIMITS.samples_max)
        since = float_param(request.query_params, "since", 0.0, LIMITS.since_max)
        name = str(request.path_params["name"])
        resolved = self._resolve(name)
        if resolved is None:
            return self._unknown_metric(name)
        samples = self.metrics_logger.series(resolved)
        return JSONResponse(
            {
                "name": resolved,
                **_spec_fields(_BY_OTEL_NAME.get(resolved)),
                "total": len(samples),
                "samples": _samples(samples, since, limit),
            }
        )

    def _resolve(self, name: str) -> str | None:
        """The logger's name for ``name`` in any spelling: as tracked, a seed alias, or the Prometheus name."""
        if len(name) > LIMITS.name_max:
            return None
        tracked = set(self.metrics_logger.names())
        prometheus = _BY_PROMETHEUS_NAME.get(name)
        for candidate in (name, LEGACY_ALIASES.get(name), prometheus.name if prometheus else None):
            if candidate is not None and candidate in tracked:
                return candidate
        return None

    def _unknown_metric(self, name: str) -> JSONResponse:
        spec = _BY_OTEL_NAME.get(name) or _BY_PROMETHEUS_NAME.get(name)
        if spec is not None and spec.group == "resource":
            detail = "this resource metric has no rolling window here: see GET /api/metrics/performance"
        elif spec is not None:
            detail = "this catalogue metric has no rolling window in the metrics logger: see GET /api/metrics"
        else:
            detail = (
                "no such metric: use a name the metrics logger tracks, in OTel, Prometheus or seed spelling; "
                "GET /api/metrics/all lists them"
            )
        return error_response(404, "unknown_metric", detail)

    def all(self, request: Request) -> Response:
        limit = int_param(request.query_params, "limit", LIMITS.all_default, 1, LIMITS.samples_max)
        since = float_param(request.query_params, "since", 0.0, LIMITS.since_max)
        series = self.metrics_logger.all()
        return JSONResponse(
            {
                "generated_at": self.clock(),
                "metrics": {name: _samples(samples, since, limit) for name, samples in sorted(series.items())},
            }
        )

    async def health(self, request: Request) -> Response:
        # Load balancers and orchestrators poll this; simultaneous probes share one assessment (in a thread:
        # the monitor may sample the system on the spot).
        if self._health is None:
            self._health = Coalescer(self._assess)
        body = await self._health.call(None)
        return JSONResponse(body, STATUS_CODES[body["status"]])

    def _assess(self, _: None) -> dict[str, Any]:
        now = self.clock()
        return assess(
            self.health_policy, self.metrics_logger, self.resource_monitor, now=now, uptime=now - self.started_at
        )

    # --- memory snapshot --------------------------------------------------------------------------

    async def snapshot(self, request: Request) -> Response:
        if not self.token.configured:
            return error_response(
                403,
                "forbidden",
                "memory snapshots are refused unless the API has a token: set OTEL_BREAKOUT_API_TOKEN",
            )
        top = int_param(request.query_params, "top", LIMITS.top_default, 1, LIMITS.top_max)
        taker = self.snapshot_taker
        # A snapshot walks the heap: one at a time, and a second request is told to come back.
        if not self._snapshot_lock.acquire(blocking=False):
            return error_response(429, "busy", "a memory snapshot is already being taken", headers={"Retry-After": "5"})
        try:
            result = await run_in_threadpool(taker, None, top=top)
        finally:
            self._snapshot_lock.release()
        return JSONResponse(result)
