"""The demo under OTEL_EXPORTER_OTLP_ENDPOINT pushes traces, logs and metrics to a real OTLP receiver."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.demo import DemoProcess, demo_env, run_demo_to_end, running_demo
from tests.support.outage import black_hole, closed_port_endpoint, failing_collector
from tests.support.rotel import running_rotel

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _blocks(text: str, header: str) -> list[str]:
    return [b for b in re.split(r"(?m)^(?=Resource(?:Spans|Log|Metrics) #)", text) if b.startswith(header)]


def test_cycle_spans_diagnostic_logs_with_their_trace_ids_and_metrics(tmp_path: Path) -> None:
    with running_rotel(tmp_path) as rotel:
        env = demo_env(
            OTEL_EXPORTER_OTLP_ENDPOINT=rotel.grpc_endpoint,
            OTEL_SERVICE_NAME="demo-otlp",
            OTEL_BSP_SCHEDULE_DELAY="100",
            OTEL_BLRP_SCHEDULE_DELAY="100",
            OTEL_METRIC_EXPORT_INTERVAL="500",
        )
        run_demo_to_end(tmp_path, ["--cycles", "12", "--speed", "20", "--symbols", "60"], env=env)

        def complete(text: str) -> bool:
            return (
                "Name           : engine.cycle" in text
                and "breakout.diag.reason" in text
                and ("breakout.engine.cycles" in text)
            )

        text = rotel.wait_for(complete)
    spans = "".join(_blocks(text, "ResourceSpans"))
    assert "service.name: Str(demo-otlp)" in spans
    cycle_traces = set(re.findall(r"Trace ID\s+: ([0-9a-f]{32})\n\s+Parent ID\s+: \n\s+ID\s+: [0-9a-f]{16}\n\s+Name"
                                  r"\s+: engine\.cycle", spans))  # fmt: skip
    assert len(cycle_traces) >= 10
    logs = "".join(_blocks(text, "ResourceLog"))
    records = re.split(r"(?m)^LogRecord #", logs)[1:]
    diagnostic = [r for r in records if "breakout.diag.reason" in r]
    assert diagnostic
    for record in diagnostic:
        trace = re.search(r"Trace ID\s+: ([0-9a-f]{32})", record)
        assert trace is not None and trace.group(1) in cycle_traces, record
    metrics = "".join(_blocks(text, "ResourceMetrics"))
    for name in ("breakout.engine.cycles", "breakout.engine.cycle.duration", "breakout.diag.evaluations"):
        assert f"Name: {name}" in metrics


def test_a_dead_endpoint_keeps_the_cycle_time_and_prints_one_warning(tmp_path: Path) -> None:
    quiet = run_demo_to_end(tmp_path / "quiet", ["--cycles", "60", "--speed", "20", "--symbols", "60"])
    dead = run_demo_to_end(
        tmp_path / "dead",
        ["--cycles", "60", "--speed", "20", "--symbols", "60"],
        env=demo_env(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_BSP_SCHEDULE_DELAY="100",
                     OTEL_METRIC_EXPORT_INTERVAL="200", OTEL_EXPORTER_OTLP_TIMEOUT="500"),
    )  # fmt: skip
    warnings = [line for line in dead.lines if "export" in line.lower() and "fail" in line.lower()]
    assert len(warnings) == 1, dead.output
    p50 = re.compile(r"cycle p50 ([\d.]+) ms")
    quiet_ms = float(p50.findall(quiet.output)[-1])
    dead_ms = float(p50.findall(dead.output)[-1])
    # Exports run on the SDK's own threads with bounded queues: a dead collector must not slow the loop.
    assert dead_ms < max(2.0 * quiet_ms, quiet_ms + 5.0), (quiet_ms, dead_ms)


def test_a_dead_or_black_holed_collector_keeps_the_loops_pace(tmp_path: Path) -> None:
    # Side by side, so that load on the machine hits every run alike; 6 s at 4 cycles per second.
    args = ["--duration", "6", "--speed", "4", "--symbols", "100"]
    runs: dict[str, int] = {}
    with black_hole() as hole:
        endpoints = {"none": None, "closed port": closed_port_endpoint(), "black hole": hole}

        def run(name: str, endpoint: str | None) -> None:
            env = demo_env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint) if endpoint else demo_env()
            demo = run_demo_to_end(tmp_path / name.replace(" ", "-"), args, env=env, timeout=60)
            runs[name] = int(demo.wait_for(r"done: (\d+) cycles").group(1))

        threads = [threading.Thread(target=run, args=item) for item in endpoints.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
    assert set(runs) == set(endpoints), runs
    for name in ("closed port", "black hole"):
        assert runs[name] >= 0.9 * runs["none"], runs


def _seconds_to_exit(demo: DemoProcess, signum: signal.Signals) -> float:
    """Send ``signum`` and time the exit; a demo still running 20 s later fails the test."""
    sent = time.monotonic()
    demo.process.send_signal(signum)
    try:
        demo.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 20 s after {signum.name}:\n{demo.output}")
    return time.monotonic() - sent


@pytest.mark.parametrize("collector", ["closed port", "black hole"])
def test_sigterm_exits_within_5_s_whatever_the_collector_does(tmp_path: Path, collector: str) -> None:
    with failing_collector(collector) as endpoint:
        env = demo_env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
        with running_demo(tmp_path, ["--no-api", "--duration", "60", "--symbols", "100"], env=env) as demo:
            demo.wait_for(r"cycle\s+\d+ ", timeout=30)
            time.sleep(2)  # the first exports are waiting on the collector now
            took = _seconds_to_exit(demo, signal.SIGTERM)
    assert demo.process.returncode == 0, demo.output
    assert took < 5.0, (took, demo.output)
    assert "done:" in demo.output and "telemetry not delivered to 127.0.0.1:" in demo.output


def test_a_second_ctrl_c_ends_the_shutdown_now(tmp_path: Path) -> None:
    waiting = threading.Event()
    with black_hole(waiting) as endpoint:
        env = demo_env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
        with running_demo(tmp_path, ["--no-api", "--duration", "60", "--symbols", "100"], env=env) as demo:
            demo.wait_for(r"cycle\s+\d+ ", timeout=30)
            assert waiting.wait(20), "no export reached the black hole"
            demo.process.send_signal(signal.SIGINT)
            demo.wait_for(r"Ctrl-C again to quit now", timeout=20)
            took = _seconds_to_exit(demo, signal.SIGINT)
    assert demo.process.returncode == 130, demo.output
    assert took < 1.5, (took, demo.output)
    assert demo.report.exists()  # written before telemetry's shutdown began
