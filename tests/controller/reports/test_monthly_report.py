"""The monthly report's numbers and the points' availability, computed from a real SQLite file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from controller.auth import create_user
from controller.delivery.availability import availability, record_status
from controller.models import Alert, AudioFile, Bulletin, Commune, Delivery, Node, Zone
from controller.reports.monthly import long_rows, month_bounds, monthly_report, parse_month
from schedules import LOCAL

NOV = datetime(2026, 11, 1, tzinfo=LOCAL)
DEC = datetime(2026, 12, 1, tzinfo=LOCAL)
H = timedelta(hours=1)


# --- availability: pure ----------------------------------------------------------------------
def test_always_online_since_before_the_period_is_100_percent():
    assert availability([(NOV - H, "online")], NOV, DEC, DEC + H) == 100.0


def test_offline_before_the_first_report():
    # first report half-way through a 10-hour window
    assert availability([(NOV + 5 * H, "online")], NOV, NOV + 10 * H, DEC) == pytest.approx(50.0)


def test_playing_counts_as_online_and_offline_spells_do_not():
    changes = [
        (NOV + 2 * H, "offline"),  # given out of order on purpose
        (NOV, "online"),
        (NOV + 1 * H, "playing"),
        (NOV + 3 * H, "online"),
    ]
    assert availability(changes, NOV, NOV + 4 * H, DEC) == pytest.approx(75.0)


def test_only_the_elapsed_part_of_the_month_counts():
    now = NOV + 10 * H
    changes = [(NOV, "online"), (NOV + 8 * H, "offline")]
    assert availability(changes, NOV, DEC, now) == pytest.approx(80.0)


def test_changes_after_now_or_the_end_are_ignored():
    changes = [(NOV - H, "online"), (NOV + 5 * H, "offline")]
    assert availability(changes, NOV, NOV + 4 * H, DEC) == 100.0


def test_a_month_in_the_future_has_no_availability():
    assert availability([(NOV, "online")], DEC, DEC + 30 * 24 * H, NOV + H) is None


def test_a_point_that_never_reported_is_at_0_percent():
    assert availability([], NOV, DEC, DEC) == 0.0


# --- the month --------------------------------------------------------------------------------
def test_months_are_local_calendar_months():
    start, end = month_bounds(parse_month("2026-12"))
    assert start == datetime(2026, 12, 1, tzinfo=LOCAL)
    assert end == datetime(2027, 1, 1, tzinfo=LOCAL)
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 17, tzinfo=UTC)
    # as people write it in Vietnam, and as links and the API do
    assert parse_month("12/2026") == parse_month("2026-12") == parse_month(" 12/2026 ")
    assert parse_month("3/2026") == parse_month("2026-03")
    for bad in ("2026-13", "13/2026", "0/2026", "2026/11", "11-2026", "12/26", "12/2026/1", ""):
        with pytest.raises(ValueError, match="not a month"):
            parse_month(bad)
    for beyond in ("9999-12", "0001-01"):  # their bounds overflow the calendar
        with pytest.raises(ValueError, match="beyond the calendar"):
            parse_month(beyond)


def bulletin(s, user_id: int, bid: str, *, priority="normal", tts=False, seconds=60.0) -> None:
    s.add(AudioFile(sha256=bid.ljust(64, "0"), size=1, duration_s=seconds, mime="audio/ogg"))
    report = {"tts": {"engine": "espeak-ng"}} if tts else {}
    s.add(
        Bulletin(
            id=bid,
            title=bid,
            audio_sha256=bid.ljust(64, "0"),
            processing_report=report,
            priority=priority,
            valid_until=DEC,
            created_by=user_id,
        )
    )


def play(s, bid: str, node: str, started: datetime | None, **fields: object) -> None:
    status = fields.pop("status", "finished" if started else "expired")
    s.add(
        Delivery(
            play_id=str(fields.pop("play_id", bid)),
            bulletin_id=bid,
            node_id=node,
            status=status,
            started_at=started,
            **fields,
        )
    )


def test_the_month_counts_bulletins_minutes_plays_and_availability(db):
    now = NOV + 20 * 24 * H
    with db.session() as s:
        s.add(Commune(id=1, name="Xã Thử"))
        s.add(Zone(id=1, commune_id=1, code="dong", name="Thôn Đông"))
        s.add(Zone(id=2, commune_id=1, code="tay", name="Thôn Tây"))
        s.add(Node(id="n1", name="Loa 1", zone_id=1, created_at=NOV - H))
        s.add(Node(id="n2", name="Loa 2", zone_id=2, created_at=NOV + 10 * 24 * H))
        user = create_user(s, "lan", "mat-khau-dai", "broadcaster")
        bulletin(s, user.id, "up", seconds=120)
        bulletin(s, user.id, "tts", tts=True)
        bulletin(s, user.id, "sos", priority="emergency", tts=True, seconds=30)
        bulletin(s, user.id, "old")  # aired in October: not this month
        bulletin(s, user.id, "lost")  # never played anywhere
        s.flush()
        s.add(
            Alert(id="a", bulletin_id="sos", expires_at=DEC, proposed_by=user.id, source="manual")
        )
        day = NOV + 24 * H
        play(s, "up", "n1", day, finished_at=day + 2 * 60 * timedelta(seconds=1))
        play(s, "up", "n2", day + 5 * timedelta(seconds=1), finished_at=day + timedelta(seconds=95))
        play(s, "tts", "n1", day, finished_at=day + timedelta(seconds=60))
        play(s, "tts", "n2", None, reason="node offline")
        # the alert's second airing was cut after 10 s; the first is still playing now
        play(s, "sos", "n1", now - timedelta(seconds=5), play_id="sos.r1", status="started")
        play(
            s,
            "sos",
            "n2",
            day,
            play_id="sos.r2",
            status="cancelled",
            updated_at=day + timedelta(seconds=10),
        )
        play(s, "old", "n1", NOV - 24 * H, finished_at=NOV - 24 * H + timedelta(seconds=60))
        play(s, "lost", "n1", None)
        record_status(s, "n1", "online", NOV - 2 * H)
        record_status(s, "n1", "offline", NOV + 5 * 24 * H)
        record_status(s, "n1", "online", NOV + 10 * 24 * H)
        record_status(s, "n2", "online", NOV + 15 * 24 * H)
        record_status(s, "n2", "playing", NOV + 16 * 24 * H)
    with db.session() as s:
        r = monthly_report(s, date(2026, 11, 1), now)
    assert r.bulletins == 3
    assert r.by_priority == {"emergency": 1, "priority": 0, "normal": 2, "filler": 0}
    assert r.by_source == {"uploaded": 1, "tts": 1, "emergency": 1, "cap": 0, "live": 0}
    assert r.plays == 5
    assert r.point_minutes == pytest.approx((120 + 90 + 60 + 5 + 10) / 60)
    # each airing once, at its longest play: up 120 s, tts 60 s, sos.r1 5 s, sos.r2 10 s
    assert r.airtime_minutes == pytest.approx((120 + 60 + 5 + 10) / 60)
    village = {v.code: v for v in r.villages}
    assert (village["dong"].plays, village["tay"].plays) == (3, 2)
    assert (village["dong"].points, village["tay"].points) == (1, 1)
    point = {p.node_id: p for p in r.points}
    assert point["n1"].availability_pct == pytest.approx(75.0)  # offline 5 of 20 days
    # n2 exists from day 10 and reports from day 15: online 5 of its 10 days
    assert point["n2"].availability_pct == pytest.approx(50.0)
    rows = long_rows(r)
    assert ("bulletins", "total", "", "", 3, "bulletins") in rows
    assert ("availability", "point", "n1", "Loa 1", 75.0, "percent") in rows
    with db.session() as s:
        future = monthly_report(s, date(2027, 1, 1), now)
    assert future.bulletins == 0
    assert sorted(p.node_id for p in future.points) == ["n1", "n2"]
    assert all(p.availability_pct is None for p in future.points)
