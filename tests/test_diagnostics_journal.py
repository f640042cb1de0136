from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from otel_breakout import DiagnosticsCollector, DiagnosticsSettings, Settings
from otel_breakout.diagnostics import JOURNAL_FIELDS, journal_path, rotated_paths
from otel_breakout.diagnostics._journal import Journal, safe_session_id

ROOT = Path(__file__).resolve().parent.parent
_NAME = r"diag_[A-Za-z0-9._-]+_\d+(\.\d+)?\.jsonl"


def _lines(directory: Path) -> list[bytes]:
    """Every line of every journal in ``directory`` (rotated files first, oldest first)."""
    found: list[bytes] = []
    for base in sorted(directory.glob("diag_*_*.jsonl")):
        if base.name.count(".") > 1:
            continue
        for path in [*rotated_paths(base), base]:
            found.extend(path.read_bytes().splitlines())
    return found


def _child(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"},
        **kwargs,
    )


def test_paths_follow_the_contract(tmp_path: Path) -> None:
    path = journal_path(tmp_path, "S 1/x", now=1755640800.7)
    assert path == tmp_path / "diag_S_1_x_1755640800.jsonl"
    assert safe_session_id("") == "session"
    path.touch()
    (tmp_path / "diag_S_1_x_1755640000.jsonl").touch()
    # A second process (or a restarted bot) of the same session joins the newest journal.
    assert journal_path(tmp_path, "S 1/x", now=1755649999) == path
    assert journal_path(tmp_path, "other", now=5) == tmp_path / "diag_other_5.jsonl"


def test_rotation_keeps_every_line_whole_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "diag_S_1.jsonl"
    journal = Journal(max_bytes=4096)
    journal.target(path)
    for batch in range(40):
        lines = b"".join(b'{"n":%d,"pad":"%s"}\n' % (batch * 10 + i, b"x" * 40) for i in range(10))
        assert journal.write(lines) is None
    journal.close()
    rotated = rotated_paths(path)
    assert [p.name for p in rotated] == [f"diag_S_1.{n}.jsonl" for n in range(1, len(rotated) + 1)]
    assert len(rotated) >= 5
    numbers = [json.loads(line)["n"] for p in [*rotated, path] for line in p.read_bytes().splitlines()]
    assert numbers == list(range(400))
    assert all(p.stat().st_size <= 4096 for p in rotated)


def test_a_torn_last_line_is_terminated_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "diag_S_1.jsonl"
    path.write_bytes(b'{"whole":1}\n{"torn":')
    journal = Journal(max_bytes=1 << 20)
    journal.target(path)
    assert journal.write(b'{"next":2}\n') is None
    journal.close()
    assert path.read_bytes().splitlines() == [b'{"whole":1}', b'{"torn":', b'{"next":2}']


def test_a_full_device_disables_the_journal_with_one_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # /dev/full accepts the open and fails every write with ENOSPC: a real full device.
    path = tmp_path / "diag_S_1.jsonl"
    path.symlink_to("/dev/full")
    journal = Journal(max_bytes=1 << 20)
    journal.target(path)
    with caplog.at_level(logging.ERROR, logger="otel_breakout.diagnostics"):
        assert journal.write(b'{"a":1}\n') == "write_error"
        assert journal.write(b'{"a":2}\n') == "disabled"  # until the retry time: no second error
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert "diagnostics journal disabled" in message and str(path) in message and "ENOSPC" in message
    assert journal.error is not None and "ENOSPC" in journal.error


@pytest.mark.slow
def test_four_processes_of_four_threads_share_one_journal(tmp_path: Path) -> None:
    # The parent creates the session's journal; the children join it and rotate it as it grows.
    with DiagnosticsCollector(session_id="shared", output_dir=tmp_path, settings=Settings.from_env({})) as first:
        first.record("engine", "start", payload={"writer": "parent"})
    writers = [
        _child("tests.support.diag_writer", str(tmp_path), "shared", f"w{n}", "4", "25000", "--max-bytes", "8000000")
        for n in range(4)
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err
        snapshot = json.loads(out)
        assert snapshot["dropped"] == {} and snapshot["event_count"] == 100_000
    lines = _lines(tmp_path)
    assert len(lines) == 400_001
    counts: Counter[tuple[str, int]] = Counter()
    sequences: dict[tuple[str, int], set[int]] = {}
    for line in lines:
        event = orjson.loads(line)  # every line is valid JSON: no torn or interleaved writes
        assert tuple(event) == JOURNAL_FIELDS
        payload = event["payload"]
        if payload.get("writer") == "parent":
            continue
        key = (payload["writer"], payload["thread"])
        counts[key] += 1
        sequences.setdefault(key, set()).add(payload["seq"])
    assert counts == {(f"w{w}", t): 25_000 for w in range(4) for t in range(4)}
    assert all(seqs == set(range(25_000)) for seqs in sequences.values())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) > 2 and all(re.fullmatch(_NAME, n) for n in names)


