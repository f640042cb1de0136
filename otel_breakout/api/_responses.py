"""JSON bodies and the error shape every route shares: ``{"error": <code>, "detail": <sentence>, ...}``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["JSONResponse", "error_response"]

# JSON routes describe a moment; a cache in between would serve an old health status as a new one.
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    # Anything else still serialises, rather than turning a good answer into a 500.
    return str(value)


class JSONResponse(Response):
    """orjson-encoded; NaN and infinities become ``null`` (JSON has no spelling for them)."""

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(content, status_code, {**_HEADERS, **(headers or {})})

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)


def error_response(
    status_code: int, error: str, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code, headers)
