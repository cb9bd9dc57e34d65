"""Emergencies on a real database: who is told what, when an alert is sent or cancelled."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from controller.broadcast.targets import resolve_targets
from controller.emergency import alerts
from controller.models import Alert, Delivery, OutboxCommand, User, now
from protocol.messages import CancelCommand, PlayCommand
from protocol.signing import MAX_COMMAND_TTL
from tests.controller.commune import Commune


def propose(
    commune: Commune, zones: list[str], *, repeat: int = 2, lasts: timedelta = timedelta(hours=1)
) -> str:
    """An alert proposed by the broadcaster for ``zones``, not yet sent."""
    bulletin = commune.bulletin(priority="emergency", valid_for=lasts)
    with commune.db.session() as s:
        alert = Alert(
            id=uuid.uuid4().hex,
            bulletin_id=bulletin.id,
            text="Bão số 5 đổ bộ, đề nghị bà con vào nơi trú ẩn an toàn",
            targets=resolve_targets(s, False, zones, []),
            repeat=repeat,
            interval_s=300,
            expires_at=bulletin.valid_until,
            proposed_by=commune.user("phatthanh").id,
        )
        s.add(alert)
        return alert.id


def act(commune: Commune, username: str, step, alert_id: str, *args: object) -> object:
    with commune.db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        return step(s, user, s.get_one(Alert, alert_id), *args)


def test_an_alert_to_two_zones_queues_commands_for_exactly_their_nodes(commune, dispatcher):
    alert_id = propose(commune, ["thon-dong", "thon-bac"])
    act(commune, "admin", lambda s, u, a: alerts.activate(s, dispatcher, u, a), alert_id)

    targets = commune.nodes_in("thon-dong", "thon-bac")
    assert len(targets) == 3
    plays: dict[str, list[PlayCommand]] = {}
    for node_id, body in commune.commands():
        assert node_id in body.targets  # with its shard-mates, if any (delivery/groups.py)
        assert isinstance(body.command, PlayCommand)
        plays.setdefault(node_id, []).append(body.command)
    assert sorted(plays) == targets
    for commands in plays.values():
        first, second = sorted(commands, key=lambda c: c.play_id)
        assert {first.priority, second.priority} == {"emergency"}
        assert first.play_at is None  # at once
        assert second.play_at is not None
        assert abs((second.play_at - now()).total_seconds() - 300) < 30
    with commune.db.session() as s:
        assert s.get_one(Alert, alert_id).state == "active"


def test_a_proposed_alert_is_sent_once_a_second_account_confirms_it(commune, dispatcher):
    alert_id = propose(commune, ["thon-tay"], repeat=1)
    assert commune.commands() == []
    act(commune, "pheduyet", lambda s, u, a: alerts.confirm(s, dispatcher, u, a), alert_id)
    assert sorted(node for node, _ in commune.commands()) == commune.nodes_in("thon-tay")
    with commune.db.session() as s:
        alert = s.get_one(Alert, alert_id)
        assert alert.state == "active"
        assert alert.confirmed_by == commune.user("pheduyet").id


def test_cancelling_withdraws_unsent_plays_and_tells_every_node_still_playing(commune, dispatcher):
    alert_id = propose(commune, ["thon-dong", "thon-tay"])
    act(commune, "admin", lambda s, u, a: alerts.activate(s, dispatcher, u, a), alert_id)
    targets = commune.nodes_in("thon-dong", "thon-tay")
    done = targets[0]
    with commune.db.session() as s:  # one point has played both airings already
        for d in s.scalars(select(Delivery).where(Delivery.node_id == done)):
            d.status = "finished"

    told = act(
        commune,
        "admin",
        lambda s, u, a: alerts.cancel(s, dispatcher, u, a, "báo nhầm"),
        alert_id,
    )
    assert told == targets[1:]
    with commune.db.session() as s:
        results = set(
            s.scalars(select(OutboxCommand.result).where(OutboxCommand.play_id.is_not(None)))
        )
        assert results == {"withdrawn"}
        assert s.get_one(Alert, alert_id).state == "cancelled"
    cancels = commune.commands()
    assert sorted(node for node, _ in cancels) == targets[1:]
    for _, body in cancels:
        assert isinstance(body.command, CancelCommand)
        assert len(body.command.play_ids) == 2
        assert body.command.reason == "báo nhầm"


def test_an_alert_lasting_longer_than_the_points_accept_airs_and_lapses_at_their_limit(
    commune, dispatcher
):
    # a CAP `expires` weeks away: refusing an emergency for it would be wrong, and every point
    # refuses a command that lasts longer than the protocol's maximum, so it is cut to that
    alert_id = propose(commune, ["thon-dong"], lasts=timedelta(days=30))
    act(commune, "admin", lambda s, u, a: alerts.activate(s, dispatcher, u, a), alert_id)

    commands = commune.commands()  # as each node verifies them: none is refused
    assert sorted({node for node, _ in commands}) == commune.nodes_in("thon-dong")
    for _node, body in commands:
        assert body.expires_at - body.issued_at <= MAX_COMMAND_TTL
    with commune.db.session() as s:
        alert = s.get_one(Alert, alert_id)
        assert alert.state == "active"
        assert alert.expires_at - now() <= MAX_COMMAND_TTL
