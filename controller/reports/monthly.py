"""The monthly report of a commune: what aired, for how long, where, and how reachable each
loudspeaker point was. Pure computation over the database, shared by the web page, its CSV and
any future API or command line; the words around the numbers belong to the caller.

Definitions (also in the CSV documentation on the reports page):
- a month is a calendar month in Asia/Ho_Chi_Minh;
- a *play* is one airing on one point that started within the month;
- a bulletin counts in the month when at least one of its plays started in it; its *source* is
  ``cap`` or ``emergency`` for alerts (by the alert's source), else ``tts`` when it was spoken
  from text, else ``uploaded``;
- a play lasts ``finished_at - started_at``; one without an end (cut off, still playing, or its
  point went silent) lasts until its last update (or now), at most the audio's duration;
- *point minutes* add up every play at every point; *airtime minutes* count each airing once,
  as long as its longest play;
- a point's availability is the share of the month so far (from the point's creation if later)
  during which it was online or playing; before its first report it counts as offline.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.delivery.availability import availability, changes_for
from controller.delivery.state import PLAYED
from controller.models import Alert, AudioFile, Bulletin, Delivery, Node, Zone
from schedules import LOCAL

PRIORITIES = ("emergency", "priority", "normal", "filler")
SOURCES = ("uploaded", "tts", "emergency", "cap", "live")


def parse_month(text: str) -> date:
    """``MM/YYYY`` as people write it in Vietnam (``M/YYYY`` too), or ``YYYY-MM`` as links and
    the API do → the first day of that month; ValueError when it is not one."""
    given = text.strip()
    if "/" in given:
        month, _, year = given.partition("/")
        month = month.zfill(2) if len(month) == 1 else month
    else:
        year, _, month = given.partition("-")
    if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        raise ValueError(f"{text!r} is not a month written MM/YYYY")
    if not 1 <= int(month) <= 12:
        raise ValueError(f"{text!r} is not a month written MM/YYYY")
    first = date(int(year), int(month), 1)
    try:  # the month's bounds, in UTC as the database keeps times, must exist
        for bound in month_bounds(first):
            bound.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is beyond the calendar") from None
    return first


def month_of(at: datetime) -> date:
    local = at.astimezone(LOCAL)
    return date(local.year, local.month, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, as aware local datetimes."""
    start = datetime(month.year, month.month, 1, tzinfo=LOCAL)
    after = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, datetime(after.year, after.month, 1, tzinfo=LOCAL)


@dataclass
class VillageRow:
    code: str
    name: str
    points: int = 0
    plays: int = 0
    point_minutes: float = 0.0


@dataclass
class PointRow:
    node_id: str
    name: str
    zone_code: str
    zone_name: str
    plays: int = 0
    point_minutes: float = 0.0
    availability_pct: float | None = None  # None: none of the month has elapsed


@dataclass
class MonthlyReport:
    month: date
    start: datetime
    end: datetime
    bulletins: int = 0
    bulletin_ids: list[str] = field(default_factory=list)  # the bulletins that aired
    by_priority: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    plays: int = 0
    point_minutes: float = 0.0
    airtime_minutes: float = 0.0
    villages: list[VillageRow] = field(default_factory=list)
    points: list[PointRow] = field(default_factory=list)


def played_seconds(delivery: Delivery, duration_s: float, now: datetime) -> float:
    if delivery.live_seconds is not None:  # a live session: what the point said it carried
        return delivery.live_seconds
    started = delivery.started_at
    if started is None:
        return 0.0
    if delivery.finished_at is not None:
        return max(0.0, (delivery.finished_at - started).total_seconds())
    last = delivery.updated_at if delivery.status not in PLAYED else now
    return max(0.0, min(duration_s, (last - started).total_seconds()))


def source_of(bulletin: Bulletin, alert_source: str | None) -> str:
    if alert_source is not None:
        return "cap" if alert_source == "cap" else "emergency"
    if bulletin.kind == "live":
        return "live"
    return "tts" if "tts" in (bulletin.processing_report or {}) else "uploaded"


