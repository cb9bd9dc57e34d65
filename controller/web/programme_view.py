"""The programme as the pages show it: one day's slots and timed items, in play order, with
where each airing plays and, once it has been sent to the nodes, how its deliveries stand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controller import programme
from controller.delivery.state import NOT_PLAYED, WAITING, DeliveryStatus
from controller.models import Delivery, Node, Zone
from schedules import Occurrence, Programme, Recurrence, Slot, expand

Translate = Callable[..., str]
# How an airing's deliveries are counted on the page, by delivery status.
LIVE_GROUPS: dict[str, tuple[DeliveryStatus, ...]] = {
    "queued": WAITING,
    "playing": ("started",),
    "played": ("finished",),
    "missed": NOT_PLAYED,
}
WEEK_DAYS = 8  # today and the seven days after it: next week's same weekday is in view too


@dataclass
class Airing:
    occ: Occurrence
    play_id: str
    start: dt.datetime  # local
    where: str
    live: dict[str, int]  # LIVE_GROUPS key -> deliveries; empty before it is sent
    can_up: bool = False
    can_down: bool = False


@dataclass
class Block:
    """A slot on the day (possibly empty) or one item aired at its own time."""

    start: dt.datetime  # local
    slot: Slot | None
    airings: list[Airing] = field(default_factory=list)

    @property
    def end(self) -> dt.datetime:
        if self.slot is not None:
            return self.start + dt.timedelta(seconds=self.slot.max_length_s)
        return self.airings[0].start + dt.timedelta(seconds=self.airings[0].occ.duration_s)

    @property
    def used_s(self) -> float:
        gaps = self.slot.gap_s * max(len(self.airings) - 1, 0) if self.slot else 0.0
        return sum(a.occ.duration_s for a in self.airings) + gaps

    @property
    def full(self) -> bool:
        return self.slot is not None and self.used_s >= self.slot.max_length_s


@dataclass
class Places:
    """Who is where: to say "Thôn Đông" rather than listing its points one by one."""

    zone_nodes: dict[str, list[str]]
    zone_names: dict[str, str]
    node_names: dict[str, str]

    @classmethod
    def load(cls, s: Session) -> Places:
        return cls(
            programme.zone_nodes(s),
            dict(s.execute(select(Zone.code, Zone.name)).all()),
            dict(s.execute(select(Node.id, Node.name)).all()),
        )

    def describe(self, node_ids: Sequence[str], t: Translate) -> str:
        wanted = set(node_ids)
        if not wanted:
            return t("programme.where.none")
        whole = [c for c, members in self.zone_nodes.items() if members and set(members) <= wanted]
        if len(whole) == sum(1 for m in self.zone_nodes.values() if m):
            return t("programme.where.all")
        covered = {n for c in whole for n in self.zone_nodes[c]}
        loose = sorted(self.node_names.get(n, n) for n in wanted - covered)
        return ", ".join([self.zone_names[c] for c in whole] + loose)


def local_day(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def day_blocks(
    s: Session, prog: Programme, places: Places, day: dt.date, t: Translate
) -> list[Block]:
    """Everything the programme airs on local ``day``, by start time."""
    tz = prog.tz
    # A late slot may run past midnight: airings belong to the day their play id names.
    found = expand(
        prog, local_day(day, tz), local_day(day + dt.timedelta(days=2), tz), places.zone_nodes
    )
    mine = [o for o in found if o.play_id.endswith(f".{day:%Y%m%d}")]
    live = _live(s, [programme.play_id(o) for o in mine])
    blocks: dict[str, Block] = {}
    for slot in prog.slots:
        if day.weekday() in slot.weekdays:
            blocks[slot.id] = Block(dt.datetime.combine(day, slot.start, tzinfo=tz), slot)
    timed: list[Block] = []
    for occ in mine:
        pid = programme.play_id(occ)
        airing = Airing(
            occ, pid, occ.start.astimezone(tz), places.describe(occ.node_ids, t), live.get(pid, {})
        )
        if occ.slot_id is not None and occ.slot_id in blocks:
            blocks[occ.slot_id].airings.append(airing)
        else:
            timed.append(Block(airing.start, None, [airing]))
    for block in blocks.values():
        for before, after in zip(block.airings, block.airings[1:], strict=False):
            same = before.occ.priority == after.occ.priority
            before.can_down = after.can_up = same
    return sorted([*blocks.values(), *timed], key=lambda b: (b.start, b.slot is None))


def _live(s: Session, play_ids: list[str]) -> dict[str, dict[str, int]]:
    if not play_ids:
        return {}
    rows = s.execute(
        select(Delivery.play_id, Delivery.status, func.count())
        .where(Delivery.play_id.in_(play_ids))
        .group_by(Delivery.play_id, Delivery.status)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for pid, status, count in rows:
        group = next((g for g, members in LIVE_GROUPS.items() if status in members), None)
        if group is not None:
            counts = out.setdefault(pid, dict.fromkeys(LIVE_GROUPS, 0))
            counts[group] += count
    return out


def day_label(day: dt.date, today: dt.date, t: Translate) -> str:
    """ "Hôm nay", or "Thứ Hai 24/11"."""
    if day == today:
        return t("programme.today")
    return t("programme.day", weekday=t(f"programme.weekday.{day.weekday()}"), date=f"{day:%d/%m}")


def week(today: dt.date) -> list[dt.date]:
    return [today + dt.timedelta(days=k) for k in range(WEEK_DAYS)]


def recurrence_text(rec: Recurrence, t: Translate) -> str:
    """How often an item airs, in words, for the removal question."""
    days = ""
    if rec.weekdays:
        days = ", ".join(t(f"programme.weekday.{d}") for d in sorted(rec.weekdays))
    elif rec.month_days:
        days = ", ".join(str(d) for d in sorted(rec.month_days))
    return t(f"programme.recurrence.{rec.kind}", date=f"{rec.start_date:%d/%m/%Y}", days=days)
