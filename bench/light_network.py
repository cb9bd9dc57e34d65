"""One network thread for all the light points of a process, instead of one paho thread each.

With paho's own ``loop_start`` a process of 50 points ran 51 threads: each point's network
thread woke for every packet and queued for the one GIL, and at 1,000 points the machine's
scheduler had a thousand such threads to share two cores between, with the single-threaded
broker and the controller among them (BENCHMARKS.md, "Where an emergency's time went"). A
Raspberry Pi runs one agent with one network thread; here one thread per process selects over
its points' sockets and drives their clients with paho's external-loop calls (``loop_read``,
``loop_write``, ``loop_misc``), which is what paho's own thread does per client. The points'
protocol code is unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
import time

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)
RECONNECT_S = 2.0  # a lost point tries again this often
MISC_S = 1.0  # keep-alives and timeouts, as paho's own loop does


class NetworkLoop:
    """Drives ``clients`` (connected with ``connect_async`` beforehand) from one thread."""

    def __init__(self, clients: list[mqtt.Client]) -> None:
        self.clients = clients
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = threading.Event()
        self._last_try: dict[int, float] = {}
        for client in clients:
            # paho then leaves the writing to this loop instead of writing from the caller
            client.on_socket_register_write = lambda *_a: self._wake()
        self._thread = threading.Thread(target=self._run, name="light-network", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        self._thread.join(timeout=10)
        for client in self.clients:
            with contextlib.suppress(Exception):
                client.disconnect()
                client.loop_write()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_w.send(b"x")

    def _run(self) -> None:
        last_misc = 0.0
        while not self._stop.is_set():
            try:
                self._once()
                if time.monotonic() - last_misc >= MISC_S:
                    last_misc = time.monotonic()
                    for client in self.clients:
                        client.loop_misc()
            except Exception:  # one point's socket must not stop the others
                log.exception("light network loop")

    def _once(self) -> None:
        socks: dict[socket.socket, mqtt.Client] = {}
        for index, client in enumerate(self.clients):
            sock = client.socket()
            if sock is None:
                self._reconnect(index, client)
                continue
            socks[sock] = client  # type: ignore[index]
        # TLS may hold decrypted bytes the socket no longer shows as readable
        ready = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
        writers = [s for s, c in socks.items() if c.want_write()]
        readable, writable, _ = select.select(
            [self._wake_r, *socks], writers, [], 0 if ready else MISC_S
        )
        if self._wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                self._wake_r.recv(4096)
        for sock in {*readable, *ready} - {self._wake_r}:
            socks[sock].loop_read()
        for sock in writable:
            socks[sock].loop_write()
        for sock, client in socks.items():  # queued by the worker since the select began
            if sock not in writable and client.want_write():
                client.loop_write()

    def _reconnect(self, index: int, client: mqtt.Client) -> None:
        now = time.monotonic()
        if now - self._last_try.get(index, 0.0) < RECONNECT_S:
            return
        self._last_try[index] = now
        try:
            client.reconnect()
        except OSError as exc:
            log.warning("light point %d: connecting failed: %s", index, exc)
