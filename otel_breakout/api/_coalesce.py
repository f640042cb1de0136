"""Requests that arrive together wait on the event loop for one computation, instead of in threads.

Fifty simultaneous scrapes would otherwise park forty threads of Starlette's pool on the reader's
condition variable and then fight over the GIL as they wake, while the event loop waits its turn to send
the answers; fifty health probes would each hop to a thread to ask the same questions. Here at most one
computation per key runs at a time, in the thread pool; requests that arrive during it wait for the next
one (so nobody is handed data gathered before it asked), and all of them share that next one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

__all__ = ["Coalescer"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _LoopState(Generic[K, V]):
    __slots__ = ("queued", "running", "tasks")

    def __init__(self) -> None:
        self.running: dict[K, asyncio.Future[V]] = {}
        self.queued: dict[K, asyncio.Future[V]] = {}
        self.tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks


class Coalescer(Generic[K, V]):
    """``await coalescer.call(key)`` runs ``compute(key)`` in the thread pool, shared as described above."""

    def __init__(self, compute: Callable[[K], V]) -> None:
        self._compute = compute
        # Futures belong to one event loop; an app served by two loops (tests) keeps two states.
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState[K, V]] = (
            weakref.WeakKeyDictionary()
        )

    async def call(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = _LoopState()
        future = state.running.get(key)
        if future is None:
            future = state.running[key] = loop.create_future()
            task = loop.create_task(self._run(state, key, future))
            state.tasks.add(task)
            task.add_done_callback(state.tasks.discard)
        else:
            future = state.queued.get(key)
            if future is None:
                future = state.queued[key] = loop.create_future()
        # shield: a client that hangs up cancels its own wait, not the computation the others wait for.
        return await asyncio.shield(future)

    async def _run(self, state: _LoopState[K, V], key: K, future: asyncio.Future[V]) -> None:
        try:
            while True:
                try:
                    value = await run_in_threadpool(self._compute, key)
                except Exception as exc:
                    if not future.done():
                        future.set_exception(exc)
                        future.exception()  # retrieved here: a waiter that hung up must not leave it unlogged
                else:
                    if not future.done():
                        future.set_result(value)
                following = state.queued.pop(key, None)
                if following is None:
                    del state.running[key]
                    return
                state.running[key] = future = following
        except BaseException:
            # Cancelled (the loop is closing): release every waiter rather than leave them on a dead future.
            for waiting in (future, state.queued.pop(key, None)):
                if waiting is not None and not waiting.done():
                    waiting.cancel()
            state.running.pop(key, None)
            raise
