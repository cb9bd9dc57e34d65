"""A TCP proxy between one node and the broker that behaves like a poor 4G link.

MQTT runs over TCP, so a packet lost on the radio is never lost to MQTT: TCP retransmits it
after a timeout, and everything behind it waits (head-of-line blocking), then arrives in a
burst. So "5 % loss" here is a stall: each chunk the broker sends is, with probability
``loss``, held for a retransmission time (``stall_s``, 200-400 ms: Linux's minimum RTO is
200 ms) together with all that follows it; and each chunk is delayed by up to ``jitter_s``
(uniform), never overtaking the one before (TCP keeps order); :meth:`RadioLink.hold` makes a
coverage hole of a given length. Only the broker-to-node direction
is impaired, the one a live stream flows in; what the node sends passes straight through.

Runs its own asyncio loop in a thread, so a synchronous test or benchmark can use it::

    with RadioLink(broker_port, loss=0.05, jitter_s=0.1) as proxy:
        ... point the node at proxy.port ...
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass
from types import TracebackType

CHUNK = 65536


@dataclass
class LinkStats:
    chunks: int = 0
    stalls: int = 0
    held_s: float = 0.0  # the longest any chunk was held beyond its arrival


class RadioLink:
    def __init__(
        self,
        upstream_port: int,
        *,
        loss: float = 0.0,
        jitter_s: float = 0.0,
        stall_s: tuple[float, float] = (0.2, 0.4),
        seed: int = 1,
        host: str = "127.0.0.1",
    ) -> None:
        if not 0 <= loss < 1 or jitter_s < 0 or not 0 <= stall_s[0] <= stall_s[1]:
            raise ValueError(f"bad impairment: loss={loss} jitter_s={jitter_s} stall={stall_s}")
        self.upstream = (host, upstream_port)
        self.loss, self.jitter_s, self.stall_s = loss, jitter_s, stall_s
        self.stats = LinkStats()
        self.port = 0
        self._hold_until = 0.0  # monotonic: nothing reaches the node before then
        self._rng = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._run, name="link-proxy", daemon=True)

    # --- the test's side ----------------------------------------------------------------------
    def start(self) -> RadioLink:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the link proxy did not start")
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def hold(self, seconds: float) -> None:
        """A coverage hole: from now, nothing reaches the node for ``seconds``; then all that
        waited arrives at once (TCP delivers it in order, late)."""
        self._hold_until = time.monotonic() + seconds

    def __enter__(self) -> RadioLink:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the proxy's loop ---------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, self.upstream[0], 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _connection(self, node_r: asyncio.StreamReader, node_w: asyncio.StreamWriter) -> None:
        try:
            broker_r, broker_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            node_w.close()
            return
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        tasks = [
            asyncio.create_task(_pump(node_r, broker_w)),
            asyncio.create_task(self._impair(broker_r, queue)),
            asyncio.create_task(_release(queue, node_w)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the proxy stops
            pass
        finally:
            for task in tasks:
                task.cancel()
            for writer in (node_w, broker_w):
                writer.close()

    async def _impair(
        self, reader: asyncio.StreamReader, queue: asyncio.Queue[tuple[float, bytes]]
    ) -> None:
        last = 0.0
        while data := await reader.read(CHUNK):
            now = time.monotonic()
            due = max(now + self._rng.uniform(0, self.jitter_s), self._hold_until)
            if self._rng.random() < self.loss:
                due += self._rng.uniform(*self.stall_s)
                self.stats.stalls += 1
            last = max(last, due)  # TCP keeps order: nothing overtakes a held chunk
            self.stats.chunks += 1
            self.stats.held_s = max(self.stats.held_s, last - now)
            await queue.put((last, data))
        await queue.put((0.0, b""))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()


async def _release(queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
    while True:
        due, data = await queue.get()
        if not data:
            return
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        writer.write(data)
        await writer.drain()
