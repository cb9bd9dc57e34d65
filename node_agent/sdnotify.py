"""systemd's notify protocol, by hand: one datagram per message to ``$NOTIFY_SOCKET``.

The node's unit is ``Type=notify`` with ``WatchdogSec=``: systemd counts the agent as started
when it says ``READY=1`` and restarts it when ``WATCHDOG=1`` stops coming. Whoever calls
``feed`` must be the loop that would hang (the agent's worker), never a thread of its own: a
timer thread keeps feeding a stuck agent. Without ``NOTIFY_SOCKET`` (a terminal, a test, the
demo) every call does nothing. See sd_notify(3) and sd_watchdog_enabled(3) for the variables.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

# systemd shows one line; a longer one is cut in `systemctl status` anyway
MAX_STATUS_CHARS = 200


def socket_address(value: str | None) -> str | None:
    """The datagram address of ``$NOTIFY_SOCKET``: a path, or '@name' for the abstract
    namespace (written with a leading NUL byte on the wire)."""
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    log.warning("NOTIFY_SOCKET=%r is neither a path nor an abstract name; not notifying", value)
    return None


def watchdog_interval_s(env: Mapping[str, str], pid: int) -> float | None:
    """Half of ``$WATCHDOG_USEC`` (systemd's advice), or None when the watchdog is off or is
    meant for another process (``$WATCHDOG_PID``)."""
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = env.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None
    return int(usec) / 2_000_000


class Notifier:
    """What the agent tells systemd. Sending never raises: a service manager that went away
    must not take the loudspeaker down with it."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        env = os.environ if env is None else env
        self.address = socket_address(env.get("NOTIFY_SOCKET"))
        self.feed_every_s = watchdog_interval_s(env, os.getpid()) if self.address else None
        self._clock = clock
        self._fed_at: float | None = None
        self._status = ""

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """One datagram of ``KEY=VALUE`` lines; True if the socket took it."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(fields).encode(), self.address)
        except OSError as exc:
            log.warning("could not notify systemd at %s: %s", self.address.lstrip("\0"), exc)
            return False
        return True

    def ready(self, status: str) -> None:
        self._status = _one_line(status)
        self.send("READY=1", f"STATUS={self._status}")
        self._fed_at = self._clock()  # READY counts as the first sign of life

    def status(self, text: str) -> None:
        """Sent only when it changes: the agent may call this every turn of its loop."""
        line = _one_line(text)
        if line != self._status:
            self._status = line
            self.send(f"STATUS={line}")

    def feed(self) -> None:
        """``WATCHDOG=1`` when half the watchdog interval has passed since the last one."""
        if self.feed_every_s is None:
            return
        now = self._clock()
        if self._fed_at is None or now - self._fed_at >= self.feed_every_s:
            self._fed_at = now
            self.send("WATCHDOG=1")

    def stopping(self, status: str) -> None:
        self._status = _one_line(status)
        self.send("STOPPING=1", f"STATUS={self._status}")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_STATUS_CHARS]
