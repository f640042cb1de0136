"""``ApiServer``: uvicorn in a background thread of the bot (or in the foreground for ``otel-breakout serve``).

The socket is bound in the caller's thread, so a port already in use is an ``OSError`` from ``start()``
rather than a thread that dies quietly; ``port=0`` picks a free port and ``url`` tells which.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from otel_breakout._settings import ApiSettings, Settings
from otel_breakout.api._protocol import limited_protocol

__all__ = ["ApiServer"]


class ApiServer:
    """Serve an ASGI app (normally ``create_app(...)``) with uvicorn.

    ``with ApiServer(app) as server: ...`` starts it in a daemon thread and stops it on exit; ``stop()``
    lets requests in flight finish (up to ``graceful_timeout_s``) before closing. uvicorn is told not to
    touch logging configuration: its records go to the bot's own handlers.

    Idle and slow clients cannot hold the server: each request must arrive whole within ``request_timeout_s``
    (of the connection opening, or of the previous response; an idle keep-alive connection closes after
    ``timeout_keep_alive`` s, uvicorn's 5 by default), and at most ``limit_concurrency`` connections are open:
    beyond that a new one closes the oldest connection that is not being answered, so a health check still
    gets in while hundreds of sockets sit idle or half-sent.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str | None = None,
        port: int | None = None,
        settings: ApiSettings | None = None,
        log_level: str = "warning",
        access_log: bool = False,
        limit_concurrency: int = 256,
        request_timeout_s: float = 10.0,
        graceful_timeout_s: float = 5.0,
        **uvicorn_options: Any,
    ) -> None:
        api = settings if settings is not None else Settings.from_env().api
        self.host = host if host is not None else api.host
        self._requested_port = port if port is not None else api.port
        self._config = uvicorn.Config(
            app,
            host=self.host,
            port=self._requested_port,
            log_config=None,
            log_level=log_level,
            access_log=access_log,
            lifespan="off",
            server_header=False,
            # uvicorn's limit counts idle connections too and answers 503 beyond it; ours closes the oldest idle
            # one instead (requests in flight are bounded by the connections, one at a time on each).
            http=limited_protocol(limit_concurrency, request_timeout_s),
            limit_concurrency=None,
            timeout_graceful_shutdown=max(1, round(graceful_timeout_s)),
            **uvicorn_options,
        )
        self._server = uvicorn.Server(self._config)
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # --- addresses --------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the one picked by the system when 0 was asked), or the requested one before start."""
        return self._bound_port if self._bound_port is not None else self._requested_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._server.started

    # --- lifecycle --------------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self._bound_port = int(sock.getsockname()[1])
        return sock

    def _run(self, sock: socket.socket) -> None:
        try:
            self._server.run(sockets=[sock])
        except BaseException as exc:  # SystemExit included: uvicorn exits on a failed startup
            self._error = exc

    def start(self, timeout: float = 10.0) -> ApiServer:
        """Bind, start serving in a daemon thread, and return once requests are accepted."""
        if self._thread is not None:
            raise RuntimeError("this ApiServer was already started; create a new one")
        sock = self._bind()
        self._thread = threading.Thread(target=self._run, args=(sock,), name="otel-breakout-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop(timeout=1.0)
                raise RuntimeError(f"the API server did not start on {self.url}") from self._error
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until SIGINT or SIGTERM (uvicorn's handlers, main thread only)."""
        if self._thread is not None:
            raise RuntimeError("this ApiServer is already running in a thread")
        self._server.run(sockets=[self._bind()])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let requests in flight finish, and join the thread. Safe to call twice."""
        self._server.should_exit = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                self._server.force_exit = True
                thread.join(2.0)
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
