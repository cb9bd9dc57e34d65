"""The machine's own figures, read from the kernel's files: uptime, CPU temperature, memory
and disk. Each reader takes its source as a parameter (tests give it a file in the kernel's
format); a missing or unreadable source is None, never an exception."""

from __future__ import annotations

import shutil
from pathlib import Path

from protocol.messages import MAX_TEMP_C, MAX_UPTIME_S, MIN_TEMP_C

PROC_UPTIME = Path("/proc/uptime")
PROC_MEMINFO = Path("/proc/meminfo")
THERMAL = Path("/sys/class/thermal")


def uptime_s(path: Path = PROC_UPTIME) -> int | None:
    """Seconds since boot: ``/proc/uptime`` is ``"350735.47 234388.90"`` (up, idle)."""
    try:
        value = float(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return int(value) if 0 <= value <= MAX_UPTIME_S else None


def cpu_temp_c(root: Path = THERMAL) -> float | None:
    """The CPU's temperature in °C from the kernel's thermal zones (millidegrees in
    ``thermal_zoneN/temp``). A zone whose ``type`` names the CPU (``cpu-thermal`` on a Raspberry
    Pi, ``x86_pkg_temp`` on a PC) wins; otherwise the first zone that reads."""
    try:
        zones = sorted(root.glob("thermal_zone*"), key=lambda p: _zone_number(p.name))
    except OSError:
        return None
    readings: list[tuple[bool, float]] = []
    for zone in zones:
        temp = _zone_temp(zone)
        if temp is not None:
            readings.append((_is_cpu(zone), temp))
    cpu = [t for is_cpu, t in readings if is_cpu]
    if cpu:
        return cpu[0]
    return readings[0][1] if readings else None


def _zone_number(name: str) -> int:
    digits = name.removeprefix("thermal_zone")
    return int(digits) if digits.isdigit() else 1 << 30


def _zone_temp(zone: Path) -> float | None:
    try:
        celsius = int(zone.joinpath("temp").read_text().strip()) / 1000
    except (OSError, ValueError):  # a sensor that is not ready answers EAGAIN/ENODATA
        return None
    return round(celsius, 1) if MIN_TEMP_C <= celsius <= MAX_TEMP_C else None


def _is_cpu(zone: Path) -> bool:
    try:
        kind = zone.joinpath("type").read_text().strip().lower()
    except OSError:
        return False
    return "cpu" in kind or "soc" in kind or kind == "x86_pkg_temp"


def memory_bytes(path: Path = PROC_MEMINFO) -> tuple[int, int] | None:
    """(available, total) from ``/proc/meminfo`` (``MemAvailable:  612344 kB``): what can be
    used without swapping, which is what decides whether the agent survives a long bulletin."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    found: dict[str, int] = {}
    for line in lines:
        key, _, rest = line.partition(":")
        fields = rest.split()
        if key in ("MemAvailable", "MemTotal") and fields and fields[0].isdigit():
            found[key] = int(fields[0]) * 1024
    if "MemAvailable" not in found or "MemTotal" not in found:
        return None
    return found["MemAvailable"], found["MemTotal"]


def disk_bytes(path: Path) -> tuple[int, int] | None:
    """(free, total) of the file system holding ``path``; None if it cannot be read."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return usage.free, usage.total
