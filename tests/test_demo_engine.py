from __future__ import annotations

from collections import Counter
from pathlib import Path

from otel_breakout.demo._config import DemoConfig
from otel_breakout.demo._engine import Engine
from otel_breakout.demo._market import Market
from otel_breakout.demo._scenarios import get_scenario
from otel_breakout.metrics import MetricsLogger
from otel_breakout.testing import TelemetryCapture, capture_telemetry


def _run(
    tmp_path: Path, cycles: int = 25, *, seed: int = 7, scenario: str = "default"
) -> tuple[Engine, TelemetryCapture]:
    capture = capture_telemetry()
    spec = get_scenario(scenario)
    config = DemoConfig().with_overrides(spec.overrides, source=spec.name)
    market = Market(60, seed, spec.profile)
    market.warm_up()
    collector = capture.diagnostics_collector(tmp_path / f"diag-{seed}-{scenario}")
    engine = Engine(config, market, tracer=capture.telemetry.get_tracer("demo"), collector=collector,
                    metrics=MetricsLogger(capture.telemetry))  # fmt: skip
    for _ in range(cycles):
        engine.run_cycle()
    collector.close()
    return engine, capture


def test_each_cycle_is_a_span_with_a_child_per_stage(tmp_path: Path) -> None:
    _, capture = _run(tmp_path, cycles=5)
    spans = capture.spans()
    cycles = [s for s in spans if s.name == "engine.cycle"]
    assert len(cycles) == 5
    for cycle in cycles:
        children = sorted(s.name for s in spans if s.parent is not None and s.parent.span_id == cycle.context.span_id)
        assert children == ["engine.manage", "engine.scan", "engine.signals"]
        assert cycle.attributes is not None and "breakout.cycle" in cycle.attributes
    capture.close()


def test_diagnostics_metrics_and_totals_agree(tmp_path: Path) -> None:
    engine, capture = _run(tmp_path)
    events = capture.diagnostics()
    evaluations = [e for e in events if e.payload.get("filter") or e.payload.get("condition")]
    assert len(evaluations) == engine.totals.evaluations
    signals = Counter(e.stage for e in events if e.component == "signal" and e.passed and "condition" not in e.payload)
    assert signals == engine.totals.signals
    # Every filter verdict carries the candle, so the report can join filters and conditions per candle.
    assert all("candle_ts" in e.payload for e in evaluations)
    points = capture.metric_points("breakout.engine.cycles")
    assert sum(points.values()) == 25
    signal_points = capture.metric_points("breakout.signals")
    assert {dict(k)["strategy"]: v for k, v in signal_points.items()} == dict(engine.totals.signals)
    evaluated = capture.metric_points("breakout.diag.evaluations")
    assert sum(evaluated.values()) == engine.totals.evaluations
    transitions = capture.metric_points("breakout.engine.state.transitions")
    assert {(dict(k)["from_state"], dict(k)["to_state"]) for k, v in transitions.items() if v} == {
        ("IDLE", "SCANNING"), ("SCANNING", "SIGNAL_WAIT"), ("SIGNAL_WAIT", "MANAGING"), ("MANAGING", "IDLE"),
    }  # fmt: skip
    capture.close()


def test_same_seed_same_decisions(tmp_path: Path) -> None:
    first, capture_a = _run(tmp_path, seed=3)
    second, capture_b = _run(tmp_path, seed=3)

    def decisions(capture: TelemetryCapture) -> list[tuple[object, ...]]:
        return [(e.symbol, e.stage, e.reason, e.passed, e.payload.get("value")) for e in capture.diagnostics()]

    assert decisions(capture_a) == decisions(capture_b)
    assert first.totals.signals == second.totals.signals
    assert first.positions.equity == second.positions.equity
    _, capture_c = _run(tmp_path, seed=4)
    assert decisions(capture_c) != decisions(capture_a)
    for capture in (capture_a, capture_b, capture_c):
        capture.close()


def test_leaky_engine_keeps_memory_until_the_cache_is_cleared(tmp_path: Path) -> None:
    engine, capture = _run(tmp_path, cycles=10, scenario="leaky")
    assert engine.clear_leak() == 10 * 1024 * 1024
    assert engine.clear_leak() == 0
    capture.close()
