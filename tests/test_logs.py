from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from otel_breakout import ConfigError, Settings, Telemetry
from otel_breakout._logs import install_logging, install_trace_context_factory
from otel_breakout.testing import TelemetryCapture, capture_telemetry


def test_records_carry_trace_and_span_ids() -> None:
    install_trace_context_factory()
    capture = capture_telemetry()
    with capture.telemetry.get_tracer().start_as_current_span("cycle") as span:
        record = logging.getLogger("bot").makeRecord("bot", logging.INFO, __file__, 1, "hi", (), None)
    ctx = span.get_span_context()
    assert record.__dict__["trace_id"] == format(ctx.trace_id, "032x")
    assert record.__dict__["span_id"] == format(ctx.span_id, "016x")
    outside = logging.getLogger("bot").makeRecord("bot", logging.INFO, __file__, 1, "hi", (), None)
    assert outside.__dict__["trace_id"] is None
    capture.close()


def test_json_log_file_has_trace_ids_and_rotates(tmp_path: Path, isolated_root: logging.Logger) -> None:
    capture = capture_telemetry()
    log_file = tmp_path / "logs" / "app.log"
    install_logging(level="INFO", log_file=str(log_file), max_bytes=2048, backups=2, logger_provider=None)
    bot = logging.getLogger("bot")
    with capture.telemetry.get_tracer().start_as_current_span("cycle") as span:
        bot.info("signal %s", "momentum")
    bot.debug("below the level")
    (only,) = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert only["message"] == "signal momentum"
    assert only["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert only["span_id"] == format(span.get_span_context().span_id, "016x")
    assert only["level"] == "INFO" and only["logger"] == "bot"
    for i in range(200):
        bot.info("filler line %d", i)
    for path in log_file.parent.iterdir():
        assert path.stat().st_size <= 2048
        assert all(json.loads(line)["message"].startswith("filler") for line in path.read_text().splitlines())
    assert sorted(p.name for p in log_file.parent.iterdir()) == ["app.log", "app.log.1", "app.log.2"]
    capture.close()


def test_stdlib_records_become_otel_log_records_with_trace_context(isolated_root: logging.Logger) -> None:
    capture: TelemetryCapture = capture_telemetry()
    install_logging(
        level="INFO", log_file=None, max_bytes=1024, backups=0, logger_provider=capture.telemetry.logger_provider
    )
    with capture.telemetry.get_tracer().start_as_current_span("cycle") as span:
        logging.getLogger("bot").warning("spread too wide on %s", "BTC/USDT")
    logging.getLogger("opentelemetry.sdk.test").warning("sdk internals are not re-exported")
    (record,) = capture.logs()
    assert record.log_record.body == "spread too wide on BTC/USDT"
    assert record.log_record.trace_id == span.get_span_context().trace_id
    assert record.log_record.span_id == span.get_span_context().span_id
    assert record.log_record.severity_text == "WARN"
    capture.close()


def test_root_level_is_lowered_never_raised(isolated_root: logging.Logger, tmp_path: Path) -> None:
    isolated_root.setLevel(logging.WARNING)
    install_logging(level="INFO", log_file=str(tmp_path / "a.log"), max_bytes=4096, backups=1, logger_provider=None)
    assert isolated_root.level == logging.INFO
    isolated_root.setLevel(logging.DEBUG)
    install_logging(level="ERROR", log_file=str(tmp_path / "b.log"), max_bytes=4096, backups=1, logger_provider=None)
    assert isolated_root.level == logging.DEBUG


def test_export_errors_are_reported_once_per_interval() -> None:
    from otel_breakout._logs import _ExportErrorDedupe

    dedupe = _ExportErrorDedupe(interval_s=60)
    logger = logging.getLogger("test.exporter")

    def record(at: float, message: str = "Failed to export spans to %s") -> logging.LogRecord:
        rec = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, message, ("127.0.0.1:9",), None)
        rec.created = at
        return rec

    first = record(1000.0)
    assert dedupe.filter(first)
    assert "Failed to export spans to 127.0.0.1:9" in first.getMessage()
    assert "the bot keeps running" in first.getMessage()
    assert not any(dedupe.filter(record(1000.0 + i)) for i in range(1, 50))
    later = record(1061.0)
    assert dedupe.filter(later)
    assert "49 more export errors" in later.getMessage()


