"""The writer's queue: a bounded put that never blocks, and a stop that counts what it could not write."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from otel_breakout.diagnostics._coerce import Sanitizer
from otel_breakout.diagnostics._event import DiagnosticsEvent
from otel_breakout.diagnostics._journal import Journal
from otel_breakout.diagnostics._metrics import DropCounter
from otel_breakout.diagnostics._pipeline import RECORD, Pipeline, Session
from otel_breakout.diagnostics._writer import Writer


def _writer(tmp_path: Path, listener: Any, capacity: int = 1000) -> Writer:
    pipeline = Pipeline(
        sanitizer=Sanitizer(),
        margin=0.1,
        journal=Journal(max_bytes=1 << 30),
        logger=None,
        log_passes=False,
        instruments=None,
        drops=DropCounter(),
        listeners=[listener],
    )
    return Writer(pipeline, capacity=capacity, interval_s=0.01)


def _item(session: Session, n: int) -> tuple[Any, ...]:
    return (RECORD, 1_755_640_800.0 + n, None, session, "engine", "cycle", None, {"n": n}, None, None)


def _lines(session: Session) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in session.path.read_bytes().splitlines()]


def test_put_counts_what_a_full_queue_refuses(tmp_path: Path) -> None:
    release = threading.Event()
    entered = threading.Event()

    def slow(event: DiagnosticsEvent) -> None:
        entered.set()
        release.wait(30)

    writer = _writer(tmp_path, slow, capacity=16)
    session = Session("S", tmp_path / "diag_S_1.jsonl")
    try:
        assert writer.put(_item(session, 0))
        assert entered.wait(30)  # the writer took the first item and waits in the listener
        accepted = [writer.put(_item(session, n)) for n in range(1, 21)]
        assert accepted == [True] * 16 + [False] * 4
        assert writer.pipeline.drops.totals() == {"queue:full": 4}
    finally:
        release.set()
        writer.stop(30.0)
    assert [line["payload"]["n"] for line in _lines(session)] == list(range(17))


def test_a_stop_that_times_out_counts_the_queued_events_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    entered = threading.Event()

    def slow(event: DiagnosticsEvent) -> None:
        entered.set()
        release.wait(30)

    writer = _writer(tmp_path, slow)
    session = Session("S", tmp_path / "diag_S_1.jsonl")
    assert writer.put(_item(session, 0))
    assert entered.wait(30)  # the writer is busy with the first batch
    for n in range(1, 101):
        assert writer.put(_item(session, n))
    with caplog.at_level(logging.WARNING, logger="otel_breakout.diagnostics"):
        writer.stop(0.2)
    try:
        assert writer.alive and not writer.queue
        assert writer.pipeline.drops.totals() == {"all:shutdown": 100}
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "100 queued events dropped" in warnings[0] and "all:shutdown" in warnings[0]
        writer.stop(0.2)  # a second stop is a no-op: nothing counted twice
        assert writer.pipeline.drops.totals() == {"all:shutdown": 100}
    finally:
        release.set()
    writer._thread.join(30)
    assert not writer._thread.is_alive()  # (not .alive: mypy narrowed it above)
    assert writer.pipeline.journal is not None and writer.pipeline.journal._fd is None
    # What the writer had taken was written; the rest is exactly what was counted.
    assert [line["payload"]["n"] for line in _lines(session)] == [0]


def test_a_stop_in_time_drops_nothing(tmp_path: Path) -> None:
    writer = _writer(tmp_path, lambda event: None)
    session = Session("S", tmp_path / "diag_S_1.jsonl")
    for n in range(500):
        assert writer.put(_item(session, n))
    writer.stop(30.0)
    assert not writer.alive and writer.pipeline.drops.totals() == {}
    assert len(_lines(session)) == 500
