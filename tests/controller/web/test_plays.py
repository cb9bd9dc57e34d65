"""A bulletin's plays as its report shows them, from a real SQLite file: each airing's own time
and deadline, and counts that agree with the rows they count."""

from __future__ import annotations

from datetime import datetime, timedelta

from controller.delivery.dispatcher import Dispatcher
from controller.models import Bulletin, Delivery
from controller.reports.bulletin import bulletin_report
from controller.web.live import deliveries
from controller.web.plays import airings
from schedules import LOCAL
from tests.controller.commune import Commune

MORNING = datetime(2030, 12, 7, 6, 0, tzinfo=LOCAL)
GRACE = timedelta(minutes=15)


def queue_slot_airings(commune: Commune, dispatcher: Dispatcher, bulletin: Bulletin) -> None:
    nodes = commune.nodes_in("thon-dong")
    with commune.db.session() as s:
        row = s.get_one(Bulletin, bulletin.id)
        for day in (1, 0):  # queued out of order: the report sorts them
            at = MORNING + timedelta(days=day)
            dispatcher.queue_play(
                s,
                row,
                nodes,
                play_id=f"p-item.{at:%Y%m%d}.{at:%H%M%S}",
                play_at=at,
                valid_until=at + GRACE,
            )


def test_a_slot_bulletins_report_gives_each_airings_time_and_deadline(commune, dispatcher):
    bulletin = commune.bulletin(valid_for=timedelta(days=400))  # not the airings' deadline
    queue_slot_airings(commune, dispatcher, bulletin)
    with commune.db.session() as s:
        lines = airings(bulletin_report(s, s.get_one(Bulletin, bulletin.id)), "vi")
    assert lines == [
        "06:00 07/12/2030 (hạn phát 06:15 07/12/2030)",
        "06:00 08/12/2030 (hạn phát 06:15 08/12/2030)",
    ]
    rows = deliveries(commune.db, bulletin.id, "vi")["nodes"]
    assert {r["airing"] for r in rows} == {"06:00 07/12/2030", "06:00 08/12/2030"}


def test_a_bulletin_sent_at_once_says_so_with_its_own_deadline(commune, dispatcher):
    bulletin = commune.bulletin(valid_for=timedelta(hours=2))
    with commune.db.session() as s:
        row = s.get_one(Bulletin, bulletin.id)
        dispatcher.queue_play(s, row, commune.nodes_in("thon-tay"), play_id=row.id, play_at=None)
        deadline = row.valid_until
        lines = airings(bulletin_report(s, row), "vi")
    assert lines == [f"ngay khi gửi (hạn phát {deadline.astimezone(LOCAL):%H:%M %d/%m/%Y})"]


def set_statuses(commune: Commune, bulletin_id: str, statuses: list[tuple[str, str]]) -> None:
    with commune.db.session() as s:
        rows = s.query(Delivery).filter_by(bulletin_id=bulletin_id).order_by(Delivery.id).all()
        assert len(rows) == len(statuses)
        for row, (status, reason) in zip(rows, statuses, strict=True):
            row.status, row.reason = status, reason


def test_counts_are_the_rows_categories_and_a_stopped_play_is_no_failure(commune, dispatcher):
    bulletin = commune.bulletin()
    nodes = commune.nodes_in("thon-dong", "thon-tay")
    with commune.db.session() as s:
        row = s.get_one(Bulletin, bulletin.id)
        for k in (1, 2):  # an alert's first airing and its repeat, on every point
            dispatcher.queue_play(s, row, nodes, play_id=f"{row.id}.r{k}", play_at=None)
    statuses = [
        ("finished", ""),
        ("started", ""),  # still playing: not "played" yet
        ("cancelled", "Bão đã qua"),  # the alert was stopped
        ("expired", "node never acknowledged the command before 2030-12-07 06:15:00 +0700"),
        *[("queued", "")] * 4,  # the repeats still to come
    ]
    set_statuses(commune, bulletin.id, statuses)
    data = deliveries(commune.db, bulletin.id, "vi")
    assert data["summary"] == {
        "targets": 4,
        "played": 1,
        "playing": 1,
        "waiting": 4,
        "not_played": 1,
        "stopped": 1,
    }
    for key, count in data["summary"].items():
        if key != "targets":
            assert sum(r["category"] == key for r in data["nodes"]) == count
    stopped = next(r for r in data["nodes"] if r["category"] == "stopped")
    assert stopped["status_text"] == "đã dừng theo lệnh"
    assert stopped["reason_text"] == ""  # not listed among the points that missed it
    assert {r["airing"] for r in data["nodes"]} == {"1", "2"}
    played = next(r for r in data["nodes"] if r["category"] == "played")
    assert played["status_text"] == "đã phát xong"
