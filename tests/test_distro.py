"""End to end against a real OTLP receiver (rotel-agent): the two ways in build the same telemetry."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.binaries import venv_bin
from tests.support.rotel import Rotel, running_rotel

pytestmark = pytest.mark.integration

APP = """
import logging
from opentelemetry import metrics, trace
{setup}
tracer = trace.get_tracer("app")
meter = metrics.get_meter("app")
cycles = meter.create_counter("breakout.engine.cycles", unit="{{cycle}}", description="Engine cycles completed.")
duration = meter.create_histogram("breakout.engine.cycle.duration", unit="s", description="Cycle wall time.")
with tracer.start_as_current_span("engine.cycle") as span:
    logging.getLogger("bot").warning("cycle done")
    cycles.add(1)
    duration.record(0.02)
print("TRACE", format(span.get_span_context().trace_id, "032x"))
{check}
"""


def _run(tmp_path: Path, env: dict[str, str], *, setup: str = "", check: str = "", instrument: bool) -> str:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(APP.format(setup=setup, check=check)))
    command = [venv_bin("opentelemetry-instrument"), sys.executable, str(script)] if instrument else [
        sys.executable, str(script)
    ]  # fmt: skip
    base = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
    }
    result = subprocess.run(command, env={**base, **env}, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"TRACE ([0-9a-f]{32})", result.stdout)
    assert match, result.stdout
    return match.group(1)


def _blocks(text: str, header: str) -> list[str]:
    return [block for block in re.split(r"(?m)^(?=Resource(?:Spans|Log|Metrics) #)", text) if block.startswith(header)]


def _assert_received(rotel: Rotel, service: str, trace_id: str) -> None:
    def complete(text: str) -> bool:
        return (
            any(f"service.name: Str({service})" in b and trace_id in b for b in _blocks(text, "ResourceSpans"))
            and any("Body: Str(cycle done)" in b and trace_id in b for b in _blocks(text, "ResourceLog"))
            and any("breakout.engine.cycles" in b for b in _blocks(text, "ResourceMetrics"))
        )

    text = rotel.wait_for(complete)
    spans = [b for b in _blocks(text, "ResourceSpans") if f"service.name: Str({service})" in b]
    assert any("Name           : engine.cycle" in b and f"Trace ID       : {trace_id}" in b for b in spans)
    logs = [b for b in _blocks(text, "ResourceLog") if f"service.name: Str({service})" in b]
    (log,) = [b for b in logs if "Body: Str(cycle done)" in b]  # exactly once: no duplicate handlers
    assert log.count("Body: Str(cycle done)") == 1
    assert f"Trace ID       : {trace_id}" in log
    metrics = "".join(b for b in _blocks(text, "ResourceMetrics") if f"service.name: Str({service})" in b)
    assert "Name: breakout.engine.cycles" in metrics
    # Our latency view, not the SDK's millisecond defaults: the bucket bounds start at 1 ms.
    assert "ExplicitBounds #0: 0.001" in metrics
    assert "ExplicitBounds #16: 10" in metrics


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_opentelemetry_instrument_with_environment_only(tmp_path: Path, protocol: str) -> None:
    with running_rotel(tmp_path) as rotel:
        endpoint = rotel.grpc_endpoint if protocol == "grpc" else rotel.http_endpoint
        service = f"instrumented-{protocol.replace('/', '-')}"
        trace_id = _run(
            tmp_path,
            {
                "OTEL_PYTHON_DISTRO": "otel_breakout",
                "OTEL_PYTHON_CONFIGURATOR": "otel_breakout",
                "OTEL_SERVICE_NAME": service,
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            },
            check="""
import otel_breakout
telemetry = otel_breakout.configure()
assert telemetry is otel_breakout.get_telemetry()
assert trace.get_tracer_provider() is telemetry.tracer_provider, "a second set of providers was built"
""",
            instrument=True,
        )
        _assert_received(rotel, service, trace_id)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_configure_in_code(tmp_path: Path, protocol: str) -> None:
    with running_rotel(tmp_path) as rotel:
        endpoint = rotel.grpc_endpoint if protocol == "grpc" else rotel.http_endpoint
        trace_id = _run(
            tmp_path,
            {},
            setup=(
                "import otel_breakout\n"
                f"otel_breakout.configure(service_name='in-code', otlp_endpoint={endpoint!r}, "
                f"otlp_protocol={protocol!r})"
            ),
            instrument=False,
        )
        _assert_received(rotel, "in-code", trace_id)


def test_configure_adopts_providers_of_the_stock_configurator(tmp_path: Path) -> None:
    with running_rotel(tmp_path) as rotel:
        trace_id = _run(
            tmp_path,
            {
                "OTEL_PYTHON_DISTRO": "distro",
                "OTEL_PYTHON_CONFIGURATOR": "configurator",
                "OTEL_SERVICE_NAME": "stock",
                "OTEL_EXPORTER_OTLP_ENDPOINT": rotel.grpc_endpoint,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            },
            check="""
import otel_breakout
from opentelemetry import _logs
telemetry = otel_breakout.configure()
assert telemetry.tracer_provider is trace.get_tracer_provider(), "configure() built a second tracer provider"
assert telemetry.meter_provider is metrics.get_meter_provider(), "configure() built a second meter provider"
assert telemetry.logger_provider is _logs.get_logger_provider()
""",
            instrument=True,
        )
        text = rotel.wait_for(lambda t: trace_id in t and "Body: Str(cycle done)" in t)
        logs = [b for b in _blocks(text, "ResourceLog") if "Body: Str(cycle done)" in b]
        assert sum(b.count("Body: Str(cycle done)") for b in logs) == 1
