"""OTLP exporters built from settings, against a real collector (``rotel-agent``) on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_breakout import Settings, Telemetry
from tests.support.rotel import running_rotel

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_a_capitalised_header_name_still_delivers_every_signal(tmp_path: Path, protocol: str) -> None:
    # gRPC refuses capitals in metadata keys: with the name passed through as written, every export failed
    # ("Illegal header key") and, past the first warning, silently.
    with running_rotel(tmp_path) as rotel:
        endpoint = rotel.grpc_endpoint if protocol == "grpc" else rotel.http_endpoint
        telemetry = Telemetry.create(
            Settings.from_env(
                {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                    "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
                    "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc,X-Tenant=desk-7",
                    "OTEL_EXPORTER_OTLP_TIMEOUT": "2000",
                }
            )
        )
        try:
            with telemetry.get_tracer().start_as_current_span("capitalised.header.span"):
                telemetry.get_logger().emit(body="capitalised header log record")
            telemetry.get_meter().create_counter("capitalised.header.counter").add(1)
            assert telemetry.force_flush(10_000)
            text = rotel.wait_for(
                lambda t: (
                    "capitalised.header.span" in t
                    and "capitalised header log record" in t
                    and "capitalised.header.counter" in t
                ),
                timeout=15,
            )
        finally:
            telemetry.shutdown(timeout_millis=2000)
    assert "capitalised.header.span" in text
    assert telemetry.undelivered() == {}
