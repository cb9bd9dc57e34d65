"""Approval and sending, on a real database: what an approved request puts in the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from controller.broadcast import approval
from controller.broadcast.approval import BroadcastRequest, RequestProblemsError, When, Where
from controller.broadcast.bulletins import Airing, send
from controller.models import Bulletin, Delivery, User
from protocol.messages import PlayCommand
from protocol.signing import MAX_COMMAND_TTL
from schedules import LOCAL
from tests.controller.commune import Commune


def pending(commune: Commune, request: BroadcastRequest) -> str:
    bulletin = commune.bulletin(status="pending", request=request.model_dump(mode="json"))
    return bulletin.id


def approve(commune: Commune, dispatcher, bulletin_id: str, username: str) -> None:
    with commune.db.session() as s:
        reviewer = s.scalars(select(User).where(User.username == username)).one()
        bulletin = s.get_one(Bulletin, bulletin_id)
        approval.approve(s, commune.config, dispatcher, reviewer, bulletin, comment="đồng ý")


def test_an_approved_bulletin_queues_one_signed_command_per_target_node(commune, dispatcher):
    request = BroadcastRequest(where=Where(zones=["thon-dong", "thon-bac"]), when=When(kind="now"))
    bulletin_id = pending(commune, request)
    approve(commune, dispatcher, bulletin_id, "pheduyet")

    targets = commune.nodes_in("thon-dong", "thon-bac")
    commands = commune.commands()
    assert sorted(node for node, _ in commands) == targets  # one each, none elsewhere
    for node_id, body in commands:
        assert node_id in body.targets  # with its shard-mates, if any (delivery/groups.py)
        assert isinstance(body.command, PlayCommand)
        assert body.command.bulletin_id == bulletin_id
        assert body.command.play_at is None
    with commune.db.session() as s:
        bulletin = s.get_one(Bulletin, bulletin_id)
        assert bulletin.status == "sent"
        assert bulletin.review_comment == "đồng ý"
        deliveries = s.scalars(select(Delivery).where(Delivery.bulletin_id == bulletin_id)).all()
        assert sorted(d.node_id for d in deliveries) == targets
        assert {d.status for d in deliveries} == {"queued"}


def test_a_broadcaster_cannot_approve_their_own_bulletin(commune, dispatcher):
    request = BroadcastRequest(where=Where(all=True), when=When(kind="now"))
    bulletin_id = pending(commune, request)
    with pytest.raises(RequestProblemsError) as refused:
        approve(commune, dispatcher, bulletin_id, "phatthanh")
    assert [(p.field, p.code) for p in refused.value.problems] == [("review", "own_bulletin")]
    assert commune.commands() == []
    with commune.db.session() as s:
        assert s.get_one(Bulletin, bulletin_id).status == "pending"


def test_a_request_for_an_unknown_zone_is_refused_on_approval(commune, dispatcher):
    request = BroadcastRequest(where=Where(zones=["thon-khong-co"]), when=When(kind="now"))
    bulletin_id = pending(commune, request)
    with pytest.raises(RequestProblemsError) as refused:
        approve(commune, dispatcher, bulletin_id, "pheduyet")
    assert ("where", "unknown_targets") in [(p.field, p.code) for p in refused.value.problems]
    assert commune.commands() == []


def test_each_airing_is_its_own_play_on_every_target(commune, dispatcher):
    bulletin = commune.bulletin()
    targets = commune.nodes_in("thon-tay")
    later = bulletin.valid_until - timedelta(minutes=30)
    airings = [Airing("b.r1", None), Airing("b.r2", later)]
    with commune.db.session() as s:
        user = s.scalars(select(User).where(User.username == "phatthanh")).one()
        send(
            s, dispatcher, user, s.get_one(Bulletin, bulletin.id), targets=targets, airings=airings
        )
    plays = sorted(
        (node, body.command.play_id, body.command.play_at)
        for node, body in commune.commands()
        if isinstance(body.command, PlayCommand)
    )
    assert plays == sorted((n, a.play_id, a.play_at) for n in targets for a in airings)


@pytest.mark.parametrize(
    "at",
    [
        datetime.now(LOCAL) + timedelta(days=30),  # every point would refuse its command
        datetime.now(LOCAL) + MAX_COMMAND_TTL - timedelta(minutes=5),  # starts in, lapses after
        datetime(9999, 12, 31, 23, 0, tzinfo=LOCAL),  # past the end of the calendar
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-12))),
    ],
)
def test_a_time_the_points_would_refuse_is_refused_on_approval(commune, dispatcher, at):
    request = BroadcastRequest(where=Where(all=True), when=When(kind="at", at=at))
    bulletin_id = pending(commune, request)
    with pytest.raises(RequestProblemsError) as refused:
        approve(commune, dispatcher, bulletin_id, "pheduyet")
    assert [(p.field, p.code) for p in refused.value.problems] == [("at", "too_far")]
    assert refused.value.problems[0].values == {"days": "7"}
    assert commune.commands() == []
    with commune.db.session() as s:
        assert s.get_one(Bulletin, bulletin_id).status == "pending"
