"""The demo against a collector that is down, black-holed or killed mid-run, against the same demo with no endpoint.

Each run is a real ``otel-breakout demo --speed 4 --no-api --symbols 100`` subprocess; the backends are real
sockets on loopback: *down* is a closed port (connections refused), *black hole* a listener that accepts every
connection and never answers, *killed* a ``rotel-agent`` that receives for a few seconds and is then killed
(SIGKILL). Two measurements per backend:

- cycles completed in the run's duration, against the run with no endpoint started at the same moment (all
  backends run side by side, so load hits them alike): the loop must keep its pace (>= 0.90x);
- seconds from SIGTERM to the process's exit, sent a few seconds into a run (while the first exports still
  wait on the collector), median of three: within 5 s whatever the backend does.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks._harness import Row
from benchmarks._rotel import start_rotel
from tests.support.outage import black_hole, closed_port_endpoint

_DONE = re.compile(r"done: (\d+) cycles")
_SPEED = 4
_SYMBOLS = 100


def _demo(workdir: Path, endpoint: str | None, duration_s: float) -> subprocess.Popen[str]:
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    if "PYTHONPATH" in os.environ:  # to measure another checkout of the package with the same benchmark
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if endpoint is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "otel_breakout", "demo", "--no-api", "--speed", str(_SPEED),
               "--symbols", str(_SYMBOLS), "--duration", f"{duration_s:g}", "--diag-dir", str(workdir / "diag"),
               "--report", str(workdir / "report.md")]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _cycles(process: subprocess.Popen[str], timeout: float) -> int:
    output, _ = process.communicate(timeout=timeout)
    match = _DONE.search(output)
    if process.returncode != 0 or match is None:
        raise RuntimeError(f"the demo failed ({process.returncode}):\n{output[-3000:]}")
    return int(match.group(1))


def _sigterm_to_exit(process: subprocess.Popen[str], after_s: float) -> float:
    time.sleep(after_s)
    if process.poll() is not None:
        raise RuntimeError(f"the demo ended before SIGTERM:\n{process.communicate()[0][-3000:]}")
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return float("inf")
    return time.monotonic() - sent


def _side_by_side(tasks: dict[str, Callable[[], float]]) -> dict[str, float]:
    results: dict[str, float] = {}
    errors: list[BaseException] = []

    def run(name: str, task: Callable[[], float]) -> None:
        try:
            results[name] = task()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in tasks.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _killed_rotel(workdir: Path, after_s: float) -> tuple[str, threading.Thread]:
    process, endpoint = start_rotel(workdir)

    def kill() -> None:
        time.sleep(after_s)
        process.kill()
        process.wait()

    killer = threading.Thread(target=kill, daemon=True)
    return endpoint, killer


def run(quick: bool) -> Iterator[Row]:
    duration = 8.0 if quick else 20.0
    stops = (3.0,) if quick else (2.0, 4.0, 8.0)
    names = {"down": "collector down (closed port)", "black hole": "collector black-holed (accepts, never answers)",
             "killed": "collector killed mid-run (rotel-agent, SIGKILL)"}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, black_hole() as hole:
        workdir = Path(tmp)
        endpoints: dict[str, str | None] = {"none": None, "down": closed_port_endpoint(), "black hole": hole}

        def cycles_task(name: str, endpoint: str | None) -> Callable[[], float]:
            return lambda: float(_cycles(_demo(workdir / f"cycles-{name}", endpoint, duration), duration + 60))

        tasks = {name: cycles_task(name, endpoint) for name, endpoint in endpoints.items()}
        rotel_endpoint, killer = _killed_rotel(workdir, duration / 4)
        tasks["killed"] = cycles_task("killed", rotel_endpoint)
        killer.start()
        cycles = _side_by_side(tasks)

        exits: dict[str, list[float]] = {name: [] for name in (*endpoints, "killed")}
        for round_, after in enumerate(stops):

            def stop_task(
                name: str, endpoint: str | None, after: float = after, round_: int = round_
            ) -> Callable[[], float]:
                return lambda: _sigterm_to_exit(_demo(workdir / f"stop-{name}-{round_}", endpoint, 120), after)

            tasks = {name: stop_task(name, endpoint) for name, endpoint in endpoints.items()}
            rotel_endpoint, killer = _killed_rotel(workdir, after / 2)
            tasks["killed"] = stop_task("killed", rotel_endpoint)
            killer.start()
            for name, seconds in _side_by_side(tasks).items():
                exits[name].append(seconds)

    quiet = cycles["none"]
    for name, label in names.items():
        yield Row(
            f"demo loop at {_SPEED}/s, {_SYMBOLS} symbols, {label}: cycles in {duration:g} s vs no endpoint",
            cycles[name],
            quiet,
            "cycles",
            budget=">= 0.90x",
            higher_is_better=True,
        )
    for name, label in names.items():
        yield Row(
            f"demo SIGTERM to exit, {label} (median of {len(stops)}) vs no endpoint",
            statistics.median(exits[name]),
            statistics.median(exits["none"]),
            "s",
            budget="< 5 s (time budget)",
        )
