from __future__ import annotations

import json
import subprocess
import sys

import pytest

from otel_breakout import __version__
from otel_breakout.cli import main
from tests.support.binaries import venv_bin


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_bin("otel-breakout"), *args],
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version_from_the_console_script() -> None:
    result = _cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"otel-breakout {__version__}"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "env" in out and "usage: otel-breakout" in out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: otel-breakout" in capsys.readouterr().out


def test_env_masks_secrets_and_shows_effective_settings() -> None:
    result = _cli(
        "env",
        "--json",
        env={
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20topsecret,x-team=quant",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "api-key=alsosecret",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
            "OTEL_SERVICE_NAME": "cli-bot",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "topsecret" not in result.stdout and "alsosecret" not in result.stdout
    data = json.loads(result.stdout)
    assert data["settings"]["service_name"] == "cli-bot"
    assert data["settings"]["traces_exporters"] == ["otlp"]
    assert data["settings"]["otlp_traces"]["headers"] == [["api-key", "***"]]
    assert data["environment"]["OTEL_EXPORTER_OTLP_HEADERS"] == "authorization=***,x-team=***"
    text = _cli("env", env={"OTEL_EXPORTER_OTLP_HEADERS": "authorization=topsecret"})
    assert "topsecret" not in text.stdout
    assert "service_name" in text.stdout


def test_configuration_errors_exit_2_with_one_clear_line() -> None:
    result = _cli("env", env={"OTEL_TRACES_EXPORTER": "zipkinn"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("otel-breakout: configuration error: OTEL_TRACES_EXPORTER='zipkinn'")
    assert "Traceback" not in result.stderr


def test_module_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "otel_breakout", "--version"], capture_output=True, text=True)
    assert result.stdout.strip() == f"otel-breakout {__version__}"
