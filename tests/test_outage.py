"""Guarded OTLP exporters against real failing collectors on loopback, and a real one coming back."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from otel_breakout import Settings, Telemetry
from otel_breakout._outage import describe_losses
from tests.support.binaries import free_port
from tests.support.outage import closed_port_endpoint
from tests.support.rotel import running_rotel


def _telemetry(endpoint: str, **extra: str) -> Telemetry:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_TIMEOUT": "500",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_BSP_SCHEDULE_DELAY": "60000",  # only our flushes export
        **extra,
    }
    return Telemetry.create(Settings.from_env(env))


def _spans(telemetry: Telemetry, n: int, name: str = "cycle") -> None:
    tracer = telemetry.get_tracer()
    for _ in range(n):
        with tracer.start_as_current_span(name):
            pass


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_once_the_endpoint_is_down_batches_are_dropped_at_once_and_counted(protocol: str) -> None:
    telemetry = _telemetry(closed_port_endpoint(), OTEL_EXPORTER_OTLP_PROTOCOL=protocol)
    try:
        _spans(telemetry, 5)
        telemetry.force_flush(5000)  # the exporter tries (and retries) for its 500 ms, then gives up
        assert telemetry.undelivered() == {"traces": 5}
        (endpoint,) = telemetry._guards.endpoints
        assert endpoint.down
        _spans(telemetry, 7)
        assert telemetry.export_pending(5000)  # nothing waits on the dead endpoint now
        causes = telemetry._guards.losses_by_cause()
        assert causes == {"refused or unanswered": {"traces": 5}, "endpoint down": {"traces": 7}}
        assert telemetry.undelivered() == {"traces": 12}
    finally:
        telemetry.shutdown(timeout_millis=1000)


def test_shutdown_counts_what_its_budget_left_undelivered(caplog: pytest.LogCaptureFixture) -> None:
    telemetry = _telemetry(closed_port_endpoint(), OTEL_EXPORTER_OTLP_TIMEOUT="10000")
    _spans(telemetry, 3)
    with caplog.at_level(logging.WARNING, logger="otel_breakout"):
        telemetry.shutdown(timeout_millis=500)  # the exporter alone would retry for 10 s
    assert telemetry.undelivered() == {"traces": 3}
    (message,) = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert message.startswith("telemetry not delivered to 127.0.0.1:")
    assert "3 spans" in message


@pytest.mark.integration
@pytest.mark.slow
def test_a_collector_that_comes_back_gets_the_data_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    telemetry = _telemetry(f"http://127.0.0.1:{port}", OTEL_LOGS_EXPORTER="none")
    try:
        _spans(telemetry, 4, "while.down")
        telemetry.force_flush(5000)
        assert telemetry.undelivered() == {"traces": 4}
        with (
            caplog.at_level(logging.WARNING, logger="otel_breakout.export"),
            running_rotel(tmp_path, grpc_port=port) as rotel,
        ):
            deadline = time.monotonic() + 30
            # Probes look again after 1, 2, 4... s: keep exporting until one finds the collector back.
            while telemetry._guards.endpoints[0].down and time.monotonic() < deadline:
                _spans(telemetry, 1, "meanwhile")
                telemetry.export_pending(200)
                time.sleep(0.2)
            assert not telemetry._guards.endpoints[0].down
            _spans(telemetry, 2, "after.recovery")
            assert telemetry.export_pending(5000)
            text = rotel.wait_for(lambda t: "after.recovery" in t, timeout=15)
        assert "while.down" not in text
        recovered = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
        assert len(recovered) == 1 and f"127.0.0.1:{port} answers again" in recovered[0]
        lost = telemetry.undelivered()["traces"]
        assert f"not delivered meanwhile: {describe_losses({'traces': lost})}" in recovered[0]
    finally:
        telemetry.shutdown(timeout_millis=2000)


def test_describe_losses() -> None:
    assert describe_losses({"traces": 1200, "logs": 0, "metrics": 3}) == "1,200 spans, 3 metric data points"
    assert describe_losses({}) == ""
