"""Find external binaries; skip without them on a laptop, fail without them in CI."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

REQUIRE_INTEGRATION = os.environ.get("OTEL_BREAKOUT_REQUIRE_INTEGRATION", "").lower() in ("1", "true", "yes")


def require_binary(name: str, *candidates: str) -> str:
    """The path of ``name`` (or of the first candidate path that exists).

    Missing: skip with the reason, unless ``OTEL_BREAKOUT_REQUIRE_INTEGRATION=1`` (set by ``.ci/run``), where
    a missing binary means CI did not install what the tests need, and that must fail.
    """
    for candidate in (*candidates, name):
        found = candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) else shutil.which(candidate)
        if found:
            return found
    reason = f"{name} not found on PATH"
    if REQUIRE_INTEGRATION:
        pytest.fail(f"{reason}, and OTEL_BREAKOUT_REQUIRE_INTEGRATION=1 requires it", pytrace=False)
    pytest.skip(f"{reason} (install it to run this integration test)")


def rotel_agent() -> str:
    """The ``rotel-agent`` binary shipped inside the ``rotel`` wheel (a real OTLP collector)."""
    try:
        import rotel
    except ImportError:
        return require_binary("rotel-agent")
    bundled = Path(rotel.__file__).with_name("rotel-agent")
    return require_binary("rotel-agent", str(bundled))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def venv_bin(name: str) -> str:
    """A console script installed next to the running interpreter."""
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable}; run `make venv`", pytrace=False)
    return str(path)
