"""Bounded query parameters: a bad value is a 422 naming the parameter, never a 500 or a silent default."""

from __future__ import annotations

import math
import re

from starlette.datastructures import QueryParams

__all__ = ["ParameterError", "float_param", "int_param"]

_MAX_LENGTH = 32
_INTEGER = re.compile(r"[+-]?[0-9]+")


class ParameterError(ValueError):
    """A query parameter is missing its bounds; ``parameter`` names it for the 422 body."""

    def __init__(self, parameter: str, detail: str) -> None:
        self.parameter = parameter
        self.detail = detail
        super().__init__(f"{parameter}: {detail}")


def _single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise ParameterError(name, f"{name} was given {len(values)} times; give it once")
    value = values[0].strip()
    if len(value) > _MAX_LENGTH:
        raise ParameterError(name, f"{name} is longer than {_MAX_LENGTH} characters")
    return value


def int_param(params: QueryParams, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = _single(params, name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise ParameterError(name, f"{name} must be an integer from {minimum} to {maximum}")
    return int(raw)


def float_param(params: QueryParams, name: str, minimum: float, maximum: float) -> float | None:
    raw = _single(params, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not minimum <= value <= maximum:  # also rejects NaN
        raise ParameterError(name, f"{name} must be a number from {minimum:g} to {maximum:g}")
    return value
