"""Fixtures every test module shares; the capture itself is the package's own pytest plugin (otel_breakout.testing)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from otel_breakout._internal import set_internal_errors_raise
from otel_breakout.testing import TelemetryCapture


@pytest.fixture(autouse=True)
def _internal_errors_raise() -> Iterator[None]:
    # A bug in a guarded telemetry path must fail the test, not vanish into a log line.
    previous = set_internal_errors_raise(True)
    yield
    set_internal_errors_raise(previous)


@pytest.fixture
def capture(otel_capture: TelemetryCapture) -> TelemetryCapture:
    """The plugin's ``otel_capture`` (what our users get), under the short name our tests use."""
    return otel_capture


@pytest.fixture
def isolated_root() -> Iterator[logging.Logger]:
    """The root logger, with the handlers and level a test adds removed (and closed) after it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
