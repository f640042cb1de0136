"""The scenarios do what they say: planted faults are found and fixed by the report, runs are reproducible."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from otel_breakout.demo._scenarios import SCENARIOS
from otel_breakout.report import DiagnosticsReportBuilder
from tests.support.demo import DemoProcess, demo_env, run_demo_to_end

pytestmark = pytest.mark.slow

CYCLES, SYMBOLS = "240", "200"
PLANTED = [s for s in SCENARIOS.values() if s.planted_reason]


def _run(tmp_path: Path, name: str, *args: str) -> DemoProcess:
    return run_demo_to_end(tmp_path / name, ["--cycles", CYCLES, "--symbols", SYMBOLS, "--speed", "0", *args])


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> DemoProcess:
    return _run(tmp_path_factory.mktemp("default"), "default")


@pytest.mark.parametrize("scenario", PLANTED, ids=[s.name for s in PLANTED])
def test_a_planted_fault_is_ranked_first_and_its_recommendation_recovers_the_signals(
    tmp_path: Path, default_run: DemoProcess, scenario: object
) -> None:
    from otel_breakout.demo._scenarios import Scenario

    assert isinstance(scenario, Scenario) and scenario.planted_reason and scenario.planted_setting
    fault = _run(tmp_path, "fault", "--scenario", scenario.name)
    report = DiagnosticsReportBuilder([str(p) for p in fault.journal()]).build()
    assert report.top_blocker() == scenario.planted_reason, report.to_markdown()[:3000]
    recommendation = report.recommendation_for(scenario.planted_reason)
    assert recommendation is not None and recommendation.recommended is not None
    threshold = recommendation.recommended.threshold
    # The report the demo itself wrote says the same.
    assert scenario.planted_reason in fault.report.read_text()

    fixed = _run(tmp_path, "fixed", "--scenario", scenario.name, "--set", f"{scenario.planted_setting}={threshold}")
    healthy = sum(default_run.final_signals().values())
    starved = sum(fault.final_signals().values())
    recovered = sum(fixed.final_signals().values()) - starved
    lost = healthy - starved
    assert lost > 0.3 * healthy, (healthy, starved)  # the fault really starves signals
    assert recovered > 0.5 * lost, (healthy, starved, recovered, threshold)


def _decisions(demo: DemoProcess) -> list[tuple[object, ...]]:
    keep = ("component", "stage", "symbol", "passed", "reason", "near_miss")
    return [(*(e[k] for k in keep), json.dumps(e["payload"], sort_keys=True)) for e in demo.events()]


def test_same_seed_same_counts(tmp_path: Path, default_run: DemoProcess) -> None:
    again = _run(tmp_path, "again")
    assert again.final_signals() == default_run.final_signals()
    assert _decisions(again) == _decisions(default_run)
    other = _run(tmp_path, "other", "--seed", "8")
    assert _decisions(other) != _decisions(default_run)


def test_starved_goes_long_stretches_without_a_signal(tmp_path: Path) -> None:
    starved = _run(tmp_path, "starved", "--scenario", "starved")
    candles = sorted(
        float(payload["candle_ts"])
        for event in starved.events()
        if event["component"] == "signal" and isinstance(payload := event["payload"], dict) and payload.get("signal")
    )
    gaps = [(b - a) / 60 for a, b in pairwise(candles)]
    assert max(gaps) >= 30  # the starvation alert fires after 15 cycles without a signal


def test_leaky_grows_memory_and_the_resource_monitor_clears_it(tmp_path: Path) -> None:
    env = demo_env(
        OTEL_BREAKOUT_RESOURCE_INTERVAL="0.2",
        OTEL_BREAKOUT_RESOURCE_MAX_MEMORY_MB="1",  # always over: the monitor acts on every cooldown
        OTEL_BREAKOUT_RESOURCE_COOLDOWN="1",
    )
    leaky = run_demo_to_end(tmp_path, ["--scenario", "leaky", "--cycles", "40", "--speed", "10", "--symbols", "40"],
                            env=env)  # fmt: skip
    released = [line for line in leaky.lines if "released" in line and "MiB" in line]
    assert released, leaky.output
