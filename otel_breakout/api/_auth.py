"""The optional bearer token: checked in constant time on every route but the scrape and health routes."""

from __future__ import annotations

import hashlib
import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from otel_breakout.api._responses import error_response

__all__ = ["PUBLIC_PATHS", "BearerTokenMiddleware", "TokenCheck", "route_path"]

# Prometheus and load balancers carry no token; everything else needs it when one is configured.
PUBLIC_PATHS = frozenset({"/api/metrics", "/api/metrics/health"})
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="otel-breakout"'}


def route_path(scope: Scope) -> str:
    """The path below the mount point (the same rule as Starlette's routing), so a mounted app checks alike."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path


class TokenCheck:
    """Compares SHA-256 digests with ``hmac.compare_digest``: equal-length inputs, so neither the content
    nor the length of the token leaks through timing."""

    def __init__(self, token: str | None) -> None:
        self._digest = hashlib.sha256(token.encode()).digest() if token else None

    @property
    def configured(self) -> bool:
        return self._digest is not None

    def accepts(self, authorization: str | None) -> bool:
        if self._digest is None:
            return True
        if not authorization:
            return False
        scheme, _, presented = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        candidate = hashlib.sha256(presented.strip().encode("utf-8", "replace")).digest()
        return hmac.compare_digest(candidate, self._digest)


class BearerTokenMiddleware:
    def __init__(self, app: ASGIApp, *, check: TokenCheck) -> None:
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.check.configured or route_path(scope) in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        authorization = None
        for key, value in scope.get("headers", ()):
            if key == b"authorization":
                authorization = value.decode("latin-1")
                break
        if self.check.accepts(authorization):
            await self.app(scope, receive, send)
            return
        response = error_response(
            401,
            "unauthorized",
            "this route needs the API token: send `Authorization: Bearer <token>`",
            headers=_CHALLENGE,
        )
        await response(scope, receive, send)
