"""The span-event budget: bounded, counted, and cheap once a span is full."""

from __future__ import annotations

from otel_breakout.diagnostics._spans import NEAR_MISS, SpanEventBudget
from otel_breakout.testing import capture_telemetry


def test_a_saturated_span_refuses_failures_cheaply_and_says_so() -> None:
    capture = capture_telemetry()
    budget = SpanEventBudget(8)  # failures 4, near misses 6, signals 8
    with capture.telemetry.get_tracer().start_as_current_span("scan") as span:
        admitted = sum(budget.admit(span, NEAR_MISS, "scanner", f"S{i}") for i in range(6))
        assert admitted == 6 and budget.saturated(span)
        assert budget.left_out == 1
        for _ in range(9):
            assert budget.saturated(span)
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
        assert budget.saturated(span, "scanner", "S0", near=False)  # a repeat: skipped, not counted
        assert budget.saturated(span, "scanner", "S7", near=False)  # a first failure: counted
        assert not budget.saturated(span)  # near misses still fit
        assert budget.admit(span, NEAR_MISS, "scanner", "S9")
    assert budget.left_out == 1
    capture.close()
