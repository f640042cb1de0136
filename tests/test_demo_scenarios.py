"""The scenarios do what they say: planted faults are found and fixed by the report's outcome advice, runs are
reproducible."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from otel_breakout.demo._scenarios import SCENARIOS
from tests.support.demo import DemoProcess, demo_env, engine_outcome, run_demo_to_end

pytestmark = pytest.mark.slow

CYCLES, SYMBOLS = "240", "200"
PLANTED = [s for s in SCENARIOS.values() if s.planted_reason]


def _run(tmp_path: Path, name: str, *args: str) -> DemoProcess:
    return run_demo_to_end(tmp_path / name, ["--cycles", CYCLES, "--symbols", SYMBOLS, "--speed", "0", *args])


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> DemoProcess:
    return _run(tmp_path_factory.mktemp("default"), "default")


# Seeds no other test or benchmark uses, chosen before the outcome rule was tried on them (the rule was
# designed on seeds 1-8 and its hurdle set on 411-420); docs/report.md ("On the demo") has the figures for
# these, for 411-420 and for 501-505.
ACCEPTANCE_SEEDS = (201, 202, 203, 204, 205)
# Final equity moves by 1% of itself on average (0.2% to 2.2%, standard deviation) when a threshold moves by
# up to 5% around its healthy value (measured on these seeds): "toward the healthy run" allows twice the
# largest of those, 4%, on top of getting closer than the planted run.
EQUITY_NOISE = 0.04
# Planted: --set name of the mis-set threshold; default: the names its top blocker could need.
SETTINGS = {
    "signal:momentum:volume_threshold": "momentum_volume_ratio",
    "signal:momentum:breakout_confirmation": "momentum_confirmation_atr",
    "filter:atr_range": "min_atr_pct",
}


@dataclass
class _Outcome:
    signals: int
    equity: float
    report: dict[str, Any]


def _acceptance_run(tmp_path: Path, scenario: str, seed: int) -> _Outcome:
    directory = tmp_path / f"{scenario}-{seed}"
    demo = run_demo_to_end(directory, ["--cycles", CYCLES, "--symbols", SYMBOLS, "--speed", "0", "--seed", str(seed),
                                       "--scenario", scenario, "--report", str(directory / "report.json")])  # fmt: skip
    report = json.loads((directory / "report.json").read_text())
    return _Outcome(sum(demo.final_signals().values()), demo.final_equity(), report)


def _toward(applied: float, planted: float, healthy: float) -> bool:
    return abs(applied - healthy) <= max(abs(planted - healthy), EQUITY_NOISE * healthy)


def test_planted_faults_are_found_and_the_outcome_advice_recovers_them(tmp_path: Path) -> None:
    """The issue's acceptance, as a user runs it: ``otel-breakout demo --cycles 240 --symbols 200 --seed N
    --speed 0 --no-api`` per scenario and seed, the advice its own report gives for the planted reason (judged
    by outcomes), and the same run with that advice applied through ``--set``."""
    names = ["default", *(s.name for s in PLANTED)]
    with ThreadPoolExecutor(2) as pool:  # each run is its own process
        runs = dict(zip([(n, seed) for seed in ACCEPTANCE_SEEDS for n in names],
                        pool.map(lambda key: _acceptance_run(tmp_path, *key),
                                 [(n, seed) for seed in ACCEPTANCE_SEEDS for n in names]), strict=True))  # fmt: skip
        applied_keys, jobs = [], []
        for (name, seed), run in runs.items():
            scenario = SCENARIOS[name]
            reason = scenario.planted_reason or run.report["top_blocker"]
            advice = run.report["recommended_thresholds"][reason]
            setting = scenario.planted_setting or SETTINGS.get(reason)
            if advice["advised"] and setting:
                applied_keys.append((name, seed))
                jobs.append(pool.submit(engine_outcome, name, seed, [f"{setting}={advice['threshold']!r}"]))
        applied = {key: job.result() for key, job in zip(applied_keys, jobs, strict=True)}
    # The in-process engine ends exactly where the command does (same market, same thresholds).
    first = runs[("default", ACCEPTANCE_SEEDS[0])]
    signals, equity = engine_outcome("default", ACCEPTANCE_SEEDS[0])
    assert signals == first.signals and equity == pytest.approx(first.equity, abs=0.01)  # printed to the cent

    rows: list[str] = []
    problems: list[tuple[Any, ...]] = []
    equity_misses: list[tuple[str, int]] = []
    for (name, seed), run in runs.items():
        healthy = runs[("default", seed)]
        for entry in run.report["recommended_thresholds"].values():  # every verdict says what it rests on
            if not (
                entry["basis"] == "outcomes" and entry["horizon_bars"] == 20 and "blocked_outcomes" in entry["sample"]
            ):
                problems.append((name, seed, "basis", entry))
        if name == "default":
            top = run.report["top_blocker"]
            verdict = run.report["recommended_thresholds"][top]["verdict"]
            signals, equity = applied.get((name, seed), (run.signals, run.equity))
            rows.append(f"{name} {seed}: {top} {verdict}, signals {run.signals} -> {signals}, equity {run.equity:,.0f} "
                        f"-> {equity:,.0f}")  # fmt: skip
            # Keep, or a change of at most 20% of the signals that loses no equity.
            if not (verdict == "keep" or (abs(signals / run.signals - 1) <= 0.2 and equity >= run.equity)):
                problems.append((name, seed, verdict, signals, equity))
            continue
        scenario = SCENARIOS[name]
        reason = scenario.planted_reason
        advice = run.report["recommended_thresholds"][reason]
        signals, equity = applied.get((name, seed), (run.signals, run.equity))
        lost = healthy.signals - run.signals
        recovered, beyond = (signals - run.signals) / lost, signals / healthy.signals - 1
        toward = _toward(equity, run.equity, healthy.equity)
        rank = [b["reason"] for b in run.report["blocked"]].index(reason) + 1
        rows.append(f"{name} {seed}: rank {rank}, {advice['verdict']} to {advice['threshold']:.4g}, recovered "
                    f"{recovered:.0%}, beyond healthy {beyond:+.0%}, equity {run.equity:,.0f} -> {equity:,.0f} "
                    f"(healthy {healthy.equity:,.0f})")  # fmt: skip
        if run.report["top_blocker"] != reason or not advice["advised"]:
            problems.append((name, seed, "rank or advice", run.report["top_blocker"], advice["verdict"]))
        if lost <= 0.25 * healthy.signals:  # the fault really starves signals
            problems.append((name, seed, "not starved", lost))
        if not (recovered >= 0.8 and beyond <= 0.2):
            problems.append((name, seed, "recovery", recovered, beyond))
        if not toward:
            equity_misses.append((name, seed))
    print("\n".join(rows))
    assert not problems, problems
    # Equity: the narrow ATR filter costs a quarter of it, and the advice wins it back every time. The strict
    # volume and confirmation faults cost little (the signals they keep are the best ones), so the loosened
    # runs mostly land within noise of the healthy one; on seed 202 the volume advice goes below the healthy
    # threshold (1.81 against 2) and its extra signals cost 9% (docs/report.md, "On the demo").
    assert not [miss for miss in equity_misses if miss[0] != "strict_volume"], equity_misses
    assert len(equity_misses) <= 1, equity_misses


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
