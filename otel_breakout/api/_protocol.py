"""uvicorn's h11 protocol with the two limits it lacks: a deadline for each request, and room kept for new ones.

uvicorn times out a keep-alive connection only after a response: a connection that never sends a request, or
sends half of one, or trickles a byte at a time, is held for ever, and its ``limit_concurrency`` counts such
connections, answering every new request with a plain-text 503. A few hundred idle sockets from any local
client would then fake the health endpoint's "restart me" signal. Here:

- every request must arrive whole (request line, headers and body) within ``request_timeout_s`` of the
  connection opening or of the previous response: trickled bytes do not extend it, and a connection past it
  is closed (a request already being answered is left to finish);
- at most ``max_connections`` are open: a new connection beyond that closes the oldest one that is not being
  answered (idle, or still sending its request), so a real request gets in; when every one is being answered,
  the newcomer is closed instead.

Requests in flight are bounded by the connections (h11 answers one request per connection at a time), so
uvicorn's own 503 limit is not used.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ConnectionLimits", "limited_protocol"]


class ConnectionLimits:
    """The shared state of one server's connections: oldest first."""

    def __init__(self, max_connections: int, request_timeout_s: float) -> None:
        self.max_connections = max(1, max_connections)
        self.request_timeout_s = request_timeout_s
        self.open: dict[LimitedH11Protocol, None] = {}  # insertion-ordered: the oldest first
        self.closed_idle = 0
        self.closed_slow = 0
        self.refused = 0


class LimitedH11Protocol(H11Protocol):
    limits: ConnectionLimits  # set on the subclass made by limited_protocol()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_deadline: asyncio.TimerHandle | None = None

    @property
    def answering(self) -> bool:
        """A request is being answered (its response not complete yet)."""
        return self.cycle is not None and not self.cycle.response_complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's signature
        super().connection_made(transport)
        limits = self.limits
        if len(limits.open) >= limits.max_connections:
            victim = next((conn for conn in limits.open if not conn.answering), None)
            if victim is None:
                limits.refused += 1
                self._close()
                return
            limits.closed_idle += 1
            victim._close()
        limits.open[self] = None
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.limits.open.pop(self, None)
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()  # the whole request is in (or the connection is done with)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self._arm()  # the next request gets its own deadline; uvicorn's keep-alive closes idle ones sooner

    def _arm(self) -> None:
        self._disarm()
        self._request_deadline = self.loop.call_later(self.limits.request_timeout_s, self._request_timed_out)

    def _disarm(self) -> None:
        if self._request_deadline is not None:
            self._request_deadline.cancel()
            self._request_deadline = None

    def _request_timed_out(self) -> None:
        self._request_deadline = None
        if self.answering or self.transport.is_closing():
            return
        self.limits.closed_slow += 1
        self._close()

    def _close(self) -> None:
        self._disarm()
        self.limits.open.pop(self, None)
        if not self.transport.is_closing():
            self.transport.close()


def limited_protocol(max_connections: int, request_timeout_s: float) -> type[LimitedH11Protocol]:
    """A protocol class for one server (uvicorn builds a protocol per connection from the class alone)."""
    limits = ConnectionLimits(max_connections, request_timeout_s)
    return cast(type[LimitedH11Protocol], type("LimitedH11Protocol", (LimitedH11Protocol,), {"limits": limits}))
