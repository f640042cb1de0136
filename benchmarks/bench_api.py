"""The metrics API: exposition render time against prometheus_client, and real HTTP load on uvicorn.

Render rows: ``PrometheusPullReader.render()`` (SDK collection plus our writer, exactly what
``/api/metrics`` runs) against ``prometheus_client.generate_latest`` over a native registry holding the
same series (same names, label sets, values; ``_created`` series disabled so both write the same lines).

HTTP rows: each server runs in its own process under uvicorn on loopback; a light asyncio client keeps
50 connections busy. Every run must have zero errors or the benchmark fails. Baselines: a bare Starlette
route returning constant JSON (the floor of the stack) for health, and prometheus_client's own ASGI app
over the equivalent native registry for ``/api/metrics``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client import Histogram as NativeHistogram

from benchmarks._api_target import SCOPE, label_sets
from benchmarks._harness import Row, compare
from benchmarks._load import LoadResult, run_load
from otel_breakout import LATENCY_BUCKETS_SECONDS, Settings, Telemetry
from otel_breakout._prometheus import PrometheusPullReader

CONCURRENCY = 50
PROMETHEUS_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}


def _disable_created() -> None:
    from prometheus_client import disable_created_metrics

    disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream


def _counters_and_gauges(metrics: int, per_metric: int) -> tuple[Telemetry, CollectorRegistry]:
    telemetry = Telemetry.create(Settings.from_env({}))
    meter = telemetry.get_meter()
    registry = CollectorRegistry()
    names = ["symbol", "strategy", *SCOPE]
    for m in range(metrics):
        if m % 2 == 0:
            counter = meter.create_counter(f"bench.orders{m}", "{order}", "Orders sent.")
            native_counter = Counter(f"bench_orders{m}", "Orders sent.", names, registry=registry)
            for i, attributes in enumerate(label_sets(per_metric)):
                counter.add(i, attributes)
                native_counter.labels(**attributes, **SCOPE).inc(i)
        else:
            gauge = meter.create_gauge(f"bench.spread{m}", "1", "Relative spread.")
            native_gauge = Gauge(f"bench_spread{m}_ratio", "Relative spread.", names, registry=registry)
            for i, attributes in enumerate(label_sets(per_metric)):
                gauge.set(i / 1000, attributes)
                native_gauge.labels(**attributes, **SCOPE).set(i / 1000)
    return telemetry, registry


def _histograms(label_count: int) -> tuple[Telemetry, CollectorRegistry]:
    telemetry = Telemetry.create(Settings.from_env({}))
    registry = CollectorRegistry()
    histogram = telemetry.get_meter().create_histogram("bench.latency", "s", "Order round trip.")
    native = NativeHistogram(
        "bench_latency_seconds",
        "Order round trip.",
        ["symbol", "strategy", *SCOPE],
        registry=registry,
        buckets=LATENCY_BUCKETS_SECONDS,
    )
    for i, attributes in enumerate(label_sets(label_count)):
        for value in (0.002, 0.03 + i / 1e5, 0.4):
            histogram.record(value, attributes)
            native.labels(**attributes, **SCOPE).observe(value)
    return telemetry, registry


def _render_row(name: str, telemetry: Telemetry, registry: CollectorRegistry, quick: bool) -> Row:
    reader = telemetry.prometheus_reader
    assert isinstance(reader, PrometheusPullReader)
    ours, theirs = reader.render(), generate_latest(registry)
    # Same work on both sides: the same number of sample lines (ours adds one target_info line).
    assert ours.count(b"\n") - ours.count(b"\n#") - 1 == theirs.count(b"\n") - theirs.count(b"\n#"), name
    a, b = compare(reader.render, lambda: generate_latest(registry), repeats=3 if quick else 9)
    telemetry.shutdown()
    return Row(name, a, b, "s", budget="<= 1.5x")


# --- HTTP -----------------------------------------------------------------------------------------


@contextmanager
def _server(kind: str, series: int) -> Iterator[int]:
    import socket

    from tests.support.binaries import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._api_target", kind, str(port), str(series)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not start: {process.stderr.read()!r}") from None  # type: ignore[union-attr]
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(30)


def _load(port: int, path: str, total: int, headers: dict[str, str] | None = None) -> LoadResult:
    result = run_load(port, path, total=total, concurrency=CONCURRENCY, headers=headers)
    if result.errors:
        raise RuntimeError(f"{result.errors} errors out of {result.requests} requests to {path}")
    return result


def _http_rows(quick: bool) -> Iterator[Row]:
    rounds = 1 if quick else 3
    total = 1000 if quick else 5000
    native_total = 200 if quick else 500  # generate_latest blocks its event loop: 5k would take minutes
    runs: dict[str, list[LoadResult]] = {"ours_health": [], "bare": [], "ours_metrics": [], "native": []}
    with ExitStack() as stack:
        ours = stack.enter_context(_server("ours", 2000))
        bare = stack.enter_context(_server("bare", 0))
        native = stack.enter_context(_server("native", 2000))
        for port in (ours, bare):
            _load(port, "/api/metrics/health", 200)  # warm-up
        for _ in range(rounds):
            runs["ours_health"].append(_load(ours, "/api/metrics/health", total))
            runs["bare"].append(_load(bare, "/api/metrics/health", total))
            runs["ours_metrics"].append(_load(ours, "/api/metrics", total, PROMETHEUS_HEADERS))
            runs["native"].append(_load(native, "/api/metrics", native_total, PROMETHEUS_HEADERS))

    def median(key: str, field: str) -> float:
        return float(statistics.median(float(getattr(r, field)) for r in runs[key]))

    count = f"{total} req, c={CONCURRENCY}, 0 errors"
    # The bare route pays no server span; ours does (the OTel ASGI middleware, ~0.3 ms of CPU a request).
    for field, budget in (("p50", "0 errors; <= 2x"), ("p99", "0 errors; <= 3x")):
        yield Row(
            f"HTTP GET /api/metrics/health {field} ({count}) vs bare Starlette route",
            median("ours_health", field),
            median("bare", field),
            "s",
            budget=budget,
        )
    for field in ("p50", "p99"):
        yield Row(
            f"HTTP GET /api/metrics 2k series {field} ({count}) vs prometheus_client ASGI app",
            median("ours_metrics", field),
            median("native", field),
            "s",
            budget="0 errors; <= 1x",
        )


def run(quick: bool) -> Iterator[Row]:
    _disable_created()
    telemetry, registry = _counters_and_gauges(10, 200 if quick else 1000)
    yield _render_row(
        "/api/metrics render, 10k counter and gauge series, vs generate_latest", telemetry, registry, quick
    )
    telemetry, registry = _histograms(50 if quick else 500)
    yield _render_row(
        "/api/metrics render, 10k histogram series (500 x 20), vs generate_latest", telemetry, registry, quick
    )
    yield from _http_rows(quick)