def test_a_dead_collector_prints_one_warning(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import logging, time, otel_breakout\n"
        "logging.basicConfig(format='%(name)s %(levelname)s %(message)s')\n"
        "t = otel_breakout.configure(otlp_endpoint='http://127.0.0.1:9', metric_export_interval_ms=200,"
        " otlp_timeout_ms=500)\n"
        "for i in range(20):\n"
        "    with t.get_tracer().start_as_current_span('cycle'):\n"
        "        logging.getLogger('bot').info('cycle')\n"
        "    time.sleep(0.05)\n"
        "t.force_flush(2000)\n"
        "t.shutdown(timeout_millis=1000)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", "OTEL_BSP_SCHEDULE_DELAY": "100"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    exporter_lines = [line for line in result.stderr.splitlines() if line.startswith("opentelemetry.exporter")]
    assert len(exporter_lines) == 1, result.stderr
    assert "the bot keeps running" in exporter_lines[0]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", "OTEL_BSP_SCHEDULE_DELAY": "100"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_an_otlp_endpoint_the_bots_own_warnings_still_reach_stderr() -> None:
    # A process that configured no logging of its own: Python prints WARNING and above to stderr, and the
    # OTel handler configure() puts on the root must not silence that while the collector is dead.
    result = _run(
        "import logging, otel_breakout\n"
        "t = otel_breakout.configure(otlp_endpoint='http://127.0.0.1:9', otlp_timeout_ms=200)\n"
        "logging.getLogger('bot').warning('exchange socket closed, reconnecting')\n"
        "logging.getLogger('bot').info('below warning: not for stderr')\n"
        "t.shutdown(timeout_millis=1000)\n"
        "logging.getLogger('bot').warning('after shutdown')\n"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines.count("exchange socket closed, reconnecting") == 1, result.stderr
    assert lines.count("after shutdown") == 1, result.stderr
    assert "below warning" not in result.stderr


def test_the_last_resort_prints_the_message_scrubbed_of_secrets() -> None:
    result = _run(
        "import logging, otel_breakout\n"
        "t = otel_breakout.configure(otlp_endpoint='http://127.0.0.1:9', otlp_timeout_ms=200)\n"
        "logging.getLogger('bot').warning('retrying https://api.example/v1?apiKey=%s', 'sk-live-123456')\n"
        "t.shutdown(timeout_millis=1000)\n"
    )
    assert result.returncode == 0, result.stderr
    assert "sk-live-123456" not in result.stderr
    assert "retrying https://api.example/v1?apiKey=" in result.stderr


def test_the_last_resort_stands_aside_for_the_users_own_handlers() -> None:
    result = _run(
        "import logging, sys, otel_breakout\n"
        "handler = logging.StreamHandler(sys.stderr)\n"
        "handler.setFormatter(logging.Formatter('bot-handler %(message)s'))\n"
        "logging.getLogger('bot').addHandler(handler)\n"
        "t = otel_breakout.configure(otlp_endpoint='http://127.0.0.1:9', otlp_timeout_ms=200)\n"
        "logging.getLogger('bot').warning('printed once, by the bot handler')\n"
        "logging.getLogger('other').warning('no handler of its own: the last resort')\n"
        "logging.lastResort = None\n"
        "logging.getLogger('other').warning('silenced as Python would')\n"
        "t.shutdown(timeout_millis=1000)\n"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if "printed once" in line] == ["bot-handler printed once, by the bot handler"]
    assert lines.count("no handler of its own: the last resort") == 1, result.stderr
    assert "silenced" not in result.stderr


@pytest.mark.parametrize("shape", ["under a regular file", "a directory"])
def test_an_impossible_log_file_is_a_clear_config_error(
    tmp_path: Path, isolated_root: logging.Logger, shape: str
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    path = blocker / "app.log" if shape == "under a regular file" else tmp_path
    telemetry = Telemetry.create(Settings.from_env({"OTEL_BREAKOUT_LOG_FILE": str(path)}))
    with pytest.raises(ConfigError, match="OTEL_BREAKOUT_LOG_FILE") as caught:
        telemetry.install_logging()
    assert caught.value.source == "OTEL_BREAKOUT_LOG_FILE" and caught.value.value == str(path)
    expected = "not a directory" if shape == "a directory" else f"{blocker} is a file, not a directory"
    assert expected in caught.value.allowed
    telemetry = Telemetry.create(Settings.from_env({}, log_file=str(path)))
    with pytest.raises(ConfigError, match=r"configure\(log_file=...\)"):
        telemetry.install_logging()


def test_a_log_file_that_breaks_later_is_reported_once_never_a_traceback_per_record(
    tmp_path: Path, isolated_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "logs"
    log_file = directory / "app.log"
    handler, _last_resort = install_logging(
        level="INFO", log_file=str(log_file), max_bytes=4096, backups=1, logger_provider=None
    )
    handler.close()  # the file is reopened at the next record, which cannot happen any more:
    log_file.unlink()
    directory.rmdir()
    directory.write_text("")  # its directory is now a regular file
    bot = logging.getLogger("bot.cycle")
    for n in range(50):
        bot.warning("cycle %d", n)
    err = capsys.readouterr().err
    assert err.count("cannot write the log file") == 1 and str(log_file) in err
    assert "Traceback" not in err and "Logging error" not in err
    assert handler.failures == 50  # type: ignore[attr-defined]  # our handler counts them
