"""What a node reports about its own health with its state: the radio link, and the
``Health`` of protocol/messages.py (uptime, temperature, disk, memory, clock, 4G signal).

Reading the kernel's files costs microseconds and is done for every state; asking chrony and
ModemManager runs programs, so their answers are kept for ``slow_every_s`` (a state goes out
at every play and every heartbeat).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from node_agent import sysinfo
from node_agent.clock import ClockState, read_clock
from node_agent.modem import CellLink, read_cell_link
from protocol.messages import MAX_HEALTH_BYTES, MAX_SIGNAL_DBM, MIN_SIGNAL_DBM, Health

PROC_WIRELESS = Path("/proc/net/wireless")
_HEADER_LINES = 2


def wireless_signal_dbm(path: Path = PROC_WIRELESS) -> int | None:
    """The link level of the first wireless interface that has one, in dBm; None when the
    node has no wireless interface (wired, or 4G through a modem the kernel does not list here).

    ``/proc/net/wireless`` has two header lines, then per interface
    ``wlan0: 0000   54.  -56.  -256  0 0 0 0 0  0`` (status, link quality, level, noise, ...).
    """
    try:
        lines = path.read_text().splitlines()[_HEADER_LINES:]
    except OSError:
        return None
    for line in lines:
        _iface, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or len(fields) < 3:
            continue
        try:
            level = int(float(fields[2].rstrip(".")))
        except (ValueError, OverflowError):  # "n/a", "inf"
            continue
        # Some drivers print the level as an unsigned byte (200 for -56 dBm); 0 means "no
        # reading" (not associated), not a perfect signal.
        if level > 63:
            level -= 256
        # outside the protocol's range: no reading (the state would be refused for it)
        if level != 0 and MIN_SIGNAL_DBM <= level <= MAX_SIGNAL_DBM:
            return level
    return None


@dataclass
class HealthSources:
    """Where each reading comes from; tests point them at samples in the real formats."""

    data_dir: Path
    uptime: Path = sysinfo.PROC_UPTIME
    thermal: Path = sysinfo.THERMAL
    meminfo: Path = sysinfo.PROC_MEMINFO
    clock: Callable[[], ClockState | None] = read_clock
    cell: Callable[[], CellLink | None] = read_cell_link


@dataclass
class HealthSampler:
    """Builds a node's ``Health``; the slow readings (clock, modem) are refreshed at most once
    per ``slow_every_s`` of ``now`` (monotonic seconds)."""

    sources: HealthSources
    slow_every_s: float = 300.0
    now: Callable[[], float] = time.monotonic
    _slow_at: float | None = field(default=None, init=False)
    _clock: ClockState | None = field(default=None, init=False)
    _cell: CellLink | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def sample(self) -> Health:
        src = self.sources
        with self._lock:  # the worker and the player's report thread both publish states
            if self._slow_at is None or self.now() - self._slow_at >= self.slow_every_s:
                self._clock, self._cell = src.clock(), src.cell()
                self._slow_at = self.now()
            clock, cell = self._clock, self._cell
        disk = sysinfo.disk_bytes(src.data_dir)
        memory = sysinfo.memory_bytes(src.meminfo)
        return Health(
            uptime_s=sysinfo.uptime_s(src.uptime),
            cpu_temp_c=sysinfo.cpu_temp_c(src.thermal),
            disk_free_bytes=_fit(disk[0]) if disk else None,
            disk_total_bytes=_fit(disk[1]) if disk else None,
            memory_available_bytes=_fit(memory[0]) if memory else None,
            memory_total_bytes=_fit(memory[1]) if memory else None,
            clock_synced=clock.synced if clock else None,
            clock_offset_ms=clock.offset_ms if clock else None,
            clock_source=clock.source if clock else None,
            cell_signal_pct=cell.signal_pct if cell else None,
            cell_technology=cell.technology if cell else None,
        )


def _fit(n: int) -> int | None:
    """A size the protocol can carry; beyond it (no real node) the reading is unknown."""
    return n if 0 <= n <= MAX_HEALTH_BYTES else None
