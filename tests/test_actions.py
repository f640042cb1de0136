from __future__ import annotations

import logging
import threading
from dataclasses import replace

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from otel_breakout import Settings
from otel_breakout.metrics import ResourceLimits
from otel_breakout.metrics._actions import PRIORITIES, CorrectiveActions, thread_report
from otel_breakout.metrics._resources import ResourceSampler
from tests.test_health import CALM as SAMPLE


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _actions(clock: Clock, **cooldowns: float) -> CorrectiveActions:
    config = Settings.from_env({"OTEL_BREAKOUT_RESOURCE_COOLDOWN": "60"}).resources
    return CorrectiveActions(config, ResourceSampler(), cooldowns=cooldowns, clock=clock)


def test_thread_report_groups_by_name_family() -> None:
    count, families = thread_report()
    assert count >= 1 and families[0][1] >= 1
    assert all(not name[-1:].isdigit() for name, _ in families)


def test_actions_run_by_priority_each_within_its_cooldown(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    actions = _actions(clock, thread_warning=10)
    cleared: list[str] = []

    def clear_quotes() -> int:
        cleared.append("quotes")
        return 7

    actions.register_cache("quotes", clear_quotes)
    with caplog.at_level(logging.WARNING, logger="otel_breakout.metrics"):
        done = actions.run({"thread_warning", "cache_clear", "gc"}, SAMPLE, ResourceLimits())
    assert [a.action_type for a in done] == ["gc", "cache_clear", "thread_warning"]
    assert [a.priority for a in done] == [PRIORITIES[a.action_type] for a in done] == [1, 2, 4]
    assert all(a.executed for a in done) and cleared == ["quotes"]
    assert done[1].details == {"quotes": 7} and "limit 80" in done[2].description
    assert actions.count == 3 and actions.last == done[-1].timestamp and list(actions.history) == done
    assert caplog.text.count("resource monitor") == 3
    clock.now += 10  # the thread warning's own cooldown is over, the others' (60 s) are not
    assert [a.action_type for a in actions.run({"gc", "thread_warning"}, SAMPLE, ResourceLimits())] == [
        "thread_warning"
    ]
    clock.now += 60
    assert [a.action_type for a in actions.run({"gc"}, SAMPLE, ResourceLimits())] == ["gc"]


def test_actions_that_cannot_act_do_not_run() -> None:
    actions = _actions(Clock())  # no cache registered, no log directory configured
    assert actions.run({"cache_clear", "log_cleanup"}, SAMPLE, ResourceLimits()) == []
    assert actions.count == 0 and actions.last is None


def test_a_failed_action_is_recorded_not_raised_nor_counted() -> None:
    actions = _actions(Clock())
    actions.register_cache("broken", lambda: 1 / 0)
    (done,) = actions.run({"cache_clear"}, SAMPLE, ResourceLimits())
    assert not done.executed and done.details == {"error": "RuntimeError"}
    assert "every cache callback failed (broken)" in done.description
    assert actions.count == 0


def test_unknown_cooldowns_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        _actions(Clock(), reboot=1)


def test_executed_actions_are_counted_from_zero() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        actions = _actions(Clock())
        actions.run({"gc"}, SAMPLE, ResourceLimits())  # before instrument(): counted nowhere
        actions.instrument(provider.get_meter("test"))
        actions.run({"thread_warning"}, replace(SAMPLE, active_threads=threading.active_count()), ResourceLimits())
        data = reader.get_metrics_data()
    finally:
        provider.shutdown()
    assert data is not None
    (metric,) = [m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
    assert metric.name == "breakout.resource.actions"
    counts = {p.attributes["action"]: p.value for p in metric.data.data_points if isinstance(p, NumberDataPoint)
              and p.attributes is not None}  # fmt: skip
    assert counts == {"gc": 0, "cache_clear": 0, "log_cleanup": 0, "thread_warning": 1}
