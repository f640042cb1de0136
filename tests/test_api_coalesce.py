from __future__ import annotations

import asyncio
import threading
import time

import pytest

from otel_breakout.api._coalesce import Coalescer
from tests.support.waits import until_async


class Renderer:
    """Each rendering returns its sequence number; ``started`` says how many began."""

    def __init__(self, seconds: float = 0.05, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.started = 0
        self.lock = threading.Lock()

    def __call__(self, key: tuple[bool, bool]) -> bytes:
        openmetrics, gzipped = key
        with self.lock:
            self.started += 1
            number = self.started
        time.sleep(self.seconds)
        if self.fail:
            raise RuntimeError("collection failed")
        return f"{number}:{openmetrics}:{gzipped}".encode()


def test_a_burst_shares_renderings_and_nobody_gets_an_older_one() -> None:
    renderer = Renderer()
    coalescer = Coalescer(renderer)

    async def scenario() -> list[tuple[int, bytes]]:
        async def scrape() -> tuple[int, bytes]:
            begun = renderer.started  # renderings begun before this request arrived
            return begun, await coalescer.call((True, True))

        first = asyncio.ensure_future(scrape())
        await until_async(lambda: renderer.started == 1, what="the first rendering")
        rest = [asyncio.ensure_future(scrape()) for _ in range(30)]
        return [await first, *[await r for r in rest]]

    results = asyncio.run(scenario())
    for begun, body in results:
        number = int(body.split(b":")[0])
        assert number > begun  # a rendering that started after the request arrived
    assert renderer.started == 2  # one for the first request, one shared by the 30 behind it
    assert {body for _, body in results[1:]} == {b"2:True:True"}


def test_formats_render_separately() -> None:
    renderer = Renderer(seconds=0.01)
    coalescer = Coalescer(renderer)

    async def scenario() -> set[bytes]:
        bodies = await asyncio.gather(*(coalescer.call((om, gz)) for om in (False, True) for gz in (False, True)))
        return {b.split(b":", 1)[1] for b in bodies}

    assert asyncio.run(scenario()) == {b"False:False", b"False:True", b"True:False", b"True:True"}


def test_a_hung_up_client_does_not_cancel_the_others() -> None:
    renderer = Renderer()
    coalescer = Coalescer(renderer)

    async def scenario() -> bytes:
        first = asyncio.ensure_future(coalescer.call((False, False)))
        await until_async(lambda: renderer.started == 1, what="rendering 1")
        # Rendering 1 is under way (it takes 50 ms): the next two wait for rendering 2.
        leaving = asyncio.ensure_future(coalescer.call((False, False)))
        staying = asyncio.ensure_future(coalescer.call((False, False)))
        await asyncio.sleep(0)  # one turn of the loop: both tasks run up to their wait
        first.cancel()
        leaving.cancel()
        return await staying

    assert asyncio.run(scenario()).startswith(b"2:")
    assert renderer.started == 2


def test_failures_reach_every_waiter_and_the_next_request_retries() -> None:
    renderer = Renderer(fail=True)
    coalescer = Coalescer(renderer)

    async def scenario() -> bytes:
        results = await asyncio.gather(*(coalescer.call((False, False)) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        renderer.fail = False
        return await coalescer.call((False, False))

    assert asyncio.run(scenario()).split(b":")[0] in (b"2", b"3")
    with pytest.raises(RuntimeError):
        asyncio.run(Coalescer(Renderer(fail=True)).call((True, False)))
