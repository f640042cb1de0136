from __future__ import annotations

import threading

from otel_breakout.diagnostics._metrics import DropCounter


def test_drops_are_totalled_and_reported_once() -> None:
    drops = DropCounter()
    drops.add("queue", "full")
    drops.add("queue", "full", 4)
    drops.set_total("span_events", "budget", 7)
    assert drops.totals() == {"queue:full": 5, "span_events:budget": 7}
    assert sorted(drops.take_new()) == [("queue", "full", 5), ("span_events", "budget", 7)]
    assert drops.take_new() == []
    drops.add("queue", "full")
    drops.set_total("span_events", "budget", 9)
    assert sorted(drops.take_new()) == [("queue", "full", 1), ("span_events", "budget", 2)]


def test_drops_from_many_threads_are_exact() -> None:
    drops = DropCounter()

    def work() -> None:
        for _ in range(10_000):
            drops.add("queue", "full")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert drops.totals() == {"queue:full": 40_000}
