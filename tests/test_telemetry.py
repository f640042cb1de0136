from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace import NoOpTracerProvider

from otel_breakout import Settings, Telemetry
from otel_breakout._exporters import build_log_exporters, build_metric_readers, build_span_exporters
from otel_breakout.testing import capture_telemetry
from tests.support.binaries import require_binary
from tests.support.outage import failing_collector


def _script(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter: the OTel global providers can be set only once per process."""
    base = {"PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "error::otel_breakout.ConfigWarning"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_exporter_matrix_builds_the_requested_exporters() -> None:
    settings = Settings.from_env(
        {
            "OTEL_TRACES_EXPORTER": "otlp,console",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "1500",
        }
    )
    spans = build_span_exporters(settings)
    assert [type(e) for e in spans] == [GrpcSpans, ConsoleSpanExporter]
    logs = build_log_exporters(settings)
    assert [type(e) for e in logs] == [HttpLogs]
    assert logs[0]._endpoint == "http://127.0.0.1:1/v1/logs"  # type: ignore[attr-defined]  # OTLP internals
    readers = build_metric_readers(settings, None)
    assert len(readers) == 1 and isinstance(readers[0], PeriodicExportingMetricReader)
    assert isinstance(readers[0]._exporter, HttpMetrics)
    for span_exporter in spans:
        span_exporter.shutdown()
    logs[0].shutdown()  # type: ignore[no-untyped-call]  # untyped upstream
    for reader in readers:
        reader.shutdown()


def test_embedded_default_has_a_pull_reader_and_no_push() -> None:
    telemetry = Telemetry.create(Settings.from_env({}))
    try:
        assert telemetry.prometheus_reader is not None
        processors = telemetry.tracer_provider._active_span_processor._span_processors  # type: ignore[attr-defined]
        assert processors == ()
        counter = telemetry.get_meter().create_counter("breakout.engine.cycles", unit="{cycle}")
        counter.add(3)
        text = telemetry.prometheus_text().decode()
        assert "breakout_engine_cycles_total" in text
        assert 'service_name="breakout-bot"' in text  # target_info carries the resource
    finally:
        telemetry.shutdown()
    assert telemetry.prometheus_text() == b""


def test_batch_settings_reach_the_span_processor() -> None:
    telemetry = Telemetry.create(
        Settings.from_env(
            {
                "OTEL_TRACES_EXPORTER": "console",
                "OTEL_BSP_MAX_QUEUE_SIZE": "17",
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "5",
                "OTEL_METRICS_EXPORTER": "none",
            }
        )
    )
    try:
        (processor,) = telemetry.tracer_provider._active_span_processor._span_processors  # type: ignore[attr-defined]
        assert isinstance(processor, BatchSpanProcessor)
        assert processor._batch_processor._max_queue_size == 17
        assert processor._batch_processor._max_export_batch_size == 5
    finally:
        telemetry.shutdown()


def test_sdk_disabled_builds_no_ops() -> None:
    before = threading.active_count()
    telemetry = Telemetry.create(Settings.from_env({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}))
    assert not telemetry.enabled
    assert isinstance(telemetry.tracer_provider, NoOpTracerProvider)
    assert isinstance(telemetry.meter_provider, NoOpMeterProvider)
    assert telemetry.prometheus_text() == b""
    assert threading.active_count() == before
    telemetry.shutdown()


def test_sampler_always_off_records_nothing() -> None:
    capture = capture_telemetry(sampler="always_off")
    with capture.telemetry.get_tracer().start_as_current_span("cycle"):
        pass
    assert capture.spans() == []
    capture.close()


def test_spans_logs_and_metrics_reach_in_memory_exporters() -> None:
    capture = capture_telemetry(service_name="unit")
    tracer = capture.telemetry.get_tracer()
    with tracer.start_as_current_span("cycle") as span:
        capture.telemetry.get_logger().emit(body="hello")
    capture.telemetry.get_meter().create_counter("breakout.signals").add(1, {"strategy": "momentum"})
    (finished,) = capture.spans()
    assert finished.resource.attributes["service.name"] == "unit"
    (log,) = capture.logs()
    assert log.log_record.trace_id == span.get_span_context().trace_id
    assert capture.metric_points("breakout.signals") == {frozenset({("strategy", "momentum")}): 1}
    capture.close()


def test_shutdown_runs_hooks_last_first_and_only_once() -> None:
    telemetry = Telemetry.create(Settings.from_env({}))
    calls: list[str] = []
    telemetry.add_shutdown_hook(lambda: calls.append("first"))
    telemetry.add_shutdown_hook(lambda: calls.append("second"))
    telemetry.shutdown()
    telemetry.shutdown()
    assert calls == ["second", "first"]
    assert telemetry.is_shutdown


def test_configure_installs_globals_once_and_warns_on_conflict() -> None:
    result = _script(
        """
        import warnings
        from opentelemetry import trace, metrics
        import otel_breakout
        t = otel_breakout.configure(service_name="one")
        assert trace.get_tracer_provider() is t.tracer_provider
        assert metrics.get_meter_provider() is t.meter_provider
        assert otel_breakout.configure() is t
        assert otel_breakout.get_telemetry() is t
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = otel_breakout.configure(service_name="two")
        assert again is t
        assert t.settings.service_name == "one"
        assert len(caught) == 1 and "service_name" in str(caught[0].message), caught
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_configure_reads_the_given_environ_not_the_process_one() -> None:
    result = _script(
        """
        import otel_breakout
        t = otel_breakout.configure(environ={"OTEL_SERVICE_NAME": "from-mapping"})
        assert t.resource.attributes["service.name"] == "from-mapping"
        assert t.settings.traces_exporters == ()
        print("ok")
        """,
        env={"OTEL_SERVICE_NAME": "from-process", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert result.returncode == 0, result.stderr


def test_sdk_disabled_process_starts_no_threads() -> None:
    result = _script(
        """
        import threading
        import otel_breakout
        t = otel_breakout.configure()
        assert not t.enabled
        assert threading.active_count() == 1, threading.enumerate()
        t.get_meter().create_counter("x").add(1)
        with t.get_tracer().start_as_current_span("s"):
            pass
        print("ok")
        """,
        env={"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert result.returncode == 0, result.stderr


def test_configure_opens_no_listening_socket() -> None:
    # psutil is a dependency of the package: the child imports it, nothing to skip.
    result = _script(
        """
        import os, psutil
        import otel_breakout
        otel_breakout.configure(metrics_exporter="prometheus,console")
        listening = [c for c in psutil.Process(os.getpid()).net_connections() if c.status == psutil.CONN_LISTEN]
        assert listening == [], listening
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_configure_errors_name_the_variable() -> None:
    result = _script("import otel_breakout; otel_breakout.configure()", env={"OTEL_LOGS_EXPORTER": "loki"})
    assert result.returncode != 0
    assert "OTEL_LOGS_EXPORTER='loki' is not valid" in result.stderr


def _exposition(telemetry: Telemetry) -> bytes:
    meter = telemetry.get_meter()
    meter.create_counter("breakout.engine.cycles", unit="{cycle}", description="Engine cycles completed.").add(3)
    histogram = meter.create_histogram("breakout.engine.cycle.duration", unit="s", description="Cycle wall time.")
    histogram.record(0.02)
    meter.create_up_down_counter("breakout.positions.open", unit="{position}", description="Open positions.").add(2)
    meter.create_gauge("breakout.equity", unit="{quote}", description="Equity.").set(10_250.5)
    return telemetry.prometheus_text()


def test_pull_reader_text_parses_with_prometheus_client() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    telemetry = Telemetry.create(Settings.from_env({}))
    try:
        families = {f.name: f for f in text_string_to_metric_families(_exposition(telemetry).decode())}
    finally:
        telemetry.shutdown()
    assert families["breakout_engine_cycles"].type == "counter"
    assert families["breakout_engine_cycles"].samples[0].value == 3
    histogram = families["breakout_engine_cycle_duration_seconds"]
    assert histogram.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in histogram.samples if s.name.endswith("_bucket")}
    assert buckets["0.001"] == 0 and buckets["0.025"] == 1 and buckets["+Inf"] == 1
    assert families["breakout_equity"].samples[0].value == 10_250.5


def test_pull_reader_text_passes_promtool(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    telemetry = Telemetry.create(Settings.from_env({}))
    try:
        text = _exposition(telemetry)
        openmetrics = telemetry.prometheus_text(openmetrics=True)
    finally:
        telemetry.shutdown()
    assert openmetrics.rstrip().endswith(b"# EOF")
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
@pytest.mark.parametrize(
    ("signal", "exporter"),
    [(s, e) for s in ("TRACES", "METRICS", "LOGS") for e in ("otlp", "console", "none")] + [("METRICS", "prometheus")],
)
def test_each_exporter_choice_builds_a_working_telemetry(signal: str, exporter: str, protocol: str) -> None:
    env = {
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        f"OTEL_{signal}_EXPORTER": exporter,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        # A closed loopback port: building must not connect, and shutdown must not hang.
        f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT": "http://127.0.0.1:9/v1/x" if protocol != "grpc" else "127.0.0.1:9",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "200",
    }
    telemetry = Telemetry.create(Settings.from_env(env))
    try:
        processors = telemetry.tracer_provider._active_span_processor._span_processors  # type: ignore[attr-defined]
        readers = telemetry.meter_provider._metric_readers  # type: ignore[attr-defined]
        logs = telemetry.logger_provider._multi_log_record_processor._log_record_processors  # type: ignore[attr-defined]
        expected = 0 if exporter == "none" else 1
        assert len(processors) == (expected if signal == "TRACES" else 0)
        assert len(readers) == (expected if signal == "METRICS" else 0)
        assert len(logs) == (expected if signal == "LOGS" else 0)
        assert (telemetry.prometheus_reader is not None) == (signal == "METRICS" and exporter == "prometheus")
    finally:
        telemetry.shutdown(timeout_millis=500)


def test_export_pending_pushes_spans_and_logs_now() -> None:
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, InMemoryLogRecordExporter
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # untyped upstream
    telemetry = Telemetry.create(
        Settings.from_env({}),
        span_processors=[BatchSpanProcessor(spans, schedule_delay_millis=60_000)],
        log_processors=[BatchLogRecordProcessor(logs, schedule_delay_millis=60_000)],
    )
    with telemetry.get_tracer().start_as_current_span("cycle"):
        telemetry.get_logger().emit(body="decided")
    assert spans.get_finished_spans() == () and logs.get_finished_logs() == ()
    assert telemetry.export_pending(5000)
    assert [s.name for s in spans.get_finished_spans()] == ["cycle"]
    assert len(logs.get_finished_logs()) == 1
    telemetry.shutdown()
    assert Telemetry.create(Settings.from_env({"OTEL_SDK_DISABLED": "true"})).export_pending() is True


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
@pytest.mark.parametrize("collector", ["closed port", "black hole"])
def test_export_pending_and_shutdown_keep_their_budgets_whatever_the_collector_does(
    collector: str, protocol: str
) -> None:
    # The exporters' own budget is 10 s per batch (with retries); the SDK's batch force_flush ignores its
    # timeout and TracerProvider.shutdown() joins for 30 s. Neither may hold the bot past the budget it gave.
    with failing_collector(collector) as endpoint:
        telemetry = Telemetry.create(
            Settings.from_env(
                {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                    "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
                    "OTEL_METRIC_EXPORT_INTERVAL": "60000",
                }
            )
        )
        tracer = telemetry.get_tracer()
        for _ in range(10):
            with tracer.start_as_current_span("cycle"):
                telemetry.get_logger().emit(body="decided")
        started = time.monotonic()
        assert telemetry.export_pending(200) is False
        assert time.monotonic() - started < 2.0
        started = time.monotonic()
        assert telemetry.force_flush(300) is False
        assert time.monotonic() - started < 2.0
        started = time.monotonic()
        telemetry.shutdown(timeout_millis=1000)
        assert time.monotonic() - started < 3.0


def test_a_shut_down_handle_is_not_kept_alive_by_its_exit_hook() -> None:
    import gc
    import weakref

    telemetry = Telemetry.create(Settings.from_env({"OTEL_TRACES_EXPORTER": "console"}))
    telemetry.shutdown()
    ref = weakref.ref(telemetry)
    del telemetry
    gc.collect()
    assert ref() is None
