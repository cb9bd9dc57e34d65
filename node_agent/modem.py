"""A 4G point's link, from ModemManager: ``mmcli -m any --output-keyvalue`` prints the first
modem's properties as ``modem.generic.signal-quality.value : 67`` lines. A point without a
modem (or without ModemManager) has no cellular reading: None."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from node_agent.probe import run_command

MMCLI = ("mmcli", "-m", "any", "--output-keyvalue")
_QUALITY = "modem.generic.signal-quality.value"
_TECH = re.compile(r"^modem\.generic\.access-technologies\.value\[\d+\]$")
_TECH_VALUE = re.compile(r"^[a-z0-9+-]{1,12}$")


@dataclass(frozen=True)
class CellLink:
    signal_pct: int  # ModemManager's signal quality, 0-100
    technology: str | None  # "lte", "umts, hspa", ...; None when the modem does not say


def parse_mmcli(text: str) -> CellLink | None:
    values: dict[str, str] = {}
    techs: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            continue
        if _TECH.match(key) and _TECH_VALUE.match(value.lower()):
            techs.append(value.lower())
        values.setdefault(key, value)
    quality = values.get(_QUALITY, "")
    if not quality.isdigit() or not 0 <= int(quality) <= 100:
        return None
    return CellLink(int(quality), ", ".join(techs[:3]) or None)


def read_cell_link(command: Sequence[str] = MMCLI, timeout_s: float = 3.0) -> CellLink | None:
    text = run_command(command, timeout_s)
    return parse_mmcli(text) if text is not None else None
