"""A real OTLP peer for benchmarks: ``rotel-agent`` from the ``rotel`` wheel, discarding what it receives."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["rotel_endpoint", "start_rotel"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_rotel(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``rotel-agent`` discarding what it receives; return the process and its gRPC endpoint once it listens."""
    import rotel

    binary = Path(rotel.__file__).with_name("rotel-agent")
    grpc_port, http_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            str(binary), "start", "--exporter", "blackhole",
            "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
            "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
            "--pid-file", str(workdir / f"rotel-{grpc_port}.pid"),
            "--log-file", str(workdir / f"rotel-{grpc_port}.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", grpc_port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{grpc_port}"
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                process.wait()
                raise RuntimeError("rotel-agent did not start") from None
            time.sleep(0.1)


@contextmanager
def rotel_endpoint(workdir: Path) -> Iterator[str]:
    """``rotel-agent`` from the ``rotel`` wheel, discarding what it receives (its CPU is not ours)."""
    process, endpoint = start_rotel(workdir)
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
