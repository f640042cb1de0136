from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_breakout.api import ApiServer, create_app
from otel_breakout.cli import main
from otel_breakout.metrics import MetricsLogger
from otel_breakout.testing import capture_telemetry
from tests.support.sources import calm_monitor

TOKEN = "correct-horse-battery-staple"


@pytest.fixture
def server() -> Iterator[ApiServer]:
    capture = capture_telemetry()
    logger = MetricsLogger(capture.telemetry)
    app = create_app(
        capture.telemetry, metrics_logger=logger, resource_monitor=calm_monitor(capture.telemetry), token=TOKEN
    )
    with ApiServer(app, port=0) as server:  # the real take_memory_snapshot answers
        yield server
    capture.close()


def test_snapshot_is_saved(server: ApiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "snap.json"
    code = main(["snapshot", "--url", server.url, "--token", TOKEN, "--top", "3", "-o", str(output)])
    assert code == 0
    saved = json.loads(output.read_text())
    assert saved["pid"] == os.getpid() and len(saved["largest_containers"]) == 3
    assert capsys.readouterr().out.strip() == str(output)


def test_token_from_the_environment_and_default_name(
    server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_BREAKOUT_API_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    assert main(["snapshot", "--url", server.url + "/api/metrics/snapshot"]) == 0
    (saved,) = tmp_path.glob("memory_snapshot_*.json")
    assert len(saved.stem) == len("memory_snapshot_20250922_233838")


def test_wrong_token_is_reported(server: ApiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "snap.json"
    assert main(["snapshot", "--url", server.url, "--token", "x" * 20, "-o", str(output)]) == 1
    assert "401" in capsys.readouterr().err
    assert not output.exists()


def test_existing_file_is_kept(server: ApiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "snap.json"
    output.write_text("precious")
    assert main(["snapshot", "--url", server.url, "--token", TOKEN, "-o", str(output)]) == 1
    assert output.read_text() == "precious"
    assert main(["snapshot", "--url", server.url, "--token", TOKEN, "-o", str(output), "--force"]) == 0
    assert json.loads(output.read_text())["pid"] == os.getpid()


def test_unreachable_and_bad_urls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.binaries import free_port

    assert main(["snapshot", "--url", f"http://127.0.0.1:{free_port()}", "-o", str(tmp_path / "a.json")]) == 1
    assert "cannot reach" in capsys.readouterr().err
    assert main(["snapshot", "--url", "ftp://x", "-o", str(tmp_path / "b.json")]) == 1
    assert "http://" in capsys.readouterr().err
