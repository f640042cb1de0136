"""A timer that is both a context manager and a decorator (sync and async functions)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from time import perf_counter
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast, overload

__all__ = ["Timer"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class Timer:
    """Measures wall time in seconds and hands it to ``observe``, also when the timed code raises.

    ``with logger.cycle(): ...`` or ``@logger.cycle()``. A timer used as a context manager keeps a stack
    of start times, so nesting works; share one ``Timer`` across threads only as a decorator.
    """

    __slots__ = ("_observe", "_starts")

    def __init__(self, observe: Callable[[float], None]) -> None:
        self._observe = observe
        self._starts: list[float] = []

    def __enter__(self) -> Timer:
        self._starts.append(perf_counter())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._observe(perf_counter() - self._starts.pop())

    @overload
    def __call__(self, fn: Callable[_P, Coroutine[Any, Any, _R]]) -> Callable[_P, Coroutine[Any, Any, _R]]: ...

    @overload
    def __call__(self, fn: Callable[_P, _R]) -> Callable[_P, _R]: ...

    def __call__(self, fn: Callable[_P, Any]) -> Callable[_P, Any]:
        observe = self._observe
        if inspect.iscoroutinefunction(fn):
            coroutine = cast(Callable[_P, Coroutine[Any, Any, Any]], fn)

            @functools.wraps(fn)
            async def timed_async(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                start = perf_counter()
                try:
                    return await coroutine(*args, **kwargs)
                finally:
                    observe(perf_counter() - start)

            return timed_async

        @functools.wraps(fn)
        def timed(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            start = perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                observe(perf_counter() - start)

        return timed
