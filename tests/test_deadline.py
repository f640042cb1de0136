"""Blocking calls with a deadline: real threads blocked on real events."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from otel_breakout._deadline import SingleFlight, run_all


def test_single_flight_returns_at_the_deadline_and_does_not_pile_up_a_second_call() -> None:
    release = threading.Event()
    calls: list[str] = []

    def stuck() -> bool:
        calls.append("stuck")
        release.wait(10)
        return True

    flight = SingleFlight("test flush")
    started = time.monotonic()
    assert flight.run(stuck, 0.2) is False
    assert time.monotonic() - started < 5  # the call itself would block for 10 s
    assert flight.busy
    # While the first call is still stuck, the next request waits for it instead of starting another.
    assert flight.run(lambda: calls.append("second"), 0.1) is False
    assert calls == ["stuck"]
    release.set()

    def third() -> bool:
        calls.append("third")
        return True

    assert flight.run(third, 5) is True
    assert calls == ["stuck", "third"]
    assert not flight.busy


def test_single_flight_with_no_time_starts_nothing() -> None:
    ran = threading.Event()
    flight = SingleFlight("test flush")
    assert flight.run(ran.set, 0) is False
    # No thread now and nothing ran: a started one would be alive still, or would have run already.
    assert "otel-breakout-test-flush" not in [thread.name for thread in threading.enumerate()]
    assert not ran.is_set() and not flight.busy


def test_single_flight_reports_false_results() -> None:
    flight = SingleFlight("test flush")
    assert flight.run(lambda: False, 5) is False
    assert flight.run(lambda: None, 5) is True


def test_run_all_cuts_short_what_is_still_running_at_cut_at() -> None:
    release = threading.Event()
    finished: list[str] = []

    def quick() -> None:
        finished.append("quick")

    def stuck() -> None:
        release.wait(10)
        finished.append("stuck")

    now = time.monotonic()
    assert run_all([quick, stuck], now + 5, what="test stop", cut_at=now + 0.2, cut=release.set) is True
    assert sorted(finished) == ["quick", "stuck"]
    never = threading.Event()
    now = time.monotonic()
    assert run_all([lambda: never.wait(10)], now + 0.2, what="test stop") is False
    never.set()


def test_a_forked_child_does_not_wait_for_a_call_its_parent_left_running() -> None:
    code = (
        "import os, sys, threading\n"
        "from otel_breakout._deadline import SingleFlight\n"
        "release = threading.Event()\n"
        "flight = SingleFlight('test flush')\n"
        "assert flight.run(lambda: release.wait(10), 0.05) is False\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0 if not flight.busy and flight.run(lambda: True, 5) else 1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "release.set()\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
