"""Scrapes that arrive together wait on the event loop for one rendering, instead of in threads.

The pull reader already coalesces collections between threads; this keeps the waiting off the thread
pool too. Fifty simultaneous scrapes would otherwise park forty threads on a condition variable and
then fight over the GIL as they wake, while the event loop waits its turn to send the answers. Here at
most one rendering per format runs at a time; requests that arrive during it wait for the next one (so
nobody is handed data collected before it asked), and all of them share that next one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

__all__ = ["RenderCoalescer"]

Key = tuple[bool, bool]  # (openmetrics, gzipped)


class _LoopState:
    __slots__ = ("queued", "running", "tasks")

    def __init__(self) -> None:
        self.running: dict[Key, asyncio.Future[bytes]] = {}
        self.queued: dict[Key, asyncio.Future[bytes]] = {}
        self.tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks


class RenderCoalescer:
    def __init__(self, render: Callable[[bool, bool], bytes]) -> None:
        self._render = render
        # Futures belong to one event loop; an app served by two loops (tests) keeps two states.
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()

    async def render(self, openmetrics: bool, gzipped: bool) -> bytes:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = _LoopState()
        key = (openmetrics, gzipped)
        if key not in state.running:
            future = state.running[key] = loop.create_future()
            task = loop.create_task(self._run(state, key, future))
            state.tasks.add(task)
            task.add_done_callback(state.tasks.discard)
        else:
            queued = state.queued.get(key)
            if queued is None:
                queued = state.queued[key] = loop.create_future()
            future = queued
        # shield: a client that hangs up cancels its own wait, not the rendering the others wait for.
        return await asyncio.shield(future)

    async def _run(self, state: _LoopState, key: Key, future: asyncio.Future[bytes]) -> None:
        while True:
            try:
                body = await run_in_threadpool(self._render, *key)
            except BaseException as exc:
                if not future.done():
                    future.set_exception(exc)
                    future.exception()  # retrieved here: a waiter that hung up must not leave it unlogged
            else:
                if not future.done():
                    future.set_result(body)
            following = state.queued.pop(key, None)
            if following is None:
                del state.running[key]
                return
            state.running[key] = future = following
