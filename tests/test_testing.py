"""The pytest plugin our users get (otel_breakout.testing): capture, its context manager, and the entry point."""

from __future__ import annotations

import pytest

from otel_breakout.testing import TelemetryCapture, capture_telemetry

pytest_plugins = ["pytester"]


def test_the_capture_closes_on_leaving_its_block() -> None:
    with capture_telemetry(service_name="unit") as capture:
        with capture.telemetry.get_tracer().start_as_current_span("engine.cycle"):
            pass
        assert [span.name for span in capture.spans()] == ["engine.cycle"]
        assert capture.spans()[0].resource.attributes["service.name"] == "unit"
    # Shut down: a span started now is never exported, and closing again is harmless.
    with capture.telemetry.get_tracer().start_as_current_span("after"):
        pass
    assert [span.name for span in capture.spans()] == ["engine.cycle"]
    capture.close()


def test_the_capture_ignores_the_developers_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-the-shell")
    with capture_telemetry() as capture:
        assert capture.telemetry.settings.service_name != "from-the-shell"
    with capture_telemetry(environ={"OTEL_SERVICE_NAME": "given"}) as capture:
        assert capture.telemetry.settings.service_name == "given"


def test_metric_points_are_keyed_by_attribute_set(capture: TelemetryCapture) -> None:
    counter = capture.telemetry.get_meter().create_counter("breakout.signals")
    counter.add(2, {"strategy": "momentum"})
    counter.add(1, {"strategy": "momentum"})
    assert capture.metric_points("breakout.signals") == {frozenset({("strategy", "momentum")}): 3}
    assert capture.metric_points("no.such.metric") == {}


def test_a_users_test_run_gets_the_fixtures_from_the_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_diagnostics(otel_capture, diagnostics_collector):
            diagnostics_collector.record_filter("universe", "BTCUSDT", "min_volume", 1.0, 2.0, False)
            [event] = otel_capture.diagnostics()
            assert event.reason == "filter:min_volume"
        """
    )
    # A subprocess: the plugin must load from the installed entry point, not from this test's imports.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
