"""A live session's report, per point, from a real SQLite file: the points' own live reports
(seconds carried, drop-outs, each break after which they rejoined) read in plain Vietnamese,
with the packet figures kept for the "Chi tiết kỹ thuật" fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controller.delivery import node_events
from controller.delivery.dispatcher import Dispatcher
from controller.models import Bulletin, Delivery
from controller.web.live import deliveries
from protocol.messages import LiveBreak, LiveReport
from tests.controller.commune import Commune

AT = datetime(2030, 12, 7, 6, 0, tzinfo=UTC)


def live_bulletin(commune: Commune, dispatcher: Dispatcher) -> tuple[str, list[str]]:
    bulletin = commune.bulletin(kind="live")
    nodes = commune.nodes_in("thon-dong")
    with commune.db.session() as s:
        row = s.get_one(Bulletin, bulletin.id)
        dispatcher.queue_play(s, row, nodes, play_id="live-s1", play_at=None)
    return bulletin.id, nodes


def report(node_id: str, **fields: object) -> LiveReport:
    values: dict[str, object] = {
        "outcome": "finished",
        "started_at": AT,
        "ended_at": AT + timedelta(minutes=3),
        **fields,
    }
    return LiveReport(node_id=node_id, play_id="live-s1", session_id="ab" * 16, **values)


def test_each_points_live_figures_read_in_words_with_the_figures_folded(commune, dispatcher):
    bulletin_id, (rejoined, clean, *_) = live_bulletin(commune, dispatcher)
    restart = LiveBreak(
        reason="restart", detail="the point's agent restarted", since=AT, seconds=35.4
    )
    alarm = LiveBreak(reason="emergency", detail="pre-empted by emergency a1", seconds=62.0)
    with commune.db.session() as s:
        node_events.apply(
            s,
            report(rejoined, seconds=84.6, packets_lost=12, gaps=3, breaks=[restart, alarm]),
        )
        node_events.apply(s, report(clean, seconds=182.0))
        stored = s.query(Delivery).filter_by(node_id=rejoined, play_id="live-s1").one()
        assert stored.live_breaks is not None
        assert [b["reason"] for b in stored.live_breaks] == ["restart", "emergency"]
    rows = {r["node_id"]: r for r in deliveries(commune.db, bulletin_id, "vi")["nodes"]}

    words = rows[rejoined]["live_text"]
    assert words.startswith("Loa đã phát 1 phút 25 giây tiếng nói trực tiếp")
    assert "3 lần tiếng bị rè ngắn do đường truyền" in words
    assert "mất 35 giây khi thiết bị ở loa khởi động lại, rồi phát tiếp" in words
    assert "dừng 1 phút 2 giây để phát tin khẩn cấp, rồi quay lại buổi phát trực tiếp" in words
    assert "packet" not in words  # the technical figures are in the fold, not the words
    detail = rows[rejoined]["live_detail"]
    assert "packets lost (concealed) 12 in 3 gaps" in detail
    assert "break restart 35,4 s, rejoined" in detail  # the Vietnamese decimal comma
    assert rows[clean]["live_text"] == "Loa đã phát 3 phút 2 giây tiếng nói trực tiếp."

    english = {r["node_id"]: r for r in deliveries(commune.db, bulletin_id, "en")["nodes"]}
    assert "paused 1 min 2 s for an emergency alert" in english[rejoined]["live_text"]


def test_a_point_that_never_came_back_says_what_it_missed(commune, dispatcher):
    bulletin_id, (node, *_) = live_bulletin(commune, dispatcher)
    gone = LiveBreak(
        reason="emergency", detail="pre-empted by emergency a1", seconds=40, rejoined=False
    )
    with commune.db.session() as s:
        node_events.apply(s, report(node, outcome="interrupted", seconds=20.0, breaks=[gone]))
    (row,) = [r for r in deliveries(commune.db, bulletin_id, "vi")["nodes"] if r["node_id"] == node]
    assert (
        "buổi phát trực tiếp đã kết thúc trong lúc đó (40 giây cuối không phát)" in row["live_text"]
    )


def test_a_bulletin_has_no_live_figures(commune, dispatcher):
    bulletin = commune.bulletin()
    with commune.db.session() as s:
        row = s.get_one(Bulletin, bulletin.id)
        dispatcher.queue_play(s, row, commune.nodes_in("thon-dong"), play_id=row.id, play_at=None)
    rows = deliveries(commune.db, bulletin.id, "vi")["nodes"]
    assert {(r["live_text"], r["live_detail"]) for r in rows} == {("", "")}
