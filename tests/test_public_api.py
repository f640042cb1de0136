from __future__ import annotations

import otel_breakout

# Any change to the public surface must be deliberate: update this list in the same commit.
EXPECTED = [
    "LATENCY_BUCKETS_SECONDS",
    "ApiSettings",
    "BatchSettings",
    "ConfigError",
    "ConfigWarning",
    "DiagnosticsCollector",
    "DiagnosticsEvent",
    "DiagnosticsReport",
    "DiagnosticsReportBuilder",
    "DiagnosticsSettings",
    "MetricsLogger",
    "MetricsSettings",
    "OptimizationAction",
    "OtlpExporterSettings",
    "ReportSettings",
    "ResourceLimits",
    "ResourceMetrics",
    "ResourceMonitor",
    "ResourceSettings",
    "Sample",
    "Settings",
    "Telemetry",
    "__version__",
    "configure",
    "get_metrics_logger",
    "get_resource_monitor",
    "get_telemetry",
    "take_memory_snapshot",
]


def test_all_is_sorted_and_deliberate() -> None:
    assert otel_breakout.__all__ == EXPECTED
    # Sorted the way ruff's RUF022 sorts it (constants, classes, functions), which lint enforces.
    assert len(set(otel_breakout.__all__)) == len(otel_breakout.__all__)
    for name in otel_breakout.__all__:
        assert hasattr(otel_breakout, name), name


def test_api_surface_is_deliberate() -> None:
    import otel_breakout.api

    assert otel_breakout.api.__all__ == ["ApiServer", "MetricsSource", "ResourceSource", "SnapshotTaker", "create_app"]
    for name in otel_breakout.api.__all__:
        assert hasattr(otel_breakout.api, name), name
