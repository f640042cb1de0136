from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_breakout._logs import install_logging, install_trace_context_factory
from otel_breakout.testing import TelemetryCapture, capture_telemetry


@pytest.fixture
def isolated_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


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