def monthly_report(s: Session, month: date, now: datetime) -> MonthlyReport:
    start, end = month_bounds(month)
    report = MonthlyReport(month=month, start=start, end=end)
    nodes = s.execute(select(Node, Zone).join(Zone, Node.zone_id == Zone.id).order_by(Node.id))
    points = {
        node.id: PointRow(node.id, node.name, zone.code, zone.name) for node, zone in nodes.all()
    }
    created = {node_id: at for node_id, at in s.execute(select(Node.id, Node.created_at))}
    villages = {
        z.code: VillageRow(z.code, z.name) for z in s.scalars(select(Zone).order_by(Zone.name))
    }
    for p in points.values():
        villages[p.zone_code].points += 1

    plays = s.execute(
        select(Delivery, Bulletin, AudioFile.duration_s)
        .join(Bulletin, Delivery.bulletin_id == Bulletin.id)
        .join(AudioFile, Bulletin.audio_sha256 == AudioFile.sha256)
        .where(Delivery.started_at >= start, Delivery.started_at < end)
    ).all()
    aired: dict[str, Bulletin] = {}
    airing_s: dict[str, float] = defaultdict(float)
    for delivery, bulletin, duration_s in plays:
        seconds = played_seconds(delivery, duration_s, now)
        point = points[delivery.node_id]
        point.plays += 1
        point.point_minutes += seconds / 60
        village = villages[point.zone_code]
        village.plays += 1
        village.point_minutes += seconds / 60
        airing_s[delivery.play_id] = max(airing_s[delivery.play_id], seconds)
        aired[bulletin.id] = bulletin
    report.plays = len(plays)
    report.point_minutes = sum(p.point_minutes for p in points.values())
    report.airtime_minutes = sum(airing_s.values()) / 60

    alert_sources = {
        bulletin_id: source
        for bulletin_id, source in s.execute(
            select(Alert.bulletin_id, Alert.source).where(Alert.bulletin_id.in_(aired))
        )
    }
    priorities = Counter(b.priority for b in aired.values())
    sources = Counter(source_of(b, alert_sources.get(b.id)) for b in aired.values())
    report.bulletins = len(aired)
    report.bulletin_ids = list(aired)
    report.by_priority = {p: priorities.get(p, 0) for p in (*PRIORITIES, *priorities.keys())}
    report.by_source = {k: sources.get(k, 0) for k in SOURCES}

    history = changes_for(s, list(points), start, min(end, now))
    for node_id, point in points.items():
        since = max(start, created.get(node_id) or start)
        point.availability_pct = availability(history[node_id], since, end, now)
    report.villages = list(villages.values())
    report.points = list(points.values())
    return report


# One row per number, for a spreadsheet: (measure, breakdown, key, name, value, unit).
LongRow = tuple[str, str, str, str, float | int | None, str]


def long_rows(report: MonthlyReport) -> list[LongRow]:
    """The report as a tidy table; codes only, the caller puts words on them."""
    rows: list[LongRow] = [("bulletins", "total", "", "", report.bulletins, "bulletins")]
    rows += [
        ("bulletins", "priority", k, "", v, "bulletins") for k, v in report.by_priority.items()
    ]
    rows += [("bulletins", "source", k, "", v, "bulletins") for k, v in report.by_source.items()]
    rows += [
        ("airtime", "total", "", "", round(report.airtime_minutes, 2), "minutes"),
        ("point_minutes", "total", "", "", round(report.point_minutes, 2), "minutes"),
        ("plays", "total", "", "", report.plays, "plays"),
    ]
    for v in report.villages:
        rows.append(("plays", "village", v.code, v.name, v.plays, "plays"))
        rows.append(
            ("point_minutes", "village", v.code, v.name, round(v.point_minutes, 2), "minutes")
        )
    for p in report.points:
        rows.append(("plays", "point", p.node_id, p.name, p.plays, "plays"))
        pct = None if p.availability_pct is None else round(p.availability_pct, 1)
        rows.append(("availability", "point", p.node_id, p.name, pct, "percent"))
    return rows
