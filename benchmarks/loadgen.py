"""Load generators that run in this process: open-loop at a fixed rate, and closed-loop batches.

Both speak plain HTTP/1.1 over asyncio streams, one connection per request (gunicorn's
sync workers close the connection after each response), so the client costs a few tens
of microseconds per request and leaves the two cores to the server.

The fixed-rate generator is open-loop: request *i* is due at `start + i / rate` whatever
happened to the ones before, and its latency is measured from that due time, so a
stalled server shows up in the percentiles instead of silently slowing the client down.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field


def http_request(port: int, path: str, token: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


async def send(port: int, payload: bytes, timeout: float) -> tuple[int, bytes]:
    """Send one request on a new connection; (status, body), or (0, b"") on a network error."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        writer.write(payload)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(-1), timeout)
        writer.close()
    except (OSError, TimeoutError):
        return 0, b""
    head, _, body = raw.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0, b""
    return status, body


@dataclass
class RateRun:
    """What a fixed-rate run sent and how long each answer took (from its due time)."""

    rate: float
    planned: int
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    skipped: int = 0  # due while too many requests were already in flight

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


async def fixed_rate(
    port: int, requests: list[bytes], rate: float, *, max_in_flight: int = 2000, timeout: float = 30
) -> RateRun:
    run = RateRun(rate=rate, planned=len(requests))
    in_flight = 0
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(payload: bytes, due: float) -> None:
        nonlocal in_flight
        status, _ = await send(port, payload, timeout)
        run.latencies_ms.append((loop.time() - due) * 1000)
        run.statuses[status] += 1
        in_flight -= 1
        if in_flight == 0 and finished_sending:
            done.set()

    finished_sending = False
    tasks = []
    for i, payload in enumerate(requests):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= max_in_flight:
            run.skipped += 1
            continue
        in_flight += 1
        tasks.append(asyncio.ensure_future(one(payload, due)))
    finished_sending = True
    if in_flight:
        await done.wait()
    run.seconds = loop.time() - start
    run.latencies_ms.sort()
    return run


@dataclass
class BatchRun:
    batches: int = 0
    items: int = 0
    created: int = 0
    errors: int = 0
    failed_requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)


async def batches(
    port: int, payloads: list[bytes], concurrency: int, timeout: float = 120
) -> BatchRun:
    """Send every payload, `concurrency` at a time, back to back; count what was created."""
    run = BatchRun()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)

    async def worker() -> None:
        while not queue.empty():
            payload = queue.get_nowait()
            began = time.perf_counter()
            status, body = await send(port, payload, timeout)
            run.latencies_ms.append((time.perf_counter() - began) * 1000)
            run.batches += 1
            if status != 200:
                run.failed_requests += 1
                continue
            answer = json.loads(body)
            run.items += answer["count"]
            run.created += answer["created"]
            run.errors += answer["errors"]

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - began
    run.latencies_ms.sort()
    return run
