from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider

from otel_breakout import Settings, Telemetry
from otel_breakout.metrics._provider import ProcessWide, claim_instruments, claim_meter, release_instruments, resolve


def test_one_component_of_each_kind_per_provider() -> None:
    provider = MeterProvider()
    claim_instruments(provider, "MetricsLogger")
    claim_instruments(provider, "ResourceMonitor")  # another kind: fine
    with pytest.raises(RuntimeError, match=r"reuse it \(get_metrics_logger\(\)\)"):
        claim_instruments(provider, "MetricsLogger")
    release_instruments(provider, "MetricsLogger")
    claim_instruments(provider, "MetricsLogger")
    claim_instruments(object(), "MetricsLogger")  # not weak-referenceable owners are not tracked: no error


def test_a_given_meter_is_claimed_instead_of_the_provider() -> None:
    telemetry = Telemetry.create(Settings.from_env({"OTEL_METRICS_EXPORTER": "none"}))
    try:
        assert claim_meter("MetricsLogger", telemetry, None) is not None
        other = telemetry.get_meter("my_bot.second_engine")
        assert claim_meter("MetricsLogger", telemetry, other) is other
        with pytest.raises(RuntimeError, match="already reports"):
            claim_meter("MetricsLogger", telemetry, None)
    finally:
        telemetry.shutdown()


def test_settings_come_from_the_argument_then_the_telemetry() -> None:
    settings = Settings.from_env({"OTEL_SERVICE_NAME": "given"})
    telemetry = Telemetry.create(Settings.from_env({"OTEL_SERVICE_NAME": "telemetry"}))
    try:
        assert resolve(telemetry, None, settings) == (telemetry, settings)
        assert resolve(telemetry, None, None) == (telemetry, telemetry.settings)
    finally:
        telemetry.shutdown()


def test_process_wide_builds_once_and_stops_on_reset() -> None:
    built: list[list[str]] = []
    stopped: list[list[str]] = []

    def factory() -> list[str]:
        built.append([])
        return built[-1]

    wide = ProcessWide(factory, "test component", stop=stopped.append)
    first = wide.get()
    assert wide.get() is first and len(built) == 1
    wide.reset()
    assert stopped == [first] and wide.get() is not first and len(built) == 2
