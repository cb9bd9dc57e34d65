"""Whether the node's clock is right: a node plays its programme from its own clock, so a clock
that drifted or never synchronised plays the morning bulletin at the wrong time.

chrony (installed on every point) answers best: ``chronyc -c tracking`` gives the offset from
its time source and the leap status. Without chrony, ``timedatectl show`` says whether
systemd-timesyncd synchronised the clock, and the kernel's ``adjtimex`` whether anything did;
neither gives an offset.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from node_agent.probe import run_command
from protocol.messages import MAX_CLOCK_OFFSET_MS

CHRONYC = ("chronyc", "-c", "tracking")
TIMEDATECTL = ("timedatectl", "show")
ClockSource = Literal["chrony", "timedatectl", "adjtimex"]
# Fields of `chronyc -c tracking` (chrony's client.c): reference id, its name, stratum,
# reference time, system time correction, last offset, RMS offset, frequency, residual
# frequency, skew, root delay, root dispersion, update interval, leap status.
_CHRONY_FIELDS = 14
_CORRECTION, _LEAP = 4, 13
_TIME_ERROR = 5  # adjtimex's answer when the kernel's clock is not synchronised


@dataclass(frozen=True)
class ClockState:
    synced: bool
    offset_ms: float | None  # node clock minus the time source's; None when not measured
    source: ClockSource


def parse_chrony_tracking(text: str) -> ClockState | None:
    """chrony's CSV tracking report. Its "system time" is the correction chrony is applying:
    positive when the clock is slow (chronyc prints "seconds slow of NTP time"), so the node's
    clock minus the true time is its negation."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    fields = line.split(",")
    if len(fields) < _CHRONY_FIELDS:
        return None
    try:
        correction_s = float(fields[_CORRECTION])
    except ValueError:
        return None
    offset_ms = -correction_s * 1000
    if not math.isfinite(offset_ms) or abs(offset_ms) > MAX_CLOCK_OFFSET_MS:
        offset_ms = math.nan
    # chrony reports "Not synchronised" until it has a usable source (reference id 0).
    synced = fields[_LEAP].strip() != "Not synchronised" and fields[0].strip("0") != ""
    return ClockState(synced, None if math.isnan(offset_ms) else round(offset_ms, 3), "chrony")


def parse_timedatectl(text: str) -> ClockState | None:
    """``timedatectl show``: ``NTPSynchronized=yes`` once systemd saw the clock synchronised."""
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "NTPSynchronized":
            return ClockState(value.strip() == "yes", None, "timedatectl")
    return None


def adjtimex_state() -> int | None:
    """The kernel clock's state from ``adjtimex`` (read only): 0-4 synchronised, 5 not; None
    where the call is not available."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        call = libc.adjtimex
    except (OSError, AttributeError):
        return None
    # struct timex: ``modes`` first (0 = change nothing), then longs and ints the kernel fills
    # in; 512 bytes is more than its size on any architecture.
    buffer = ctypes.create_string_buffer(512)
    state = int(call(buffer))
    return None if state < 0 else state


def from_adjtimex(state: int | None) -> ClockState | None:
    return None if state is None else ClockState(state != _TIME_ERROR, None, "adjtimex")


def read_clock(
    *,
    chronyc: Sequence[str] = CHRONYC,
    timedatectl: Sequence[str] = TIMEDATECTL,
    kernel: Callable[[], int | None] = adjtimex_state,
    timeout_s: float = 2.0,
) -> ClockState | None:
    """The best answer the node has, chrony first; None when nothing answers."""
    text = run_command(chronyc, timeout_s)
    state = parse_chrony_tracking(text) if text is not None else None
    if state is None:
        text = run_command(timedatectl, timeout_s)
        state = parse_timedatectl(text) if text is not None else None
    return state if state is not None else from_adjtimex(kernel())
