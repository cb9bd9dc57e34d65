"""A TCP proxy in one node's path to the broker, with knobs the test turns: a degraded 4G link.

It forwards bytes both ways unchanged (TLS passes through), so the node and the broker see a
real connection that is slow, late, silent or reset:

- ``delay_s``: each piece of data waits this long before it goes on (latency);
- ``rate_bps``: bytes per second each way (throttle);
- ``blackhole``: nothing flows, nothing is closed (a dead link: TCP waits, keepalives fail);
  what was held flows once it is lifted, unless the connection was reset meanwhile;
- ``cut()``: every open connection is reset (the link dropped), and new ones are taken as usual;
- ``drop_pubacks``: that many of the broker's next PUBACKs vanish on the way to the client, the
  connection staying up (what Mosquitto 2.0.11 does to a client whose queue overflowed:
  ``protocol.mqtt_client``). Only with ``frames``, where the broker's side is read packet by
  packet (plain MQTT, not TLS).

The loop runs in its own thread so the test drives it with plain calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

_READ = 16384
_PUBACK = 0x40  # the fixed header's packet type, high nibble


@dataclass
class LinkProxy:
    target_port: int
    target_host: str = "127.0.0.1"
    delay_s: float = 0.0
    rate_bps: float | None = None
    port: int = 0
    frames: bool = False
    drop_pubacks: int = 0
    connections: int = 0  # accepted so far: a reconnect shows here
    _open: set[asyncio.StreamWriter] = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop | None = None
    _flowing: asyncio.Event | None = None
    _server: asyncio.AbstractServer | None = None

    def __enter__(self) -> LinkProxy:
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), name="link-proxy", daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("the link proxy did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        loop = self._loop
        if loop is not None:
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)

    @property
    def blackhole(self) -> bool:
        return self._flowing is not None and not self._flowing.is_set()

    @blackhole.setter
    def blackhole(self, on: bool) -> None:
        flowing, loop = self._flowing, self._loop
        if flowing is None or loop is None:
            raise RuntimeError("start the proxy first")
        loop.call_soon_threadsafe(flowing.clear if on else flowing.set)

    def cut(self) -> None:
        """Reset every open connection, as a dropped link does."""
        assert self._loop is not None, "start the proxy first"
        asyncio.run_coroutine_threadsafe(self._reset_all(), self._loop).result(10)

    def heal(self) -> None:
        self.delay_s, self.rate_bps = 0.0, None
        self.blackhole = False

    # --- the loop's side ----------------------------------------------------------------------
    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.run_until_complete(self._start())
        ready.set()
        loop.run_forever()
        loop.close()

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        sock: socket.socket = self._server.sockets[0]
        self.port = sock.getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.close()
            return
        self._open.update((writer, up_writer))
        await asyncio.gather(
            self._pump(reader, up_writer),
            self._pump(up_reader, writer, from_broker=True),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            self._open.discard(w)
            w.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_broker: bool = False
    ) -> None:
        flowing = self._flowing
        assert flowing is not None
        framed = from_broker and self.frames
        try:
            while data := await (_mqtt_packet(reader) if framed else reader.read(_READ)):
                if framed and data[0] & 0xF0 == _PUBACK and self.drop_pubacks > 0:
                    self.drop_pubacks -= 1
                    continue
                await flowing.wait()
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                if self.rate_bps:
                    await asyncio.sleep(len(data) / self.rate_bps)
                if writer.is_closing():
                    return
                writer.write(data)
                await writer.drain()
        finally:
            if not writer.is_closing():
                writer.close()

    async def _reset_all(self) -> None:
        for w in list(self._open):
            sock = w.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER 0: close sends a reset, not a polite FIN
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            w.close()
        self._open.clear()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._reset_all()


async def _mqtt_packet(reader: asyncio.StreamReader) -> bytes:
    """One whole MQTT control packet (fixed header, then its remaining length); empty at the
    end of the stream."""
    try:
        header = bytearray(await reader.readexactly(1))
        length, shift = 0, 0
        while True:  # the remaining length: up to four 7-bit digits, low first
            digit = (await reader.readexactly(1))[0]
            header.append(digit)
            length |= (digit & 0x7F) << shift
            shift += 7
            if not digit & 0x80:
                break
        return bytes(header) + await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return b""
