"""A real OTLP receiver for end-to-end tests: ``rotel-agent`` with its detailed debug log."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.binaries import free_port, rotel_agent

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Rotel:
    grpc_port: int
    http_port: int
    output: Path

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def text(self) -> str:
        return _ANSI.sub("", self.output.read_text(errors="replace"))

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20.0) -> str:
        """Poll the debug log until ``predicate`` holds; raise with the log on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"rotel never printed what was expected; it printed:\n{text[-4000:]}")
            time.sleep(0.1)


@contextmanager
def running_rotel(tmp_path: Path, *, grpc_port: int | None = None) -> Iterator[Rotel]:
    """Start ``rotel-agent`` on free loopback ports (or the gRPC port given), printing everything it receives."""
    binary = rotel_agent()
    grpc_port, http_port = grpc_port or free_port(), free_port()
    output = tmp_path / "rotel.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                binary, "start",
                "--exporter", "blackhole",
                "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
                "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
                "--debug-log", "traces", "--debug-log", "logs", "--debug-log", "metrics",
                "--debug-log-verbosity", "detailed",
                "--batch-timeout", "50ms",
                "--pid-file", str(tmp_path / "rotel.pid"),
                "--log-file", str(tmp_path / "rotel.log"),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    rotel = Rotel(grpc_port, http_port, output)
    try:
        rotel.wait_for(lambda text: "Starting Rotel" in text, timeout=15)
        yield rotel
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
