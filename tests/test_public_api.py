from __future__ import annotations

import otel_breakout

# Any change to the public surface must be deliberate: update this list in the same commit.
EXPECTED = [
    "LATENCY_BUCKETS_SECONDS",
    "BatchSettings",
    "ConfigError",
    "ConfigWarning",
    "DiagnosticsCollector",
    "DiagnosticsEvent",
    "DiagnosticsSettings",
    "OtlpExporterSettings",
    "Settings",
    "Telemetry",
    "__version__",
    "configure",
    "get_telemetry",
]


def test_all_is_sorted_and_deliberate() -> None:
    assert otel_breakout.__all__ == EXPECTED
    # Sorted the way ruff's RUF022 sorts it (constants, classes, functions), which lint enforces.
    assert len(set(otel_breakout.__all__)) == len(otel_breakout.__all__)
    for name in otel_breakout.__all__:
        assert hasattr(otel_breakout, name), name
