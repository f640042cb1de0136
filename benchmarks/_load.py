"""A small HTTP/1.1 load generator: N keep-alive connections on loopback, each sending requests back to back.

Hand-written on asyncio streams rather than an HTTP client library so that the client costs little CPU:
on a 2-core machine a heavy client would measure itself instead of the server.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

__all__ = ["LoadResult", "run_load"]


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    errors: int
    p50: float
    p99: float
    seconds: float


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    elif length:
        await reader.readexactly(length)
    return status


async def _worker(port: int, request: bytes, count: int, latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            started = time.perf_counter()
            try:
                writer.write(request)
                await writer.drain()
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(repr(exc))
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(f"HTTP {status}")
    finally:
        writer.close()


async def _load(port: int, path: str, headers: dict[str, str], total: int, concurrency: int) -> LoadResult:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors: list[str] = []
    per_worker = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(_worker(port, request, n, latencies, errors) for n in per_worker))
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    p50 = statistics.median(ordered) if ordered else float("nan")
    return LoadResult(total, len(errors), p50, p99, seconds)


def run_load(
    port: int, path: str, *, total: int, concurrency: int, headers: dict[str, str] | None = None
) -> LoadResult:
    return asyncio.run(_load(port, path, headers or {}, total, concurrency))