@pytest.mark.slow
def test_sigkill_loses_only_the_unflushed_tail(tmp_path: Path) -> None:
    writer = _child("tests.support.diag_writer", str(tmp_path), "crash", "w", "1", "50", "--forever")
    watchdog = threading.Timer(120, writer.kill)
    watchdog.start()
    try:
        assert writer.stdout is not None
        recorded = 0
        while recorded < 3000:
            recorded = int(writer.stdout.readline().split()[1])
        # Everything recorded more than the flush interval (50 ms here, at most 1 s) before the kill must be
        # on disk, without any flush() call.
        threading.Event().wait(1.0)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    finally:
        watchdog.cancel()
        if writer.stdout is not None:
            writer.stdout.close()
        if writer.stderr is not None:
            writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL
    [path] = tmp_path.glob("diag_crash_*.jsonl")
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, else the one partial line
    sequences = [orjson.loads(line)["payload"]["seq"] for line in lines]
    assert sequences == list(range(len(sequences)))  # whole, in order, nothing missing
    assert len(sequences) >= recorded
    if tail:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(tail)
    # The next writer of the session ends the torn line and appends whole lines after it.
    with DiagnosticsCollector(session_id="crash", output_dir=tmp_path, settings=Settings.from_env({})) as again:
        again.record("engine", "restart")
    after = path.read_bytes().split(b"\n")
    assert after[: len(lines)] == lines
    assert orjson.loads(after[-2])["stage"] == "restart" and after[-1] == b""


def _drop_permission_overrides() -> None:
    """Runs in the child before exec: without these capabilities root obeys file permissions like anyone."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def unwritable_dir(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A real read-only directory (mode 0555); as root the writer runs without the capabilities that bypass it."""
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    extra: dict[str, Any] = {"preexec_fn": _drop_permission_overrides} if os.geteuid() == 0 else {}
    try:
        yield target, extra
    finally:
        target.chmod(0o755)


def _broken_sinks_run(*args: str, **kwargs: Any) -> dict[str, Any]:
    process = _child("tests.support.diag_sinks", *args, **kwargs)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.mark.slow
def test_a_read_only_directory_disables_only_the_journal(unwritable_dir: tuple[Path, dict[str, Any]]) -> None:
    directory, run_as = unwritable_dir
    result = _broken_sinks_run(str(directory), "500", **run_as)
    assert result["raised"] is None
    [error] = result["errors"]
    assert "diagnostics journal disabled" in error and str(directory) in error and "EACCES" in error
    assert result["logs"] == 500 and result["evaluations"] == 500
    # One span, every event a first failure: the failure tier holds half the per-span budget.
    assert result["span_events"] == DiagnosticsSettings().span_events_per_span // 2
    assert result["snapshot"]["sinks"]["jsonl"] == "disabled"
    dropped = result["snapshot"]["dropped"]
    assert dropped["jsonl:write_error"] >= 1 and dropped["jsonl:write_error"] + dropped["jsonl:disabled"] == 500
    assert list(directory.iterdir()) == []


@pytest.mark.slow
def test_a_file_size_limit_disables_only_the_journal(tmp_path: Path) -> None:
    result = _broken_sinks_run(str(tmp_path), "500", "--fsize", "20000")
    assert result["raised"] is None
    [error] = result["errors"]
    assert "diagnostics journal disabled" in error and "EFBIG" in error
    assert result["logs"] == 500 and result["evaluations"] == 500
    [path] = tmp_path.glob("diag_broken_*.jsonl")
    data = path.read_bytes()
    assert 0 < len(data) <= 20000
    # The write that hit the limit kept its whole lines and cut off the torn one: the file ends on a line.
    assert data.endswith(b"\n")
    written = [orjson.loads(line)["payload"]["n"] for line in data.splitlines()]
    assert written == list(range(len(written))) and 0 < len(written) < 500
    # Exact accounting: every event either landed or is counted as lost, never both.
    dropped = result["snapshot"]["dropped"]
    assert dropped["jsonl:write_error"] >= 1
    assert len(written) + dropped["jsonl:write_error"] + dropped.get("jsonl:disabled", 0) == 500
    # Once there is room again, the next writer's lines are whole and readable.
    journal = Journal(max_bytes=1 << 20)
    journal.target(path)
    assert journal.write(b'{"after": 1}\n') is None and journal.landed_lines == 1
    assert [orjson.loads(line) for line in path.read_bytes().splitlines()][-1] == {"after": 1}
