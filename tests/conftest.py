from __future__ import annotations

from collections.abc import Iterator

import pytest

from otel_breakout._internal import set_internal_errors_raise


@pytest.fixture(autouse=True)
def _internal_errors_raise() -> Iterator[None]:
    # A bug in a guarded telemetry path must fail the test, not vanish into a log line.
    previous = set_internal_errors_raise(True)
    yield
    set_internal_errors_raise(previous)
