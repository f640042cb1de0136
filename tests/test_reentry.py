from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from otel_breakout._reentry import ReentryGuard

ROOT = Path(__file__).resolve().parent.parent


def test_guard_refuses_its_own_thread_and_waits_for_others() -> None:
    guard = ReentryGuard()
    assert guard.enter()
    assert not guard.enter()  # the holder's thread asking again: refused, not a deadlock
    assert not guard.try_enter()
    seen: list[bool] = []

    def other() -> None:
        seen.append(guard.try_enter())  # never waits
        seen.append(guard.enter())  # waits for the holder, then gets it
        guard.exit()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(0.2)
    assert seen == [False]  # still waiting in enter()
    guard.exit()
    thread.join(5)
    assert seen == [False, True]
    assert guard.enter()
    guard.exit()


@pytest.mark.parametrize(
    ("case", "interval"),
    [("histogram", 0.002), ("counter", 0.002), ("spans", 0.002), ("prometheus", 0.05)],
)
def test_recording_from_a_signal_handler_never_deadlocks(case: str, interval: float) -> None:
    # SIGALRM interrupts the main loop wherever it is, including inside our locks and the SDK's; a deadlock
    # would hang the child, so it runs with a deadline and a hang fails instead of hanging the suite.
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.support.signal_bot", case, "2", str(interval)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case}: recording from a signal handler deadlocked")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["handled"] > 10
    if case in ("histogram", "prometheus"):
        # Every cycle booked, by the loop and by the handler, reaches the counter and the histogram: nothing
        # was lost by deferring a nested call.
        assert result["cycles"] == result["cycle_count"] == result["loops"] + result["handled"]
    if case == "histogram":
        assert result["pnl_count"] == result["loops"] + result["handled"]
    if case == "counter":
        assert result["total"] == result["loops"] + result["handled"]
    if case == "spans":
        assert result["span_events"] > 0
        assert result["journal_events"] > 0
