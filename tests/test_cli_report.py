"""``otel-breakout report``: outputs, exit codes, warnings, filters and the progress bar."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from otel_breakout.cli import main
from otel_breakout.cli._progress import PROGRESS_MIN_BYTES, ProgressBar, want_progress
from tests.support.binaries import venv_bin
from tests.support.synthetic import JournalSpec, write_journal


@pytest.fixture
def journals(tmp_path: Path) -> Path:
    directory = tmp_path / "logs" / "diag"
    write_journal(directory, JournalSpec(seed=5, sessions=2, cycles=8))
    return directory


def test_writes_the_seed_report_path_by_default(
    journals: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(journals / "diag_*.jsonl")]) == 0
    text = (tmp_path / "reports" / "diag_summary.md").read_text()
    assert text.startswith("# Diagnostics summary")
    err = capsys.readouterr().err
    assert "-> reports/diag_summary.md" in err and "warning" not in err


def test_json_to_stdout(journals: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(journals), "--format", "json", "-o", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == "otel-breakout.diagnostics-report/2"
    assert data["totals"]["sessions"] == 2 and data["reasons"]


def test_filters(journals: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    args = ["report", str(journals), "--format", "json", "-o", str(out)]
    assert main([*args, "--symbol", "BTC/USDT", "--session", "S5-1"]) == 0
    data = json.loads(out.read_text())
    assert [row["symbol"] for row in data["symbols"]] == ["BTC/USDT"]
    assert data["totals"]["sessions"] == 1 and data["totals"]["filtered_out"] > 0
    assert main([*args, "--since", "2025-08-19T22:03:00Z", "--until", "1755641100"]) == 0
    data = json.loads(out.read_text())
    assert 1755640980 <= data["totals"]["first_ts"] and data["totals"]["last_ts"] <= 1755641100
    assert main([*args, "--since", "2099-01-01"]) == 0
    assert json.loads(out.read_text())["notes"] == [
        "Every event was filtered out by --since/--until/--symbol/--session."
    ]


def test_skipped_lines_give_a_warning_and_exit_0(journals: Path, tmp_path: Path) -> None:
    with (journals / "diag_S5-0_1755640800.jsonl").open("ab") as handle:
        handle.write(b'garbage\n{"v": 1, "ts": NaN}\n')
    result = subprocess.run(
        [venv_bin("otel-breakout"), "report", str(journals), "-o", str(tmp_path / "out.md")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "warning: skipped 2 lines (not_json 1, nan_or_infinity 1)" in result.stderr
    assert "## Input problems" in (tmp_path / "out.md").read_text()


def test_no_readable_input_exits_1_and_keeps_the_previous_report(tmp_path: Path) -> None:
    previous = tmp_path / "out.md"
    previous.write_text("yesterday's report\n")
    result = subprocess.run(
        [venv_bin("otel-breakout"), "report", str(tmp_path / "nothing-*.jsonl"), "-o", str(previous)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "nothing matches" in result.stderr and "no input could be read" in result.stderr
    assert previous.read_text() == "yesterday's report\n"


def test_an_unwritable_output_exits_1(journals: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["report", str(journals), "-o", str(blocker / "report.md")]) == 1
    assert "cannot write" in capsys.readouterr().err


def _report(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # A hang (a FIFO waiting for a writer, /dev/zero read forever) must fail the test, not hang the suite.
    try:
        return subprocess.run(
            [venv_bin("otel-breakout"), "report", *args], capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"otel-breakout report {' '.join(args)} did not finish within {timeout:.0f} s")


def test_fifos_devices_and_globs_over_them_are_skipped_with_a_warning(journals: Path, tmp_path: Path) -> None:
    fifo = journals / "diag_fifo_1.jsonl"
    os.mkfifo(fifo)
    zero = journals / "diag_zero_1.jsonl"
    zero.symlink_to("/dev/zero")
    out = tmp_path / "r.json"
    for inputs in ([str(fifo), str(zero), str(journals / "diag_S5-0_1755640800.jsonl")], [str(journals / "*.jsonl")]):
        result = _report(*inputs, "--format", "json", "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert f"cannot read {fifo}: not a regular file (a FIFO); skipped" in result.stderr
        assert f"cannot read {zero}: not a regular file (a character device); skipped" in result.stderr
        data = json.loads(out.read_text())
        assert data["totals"]["unreadable_files"] == 2 and data["totals"]["events"] > 0
        problems = {Path(f["path"]).name: f["error"] for f in data["files"] if f["error"]}
        assert problems == {fifo.name: "not a regular file (a FIFO); skipped", zero.name: problems[zero.name]}
    # Nothing else to read: a clear error, not a hang.
    result = _report(str(fifo), "-o", str(tmp_path / "r.md"))
    assert result.returncode == 1 and "not a regular file (a FIFO)" in result.stderr


def test_blank_runs_and_gzip_bombs_cost_bounded_time(tmp_path: Path) -> None:
    import gzip

    event = (
        b'{"v":1,"ts":1755640800.0,"session_id":"S","component":"scanner","stage":"liquidity","symbol":"BTC",'
        b'"passed":false,"reason":"filter:min_volume","near_miss":false,"trace_id":null,"span_id":null,'
        b'"payload":{"filter":"min_volume","value":1.0,"threshold":2.0,"direction":"min"}}\n'
    )
    plain = tmp_path / "diag_blank_1.jsonl"
    with plain.open("wb") as handle:  # 6 MB of blank and whitespace-only lines around two real lines
        handle.write(event + b"\n" * 4_000_000 + b" \r\n" * 600_000 + b"garbage\n" + event)
    # A bomb: 200 gzip members of 8 MB of newlines each (1.6 GB inflated) in about 1.6 MB.
    member = gzip.compress(b"\n" * (8 << 20), 9)
    bomb = tmp_path / "diag_bomb_1.jsonl.gz"
    bomb.write_bytes(gzip.compress(event) + member * 200)
    assert bomb.stat().st_size < 2 << 20
    out = tmp_path / "r.json"
    result = _report(str(plain), str(bomb), "--format", "json", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["totals"]["events"] == 3
    # Line numbers stay exact across the skipped runs.
    [garbage] = [row for row in data["skipped"] if row["cause"] == "not_json"]
    assert garbage["examples"] == [f"{plain}:{1 + 4_000_000 + 600_000 + 1}"]
    files = {Path(f["path"]).name: f for f in data["files"]}
    assert files[plain.name]["error"] is None
    assert "gzip bomb" in files[bomb.name]["error"]
    assert f"{bomb} stopped after" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "whenever"], "is not a time"),
        (["--margin", "0"], "expected a fraction"),
        (["--recover-share", "2"], "expected a share"),
        (["--format", "html"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(journals: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", str(journals), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_progress_bar_when_asked(journals: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(journals), "-o", str(tmp_path / "o.md"), "--progress", "always"]) == 0
    err = capsys.readouterr().err
    assert "\r[" in err and "100%" in err and "MiB/s" in err


def test_progress_only_on_a_terminal_and_for_large_inputs() -> None:
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as terminal:
            assert want_progress("auto", terminal, PROGRESS_MIN_BYTES)
            assert not want_progress("auto", terminal, PROGRESS_MIN_BYTES - 1)
    finally:
        os.close(leader)
        os.close(follower)
    assert not want_progress("auto", io.StringIO(), 10 * PROGRESS_MIN_BYTES)
    assert want_progress("always", io.StringIO(), 0)
    assert not want_progress("never", io.StringIO(), 10 * PROGRESS_MIN_BYTES)


def test_progress_bar_rendering_is_throttled() -> None:
    stream = io.StringIO()
    now = [0.0]
    bar = ProgressBar(stream, width=10, interval=1.0, clock=lambda: now[0])
    bar.update(0, 100 * 1024 * 1024)
    now[0] = 0.5
    bar.update(50 * 1024 * 1024, 100 * 1024 * 1024)  # within the interval: not drawn
    now[0] = 2.0
    bar.update(100 * 1024 * 1024, 100 * 1024 * 1024)
    bar.close()
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 2
    assert frames[0].startswith("[>         ]   0%")
    assert frames[1] == "[==========] 100% 100.0/100.0 MiB 50.0 MiB/s\n"
