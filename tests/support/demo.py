"""Run ``otel-breakout demo`` in a subprocess, the way a user does, and read what it printed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.binaries import venv_bin

_URL = re.compile(r"metrics \(Prometheus\)\s+(http://\S+)/api/metrics")
_DONE = re.compile(r"done: (\d+) cycles, signals: (.*?), trades opened")
_EQUITY = re.compile(r"done: .*, equity ([\d,.-]+), cycle p50")


@dataclass
class DemoProcess:
    process: subprocess.Popen[str]
    diag_dir: Path
    report: Path
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            match = regex.search(self.output)
            if match:
                return match
            if self.process.poll() is not None and not regex.search(self.output):
                time.sleep(0.2)
                if regex.search(self.output):
                    continue
                raise AssertionError(f"the demo exited ({self.process.returncode}) before {pattern!r}:\n{self.output}")
            time.sleep(0.05)
        raise AssertionError(f"the demo never printed {pattern!r}:\n{self.output}")

    @property
    def api_url(self) -> str:
        return self.wait_for(_URL.pattern).group(1)

    def journal(self) -> list[Path]:
        return sorted(self.diag_dir.glob("diag_*.jsonl*"))

    def events(self) -> list[dict[str, object]]:
        return [json.loads(line) for path in self.journal() for line in path.read_text().splitlines()]

    def final_equity(self) -> float:
        return float(self.wait_for(_EQUITY.pattern).group(1).replace(",", ""))

    def final_signals(self) -> dict[str, int]:
        text = self.wait_for(_DONE.pattern).group(2)
        if text == "none":
            return {}
        return {name: int(count) for name, count in (part.rsplit(" ", 1) for part in text.split(", "))}


def demo_env(**extra: str) -> dict[str, str]:
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    env.update(extra)
    return env


@contextmanager
def running_demo(tmp_path: Path, args: Sequence[str], *, env: dict[str, str] | None = None) -> Iterator[DemoProcess]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    diag_dir, report = tmp_path / "diag", tmp_path / "reports" / "diag_summary.md"
    command = [venv_bin("otel-breakout"), "demo", "--port", "0", "--diag-dir", str(diag_dir), "--report", str(report),
               *args]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                               env=env or demo_env())  # fmt: skip
    demo = DemoProcess(process, diag_dir, report)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            demo.lines.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield demo
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def run_demo_to_end(
    tmp_path: Path, args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 300
) -> DemoProcess:
    """Run a demo with ``--no-api`` to completion and return what it left behind."""
    with running_demo(tmp_path, ["--no-api", *args], env=env) as demo:
        demo.process.wait(timeout=timeout)
        demo.wait_for(_DONE.pattern)
    assert demo.process.returncode == 0, demo.output
    return demo


def engine_outcome(
    scenario: str, seed: int, settings: Sequence[str] = (), *, cycles: int = 240, symbols: int = 200
) -> tuple[int, float]:
    """Signals and final equity of the demo's engine with telemetry off, in this process.

    The engine does the same trading work whatever its telemetry (the demo benchmark's baseline relies on
    it), so this is what ``otel-breakout demo --scenario S --seed N --set ...`` ends with, in half the time;
    tests/test_demo_scenarios.py checks the two agree.
    """
    from otel_breakout import Settings, Telemetry
    from otel_breakout.demo._config import DemoConfig
    from otel_breakout.demo._engine import Engine
    from otel_breakout.demo._market import Market
    from otel_breakout.demo._scenarios import get_scenario
    from otel_breakout.diagnostics import DiagnosticsCollector
    from otel_breakout.metrics import MetricsLogger

    spec = get_scenario(scenario)
    config = DemoConfig().with_overrides(spec.overrides, source=f"scenario {scenario}:").with_settings(settings)
    off = Telemetry.create(Settings.from_env({"OTEL_SDK_DISABLED": "true"}))
    market = Market(symbols, seed, spec.profile, config.bar_seconds)
    market.warm_up()
    collector = DiagnosticsCollector(enabled=False, telemetry=off)
    engine = Engine(config, market, tracer=off.get_tracer("test"), collector=collector, metrics=MetricsLogger(off))
    for _ in range(cycles):
        engine.run_cycle()
    off.shutdown()
    return sum(engine.totals.signals.values()), engine.positions.equity
