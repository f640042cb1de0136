"""Collectors that fail on loopback: a closed port (refused) and a black hole (accepts, never answers)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.binaries import free_port


def closed_port_endpoint() -> str:
    """An endpoint nothing listens on: every connection is refused at once."""
    return f"http://127.0.0.1:{free_port()}"


@contextmanager
def black_hole(accepted: threading.Event | None = None) -> Iterator[str]:
    """An endpoint that accepts every connection and never reads or answers (a hung collector or proxy).

    ``accepted`` is set once it holds a connection: from then on an export (or a probe) is waiting on it.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(512)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
                if accepted is not None:
                    accepted.set()
            except OSError:  # closed at the end
                return

    thread = threading.Thread(target=accept, name="black-hole", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        try:
            server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        server.close()
        thread.join(timeout=5)
        for conn in held:
            conn.close()


@contextmanager
def failing_collector(kind: str) -> Iterator[str]:
    """``"closed port"`` or ``"black hole"``."""
    if kind == "black hole":
        with black_hole() as endpoint:
            yield endpoint
    else:
        yield closed_port_endpoint()
