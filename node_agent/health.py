"""What a node reports about its own health besides its status: for now, the radio link level."""

from __future__ import annotations

from pathlib import Path

from protocol.messages import MAX_SIGNAL_DBM, MIN_SIGNAL_DBM

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
