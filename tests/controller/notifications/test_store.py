"""Notifications made by the domain when the events happen, on a real database: a submission
tells the approvers, a decision tells the author, an airing that lapsed tells the author; old
ones are pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from controller import notifications
from controller.broadcast import approval
from controller.broadcast.approval import BroadcastRequest, RequestProblemsError, When, Where
from controller.broadcast.bulletins import send
from controller.delivery import node_events
from controller.delivery.outbox import expire_deliveries
from controller.models import Bulletin, Delivery, Notification, User, now
from protocol.messages import PlayEvent
from tests.controller.commune import Commune

NOW = BroadcastRequest(where=Where(zones=["thon-dong"]), when=When(kind="now"))


def seen(commune: Commune, username: str) -> list[tuple[str, str, str, int]]:
    """(kind, title, detail, count) of the user's notifications, newest first."""
    user_id = commune.user(username).id
    with commune.db.session() as s:
        return [(n.kind, n.title, n.detail, n.count) for n in notifications.list_for(s, user_id)]


def lapse(commune: Commune) -> None:
    """Every waiting airing's deadline passes, and the periodic pass sees it."""
    with commune.db.session() as s:
        s.execute(update(Delivery).values(valid_until=now() - timedelta(minutes=5)))
    expire_deliveries(commune.db, grace_s=0)


def submitted(commune: Commune) -> str:
    bulletin = commune.bulletin(status="draft")
    with commune.db.session() as s:
        author = s.scalars(select(User).where(User.username == "phatthanh")).one()
        approval.submit(s, author, s.get_one(Bulletin, bulletin.id), NOW)
    return bulletin.id


def decide(commune: Commune, bulletin_id: str, decision: str, comment: str, dispatcher) -> None:
    with commune.db.session() as s:
        reviewer = s.scalars(select(User).where(User.username == "pheduyet")).one()
        bulletin = s.get_one(Bulletin, bulletin_id)
        if decision == "approve":
            approval.approve(s, commune.config, dispatcher, reviewer, bulletin, comment=comment)
        else:
            approval.reject(s, reviewer, bulletin, comment)


def test_a_submission_tells_every_approver_but_not_its_author(commune):
    submitted(commune)
    title = "Thông báo lịch tiêm phòng"
    assert seen(commune, "pheduyet") == [("review", title, "", 0)]
    assert seen(commune, "admin") == [("review", title, "", 0)]  # admins may approve too
    assert seen(commune, "phatthanh") == []
    with commune.db.session() as s:
        assert notifications.unread_count(s, commune.user("pheduyet").id) == 1


def test_a_rejection_tells_the_author_why_and_a_refused_one_tells_nobody(commune, dispatcher):
    bulletin_id = submitted(commune)
    with pytest.raises(RequestProblemsError):
        decide(commune, bulletin_id, "reject", "  ", dispatcher)  # no reason: refused
    assert seen(commune, "phatthanh") == []
    decide(commune, bulletin_id, "reject", " Sai ngày tiêm, sửa lại ", dispatcher)
    assert seen(commune, "phatthanh") == [
        ("rejected", "Thông báo lịch tiêm phòng", "Sai ngày tiêm, sửa lại", 0)
    ]


def test_an_approval_tells_the_author(commune, dispatcher):
    bulletin_id = submitted(commune)
    decide(commune, bulletin_id, "approve", "", dispatcher)
    assert [n[0] for n in seen(commune, "phatthanh")] == ["approved"]


def test_points_that_did_not_play_are_counted_in_one_unread_notice(commune, dispatcher):
    bulletin = commune.bulletin(valid_for=timedelta(minutes=1))
    targets = commune.nodes_in("thon-dong")
    with commune.db.session() as s:
        author = s.scalars(select(User).where(User.username == "phatthanh")).one()
        send(s, dispatcher, author, s.get_one(Bulletin, bulletin.id), targets=targets[:1])
    lapse(commune)
    assert seen(commune, "phatthanh") == [("not_played", bulletin.title, "", 1)]
    with commune.db.session() as s:  # a later pass adds to the same unread line
        author = s.scalars(select(User).where(User.username == "phatthanh")).one()
        send(s, dispatcher, author, s.get_one(Bulletin, bulletin.id), targets=targets[1:2])
    lapse(commune)
    assert seen(commune, "phatthanh") == [("not_played", bulletin.title, "", 2)]


def test_reading_marks_only_ones_own_and_old_notices_are_pruned(commune):
    submitted(commune)
    approver, admin = commune.user("pheduyet").id, commune.user("admin").id
    with commune.db.session() as s:
        theirs = s.scalars(select(Notification).where(Notification.user_id == admin)).one()
        assert notifications.mark_read(s, approver, theirs.id) is None  # not the approver's
        notifications.mark_read(s, approver)
    with commune.db.session() as s:
        assert notifications.unread_count(s, approver) == 0
        assert notifications.unread_count(s, admin) == 1
        s.get_one(Notification, theirs.id).created_at = now() - timedelta(days=91)
    with commune.db.session() as s:
        assert notifications.prune(s) == 1
    assert seen(commune, "admin") == []
    assert len(seen(commune, "pheduyet")) == 1


def test_a_point_that_says_it_failed_tells_the_author_once(commune, dispatcher):
    bulletin = commune.bulletin()
    target = commune.nodes_in("thon-tay")[0]
    with commune.db.session() as s:
        author = s.scalars(select(User).where(User.username == "phatthanh")).one()
        send(s, dispatcher, author, s.get_one(Bulletin, bulletin.id), targets=[target])
    failed = PlayEvent(node_id=target, type="failed", play_id=bulletin.id, reason="amp off")
    for _ in range(2):  # the same word again changes nothing
        with commune.db.session() as s:
            node_events.apply(s, failed)
    with commune.db.session() as s:  # a play cut off may still resume: not told
        node_events.apply(
            s, PlayEvent(node_id=target, type="failed", play_id="other", interrupted=True)
        )
    assert seen(commune, "phatthanh") == [("not_played", bulletin.title, "", 1)]
