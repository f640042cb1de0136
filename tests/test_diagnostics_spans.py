"""The span-event budget: bounded, counted, and cheap once a span is full."""

from __future__ import annotations

from otel_breakout.diagnostics._spans import NEAR_MISS, SpanEventBudget
from otel_breakout.testing import capture_telemetry


def test_a_saturated_span_refuses_failures_cheaply_and_says_so() -> None:
    capture = capture_telemetry()
    budget = SpanEventBudget(8)  # failures 4, near misses 6, signals 8
    with capture.telemetry.get_tracer().start_as_current_span("scan") as span:
        admitted = sum(budget.admit(span, NEAR_MISS, "scanner", f"S{i}") for i in range(6))
        assert admitted == 6
        assert budget.screen(span, "scanner", "S0", 0.99, 1.0, 0.1) is None  # even a near miss
        assert budget.left_out == 1
        for i in range(9):
            assert budget.screen(span, "scanner", f"S{i}", 0.5, 1.0, 0.1) is None
    assert budget.left_out == 10
    (ended,) = capture.spans()
    assert ended.attributes is not None and ended.attributes["breakout.diag.span_events.truncated"] is True
    capture.close()


def test_a_full_failure_tier_refuses_plain_failures_but_keeps_room_for_near_misses() -> None:
    from otel_breakout.diagnostics._spans import FAILURE

    capture = capture_telemetry()
    budget = SpanEventBudget(8)  # failures 4, near misses 6
    with capture.telemetry.get_tracer().start_as_current_span("scan") as span:
        assert sum(budget.admit(span, FAILURE, "scanner", f"S{i}") for i in range(4)) == 4
        assert budget.screen(span, "scanner", "S0", 0.5, 1.0, 0.1) is None  # a repeat: skipped, not counted
        assert budget.screen(span, "scanner", "S7", 0.5, 1.0, 0.1) is None  # a first failure: counted
        assert budget.screen(span, "scanner", "S8", 0.95, 1.0, 0.1) == NEAR_MISS  # near misses still fit
        assert budget.admit(span, NEAR_MISS, "scanner", "S9")
    assert budget.left_out == 1
    capture.close()


def test_a_fresh_span_screens_each_failure_into_its_tier() -> None:
    from otel_breakout.diagnostics._spans import FAILURE

    capture = capture_telemetry()
    budget = SpanEventBudget(8)
    with capture.telemetry.get_tracer().start_as_current_span("scan") as span:
        assert budget.screen(span, "scanner", "S0", 0.5, 1.0, 0.1) == FAILURE
        assert budget.screen(span, "scanner", "S0", 0.95, 1.0, 0.1) == NEAR_MISS
        assert budget.screen(span, "scanner", "S0", 0.95, 1.0, 0.01) == FAILURE  # the margin decides
    assert budget.left_out == 0  # screening alone never counts a candidate that may still fit
    capture.close()
