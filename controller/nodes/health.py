"""Each point's latest health report, and what in it a technician must act on.

The thresholds are those of the hardware in the field: a Raspberry Pi throttles its CPU from
80 °C (and a sealed box on a pole in the sun gets there), a node keeps ``min_free_bytes`` free
for the audio cache, and a clock far off plays the programme audibly early or late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from packaging.version import InvalidVersion, Version
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from controller.models import Node, NodeHealth, NodeUpdate
from node_agent.version import installed_version
from protocol.messages import Health
from protocol.timecheck import CLOCK_WRONG_S

HOT_C = 80.0
DISK_LOW_FRACTION = 0.10  # of the card
DISK_LOW_BYTES = 500 * 1024 * 1024  # whatever the card's size: room for a few bulletins
MEMORY_LOW_BYTES = 100 * 1024 * 1024  # a bulletin decodes block by block, but the OS needs room
CLOCK_FAR_MS = 500.0  # a slot start this far off is heard; the points page uses the same
WEAK_WIFI_DBM = -80  # below this, a Wi-Fi link drops packets and reconnects
WEAK_CELL_PCT = 20  # ModemManager's quality; about one bar on a phone


def record(s: Session, node_id: str, health: Health, at: datetime) -> None:
    """Replace ``node_id``'s health report with ``health``, measured about ``at``."""
    row = s.get(NodeHealth, node_id)
    if row is None:
        row = NodeHealth(node_id=node_id, reported_at=at)
        s.add(row)
    row.reported_at = at
    for name in Health.model_fields:
        if name != "v":
            setattr(row, name, getattr(health, name))


@dataclass(frozen=True)
class HealthWarning:
    """Something to act on: ``code`` names the UI text, ``values`` fill its placeholders."""

    code: str
    values: dict[str, str | int | float]


def warnings(
    health: NodeHealth | None,
    *,
    signal_dbm: int | None,
    version: str,
    current_version: str,
    offset_ms: float | None = None,
) -> list[HealthWarning]:
    """What is wrong with a point, most urgent first; nothing for what is unknown.
    ``offset_ms``: its clock minus ours, as its last fresh state measured it."""
    found: list[HealthWarning] = []
    wrong = clock_wrong(offset_ms)
    if wrong is not None:
        found.append(wrong)  # the point holds its timed bulletins: the most urgent
    if health is not None:
        found += _machine(health)
        found += _clock(health) if wrong is None else []
    if _older(version, current_version):
        found.append(HealthWarning("old_version", {"version": version, "current": current_version}))
    if signal_dbm is not None and signal_dbm < WEAK_WIFI_DBM:
        found.append(HealthWarning("weak_wifi", {"dbm": signal_dbm}))
    cell = health.cell_signal_pct if health is not None else None
    if cell is not None and cell < WEAK_CELL_PCT:
        found.append(HealthWarning("weak_cell", {"pct": cell}))
    return found


def _machine(h: NodeHealth) -> list[HealthWarning]:
    found: list[HealthWarning] = []
    if h.cpu_temp_c is not None and h.cpu_temp_c >= HOT_C:
        found.append(HealthWarning("hot", {"temp": round(h.cpu_temp_c), "limit": round(HOT_C)}))
    free, total = h.disk_free_bytes, h.disk_total_bytes
    if free is not None and (free < DISK_LOW_BYTES or (total and free < DISK_LOW_FRACTION * total)):
        found.append(HealthWarning("disk", {"free": free, "pct": _percent(free, total)}))
    memory = h.memory_available_bytes
    if memory is not None and memory < MEMORY_LOW_BYTES:
        found.append(HealthWarning("memory", {"free": memory}))
    return found


def _clock(h: NodeHealth) -> list[HealthWarning]:
    if h.clock_synced is False:
        return [HealthWarning("clock_unsynced", {})]
    if h.clock_offset_ms is not None and abs(h.clock_offset_ms) > CLOCK_FAR_MS:
        return [HealthWarning("clock_far", {"ms": round(h.clock_offset_ms)})]
    return []


def clock_wrong(offset_ms: float | None) -> HealthWarning | None:
    """A clock far enough from the controller's that the point holds its timed bulletins
    (node_agent/clock_check.py judges its own clock by the same bound)."""
    if offset_ms is None or abs(offset_ms) <= CLOCK_WRONG_S * 1000:
        return None
    minutes, seconds = divmod(round(abs(offset_ms) / 1000), 60)
    code = "clock_ahead" if offset_ms > 0 else "clock_behind"
    return HealthWarning(code, {"min": minutes, "s": seconds})


def _percent(part: int, whole: int | None) -> int:
    return round(100 * part / whole) if whole else 0


def _older(version: str, current: str) -> bool:
    """True when ``version`` is a release before ``current``; unknown or odd ones are not."""
    try:
        return Version(version) < Version(current)
    except InvalidVersion:
        return False


def warnings_of(
    node: Node, row: NodeHealth | None, target: str | None = None
) -> list[HealthWarning]:
    """``node``'s warnings. The version it should run is its rollout target when it has one
    (a point held at an older release on purpose is not "old"; one whose update failed is),
    else the controller's own (one package); ``target`` is looked up when not given."""
    if target is None:
        session = object_session(node)
        update = session.get(NodeUpdate, node.id) if session is not None else None
        target = update.version if update is not None else None
    return warnings(
        row,
        signal_dbm=node.signal_dbm,
        version=node.agent_version,
        current_version=target or installed_version(),
        offset_ms=node.clock_offset_ms,
    )


def warning_codes(s: Session) -> dict[str, list[str]]:
    """Every point's warnings by code, for the list's marker, the live stream and the API."""
    rows = s.execute(
        select(Node, NodeHealth, NodeUpdate.version)
        .outerjoin(NodeHealth)
        .outerjoin(NodeUpdate, NodeUpdate.node_id == Node.id)
    ).all()
    return {
        node.id: [w.code for w in warnings_of(node, row, target or "")]
        for node, row, target in rows
    }
