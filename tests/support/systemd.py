"""A fake systemd for the notify protocol: the receiving end of ``$NOTIFY_SOCKET``."""

from __future__ import annotations

import socket
from pathlib import Path


def _fields(data: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in data.decode().split("\n"))


class FakeSystemd:
    """The receiving end of ``$NOTIFY_SOCKET``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def env(self, **more: str) -> dict[str, str]:
        return {"NOTIFY_SOCKET": str(self.path), **more}

    def next(self, timeout: float = 10.0) -> dict[str, str]:
        """The next datagram as its fields; fails after ``timeout`` without one."""
        self.sock.settimeout(timeout)
        return _fields(self.sock.recv(4096))

    def until(self, key: str, timeout: float = 10.0) -> dict[str, str]:
        while True:
            message = self.next(timeout)
            if key in message:
                return message

    def drain(self) -> list[dict[str, str]]:
        self.sock.setblocking(False)
        got: list[dict[str, str]] = []
        try:
            while True:
                got.append(_fields(self.sock.recv(4096)))
        except BlockingIOError:
            return got

    def silent_for(self, seconds: float) -> bool:
        """Nothing but status lines arrives for ``seconds`` (a bound, not a speed: a slow
        machine only makes a feed rarer)."""
        try:
            while True:
                if "WATCHDOG" in self.next(seconds):
                    return False
        except TimeoutError:
            return True
