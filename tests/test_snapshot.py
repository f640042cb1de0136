from __future__ import annotations

import json
import os
import re
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_breakout.metrics import take_memory_snapshot


class LeakyCandle:
    """A user type that must never be touched beyond its type: every hook records that it was called."""

    calls: list[str] = []  # noqa: RUF012  # shared on purpose

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        LeakyCandle.calls.append("repr")
        raise RuntimeError("repr must not be called")

    def __len__(self) -> int:
        LeakyCandle.calls.append("len")
        raise RuntimeError("len must not be called")

    def __eq__(self, other: object) -> bool:
        LeakyCandle.calls.append("eq")
        raise RuntimeError("eq must not be called")

    def __hash__(self) -> int:
        LeakyCandle.calls.append("hash")
        raise RuntimeError("hash must not be called")

    @property  # type: ignore[misc]  # overriding __class__ on purpose, as proxies do
    def __class__(self) -> type:
        LeakyCandle.calls.append("__class__")
        raise RuntimeError("__class__ must not be read")


HELD: list[LeakyCandle] = []


@pytest.fixture
def leak() -> Iterator[list[LeakyCandle]]:
    HELD.extend(LeakyCandle(i) for i in range(3000))
    LeakyCandle.calls.clear()
    try:
        yield HELD
    finally:
        HELD.clear()


def _check_schema(snapshot: dict[str, Any], top: int) -> None:
    assert snapshot["version"] == 1
    assert {"timestamp", "created", "pid", "python", "duration_s", "time_budget_s", "truncated", "process", "gc",
            "tracemalloc", "objects", "largest_containers", "referrers", "path"} <= set(snapshot)  # fmt: skip
    assert snapshot["pid"] == os.getpid()
    assert snapshot["process"]["rss_bytes"] > 0
    assert len(snapshot["gc"]["thresholds"]) == 3
    by_type = snapshot["objects"]["by_type"]
    assert 0 < len(by_type) <= top and snapshot["objects"]["tracked"] > 1000
    assert [t["count"] for t in by_type] == sorted((t["count"] for t in by_type), reverse=True)
    containers = snapshot["largest_containers"]
    assert 0 < len(containers) <= top
    assert [c["length"] for c in containers] == sorted((c["length"] for c in containers), reverse=True)
    assert len(snapshot["tracemalloc"]["top"]) <= top
    json.dumps(snapshot)
    for text in re.findall(r'"((?:[^"\\]|\\.)*)"', json.dumps(snapshot)):
        assert len(text) <= 400  # every string is bounded


def test_snapshot_without_tracemalloc_says_how_to_turn_it_on(leak: list[LeakyCandle]) -> None:
    assert not tracemalloc.is_tracing()
    snapshot = take_memory_snapshot(top=10)
    _check_schema(snapshot, 10)
    assert snapshot["tracemalloc"]["tracing"] is False
    assert "PYTHONTRACEMALLOC=1" in snapshot["tracemalloc"]["how_to_enable"]
    assert snapshot["path"] is None and snapshot["truncated"] == []
    # The leak is visible: its type is counted and a referrer chain leads to the module holding it.
    counts = {t["type"]: t["count"] for t in snapshot["objects"]["by_type"]}
    assert counts.get("tests.test_snapshot.LeakyCandle", 0) >= 3000 or any(
        r["type"] == "tests.test_snapshot.LeakyCandle" for r in snapshot["referrers"]
    )
    chain = next(r for r in snapshot["referrers"] if r["type"] == "tests.test_snapshot.LeakyCandle")
    assert chain["count"] == 3000
    assert chain["chain"][0] == {"type": "list", "length": 3000}
    assert {"type": "module", "module": "tests.test_snapshot"} in chain["chain"]
    assert {"type": "list", "length": 3000, "size_bytes": chain_size(leak)} in snapshot["largest_containers"]
    assert LeakyCandle.calls == []  # no user code ran


def chain_size(obj: object) -> int:
    import sys

    return sys.getsizeof(obj)


def test_snapshot_with_tracemalloc_lists_top_allocations(leak: list[LeakyCandle]) -> None:
    tracemalloc.start(5)
    try:
        blocks = [bytearray(2048) for _ in range(500)]
        # Every allocation is traced now, which slows the heap pass ~10x: skip the referrer search here, and give
        # the pass time enough on a loaded machine (past the 5 s default it truncates, and lists no containers;
        # truncation has its own test below).
        snapshot = take_memory_snapshot(top=5, referrer_types=0, time_budget_s=120)
    finally:
        tracemalloc.stop()
    _check_schema(snapshot, 5)
    traced = snapshot["tracemalloc"]
    assert traced["tracing"] is True and traced["traceback_limit"] == 5
    assert traced["traced_current_bytes"] >= 500 * 2048
    first = traced["top"][0]
    assert first["file"] == __file__ and first["size_bytes"] >= 500 * 2048 and first["count"] >= 500
    assert not any(entry["file"].endswith(os.path.join("metrics", "_snapshot.py")) for entry in traced["top"])
    assert len(blocks) == 500 and LeakyCandle.calls == []


def test_snapshot_files(tmp_path: Path) -> None:
    first = take_memory_snapshot(tmp_path, top=3)
    assert re.fullmatch(r"memory_snapshot_\d{8}_\d{6}\.json", Path(first["path"]).name)
    second = take_memory_snapshot(str(tmp_path) + os.sep, top=3)
    assert second["path"] != first["path"]  # same second: never overwritten
    for snapshot in (first, second):
        on_disk = json.loads(Path(snapshot["path"]).read_text())
        assert on_disk["path"] == snapshot["path"] and on_disk["version"] == 1
        assert oct(Path(snapshot["path"]).stat().st_mode & 0o777) == "0o600"
    named = take_memory_snapshot(tmp_path / "mine.json", top=3)
    assert named["path"] == str(tmp_path / "mine.json")


def test_bad_arguments_fail_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        take_memory_snapshot(tmp_path / "missing" / "snap.json")
    with pytest.raises(FileNotFoundError):
        take_memory_snapshot(str(tmp_path / "missing") + "/")
    for top in (0, 1001, True, 2.5):
        with pytest.raises(ValueError, match="top"):
            take_memory_snapshot(top=top)  # type: ignore[arg-type]  # bad on purpose
    with pytest.raises(ValueError, match="time_budget_s"):
        take_memory_snapshot(time_budget_s=0)


def test_time_budget_truncates_instead_of_running_long(leak: list[LeakyCandle]) -> None:
    snapshot = take_memory_snapshot(top=5, time_budget_s=1e-9)
    assert snapshot["truncated"] == ["largest_containers", "referrers"]
    assert snapshot["referrers"] == [] and snapshot["largest_containers"] == []
    assert snapshot["objects"]["by_type"]  # counting by type runs at C speed and always completes
    json.dumps(snapshot)


def test_concurrent_snapshots_take_turns() -> None:
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(take_memory_snapshot(top=3))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and all(r["version"] == 1 for r in results)
