"""A command to many points signed once per shard and published once on its group topic; the
outbox still tracks each point: its acknowledgement, its re-send on its own topic, its expiry,
its withdrawal. Real SQLite, an in-memory publisher, no broker (tests/e2e/test_fanout.py has
the broker)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from controller.delivery import history, outbox
from controller.delivery.groups import packet_bytes, sign_groups
from controller.delivery.publisher import MemoryPublisher, Payload
from controller.models import Bulletin, CommandEnvelope, Delivery, Node, OutboxCommand, Zone, now
from protocol.messages import GROUP_COMMANDS, CancelCommand, CommandAck, NodeState, PlayCommand
from protocol.signing import NotAddressedError, ReplayGuard, verify_envelope
from protocol.topics import group_shard, group_topic, node_topic
from tests.controller.commune import Commune
from tests.controller.delivery.test_dispatcher import deliver
from tests.support.keys import KEY, PUB
from tests.support.shards import shard_mates


def add_nodes(commune: Commune, node_ids: list[str], *, group_commands: bool = True) -> None:
    """Points whose agents read their shard's group topic (unless ``group_commands`` is False:
    agents from before the group topics)."""
    with commune.db.session() as s:
        zone = s.scalars(select(Zone.id)).first()
        assert zone is not None
        s.add_all(Node(id=n, name=n, zone_id=zone, group_commands=group_commands) for n in node_ids)


@pytest.fixture
def points(commune: Commune) -> dict[str, list[str]]:
    """Three points in one shard, two in another, one alone in a third (and the commune's)."""
    made = {"a": shard_mates(1, 3), "b": shard_mates(2, 2), "c": shard_mates(3, 1)}
    add_nodes(commune, [n for ids in made.values() for n in ids])
    return made


def play_to(commune: Commune, node_ids: list[str]) -> str:
    bulletin = commune.bulletin(priority="emergency")
    with commune.db.session() as s:
        b = s.get_one(Bulletin, bulletin.id)
        outbox.queue_play(s, commune.key, b, node_ids, play_id=bulletin.id, play_at=None)
    return bulletin.id


def rows(commune: Commune) -> list[OutboxCommand]:
    with commune.db.session() as s:
        query = select(OutboxCommand).options(joinedload(OutboxCommand.signed))
        return list(s.scalars(query.order_by(OutboxCommand.node_id)))


def test_a_command_is_signed_once_per_shard_and_each_target_verifies_it():
    ids = shard_mates(5, 4) + shard_mates(9, 3) + shard_mates(5, 1, stem="x")
    groups = sign_groups(KEY, CancelCommand(play_ids=["p"]), ids + ids[:2], expires_at=later())
    assert sorted(len(g.targets) for g in groups) == [3, 5]  # two signatures, not eight
    assert sorted(n for g in groups for n in g.targets) == sorted(ids)  # each once
    for g in groups:
        assert len({group_shard(n) for n in g.targets}) == 1
        for node_id in g.targets:
            body = verify_envelope(g.envelope.encode(), PUB, node_id, ReplayGuard()).body
            assert body.command_id == g.body.command_id
    outsider = next(n for n in shard_mates(5, 9) if n not in ids)
    with pytest.raises(NotAddressedError):
        verify_envelope(groups[0].envelope.encode(), PUB, outsider, ReplayGuard())


def test_a_shard_too_large_for_one_packet_is_split_into_parts_that_fit():
    # 63-character ids, the longest allowed: about 2,980 fit the broker's 256 KiB packet; a
    # smaller limit shows the same split on 300 of them
    ids = shard_mates(7, 300, stem="loa-" + "x" * 52)
    assert {len(n) for n in ids} == {63}
    cancel = CancelCommand(play_ids=["p"])
    [one] = sign_groups(KEY, cancel, ids, expires_at=later())  # the broker's limit: fits
    assert packet_bytes([group_topic(7)], one.envelope) > 20_000
    groups = sign_groups(KEY, cancel, ids, expires_at=later(), packet_limit=20_000)
    assert len(groups) == 2
    assert [n for g in groups for n in g.targets] == ids  # in order, each once
    for g in groups:  # on the group topic and on each target's own (a re-send)
        topics = [group_topic(7)] + [node_topic(n, "cmd") for n in g.targets]
        assert packet_bytes(topics, g.envelope) <= 20_000
        for node_id in g.targets:
            verify_envelope(g.envelope.encode(), PUB, node_id, ReplayGuard())
    small = sign_groups(KEY, cancel, ids[:9], expires_at=later(), packet_limit=1000)
    assert len(small) > 2  # split again until every part fits
    assert [n for g in small for n in g.targets] == ids[:9]
    assert all(packet_bytes([group_topic(7)], g.envelope) <= 1000 for g in small)


def later() -> datetime:
    return now() + timedelta(hours=1)


def test_a_play_to_many_is_one_publish_per_group_then_each_row_is_its_own(commune, points):
    every = [n for ids in points.values() for n in ids]
    play_to(commune, every)
    stored = rows(commune)
    assert len(stored) == 6  # one row per point
    assert len({r.command_id for r in stored}) == 3  # one signed command per shard
    publisher = MemoryPublisher()
    outbox.send_due(commune.db, publisher, resend_interval_s=60)
    topics = Counter(p.topic for p in publisher.sent)
    assert topics == {
        group_topic(1): 1,
        group_topic(2): 1,
        node_topic(points["c"][0], "cmd"): 1,  # alone in its shard: its own topic
    }
    assert all(r.attempts == 1 and r.last_sent_at is not None for r in rows(commune))
    for node_id in every:  # what reaches each point names it, signed by the controller
        [mine] = [
            p
            for p in publisher.sent
            if p.topic in (group_topic(group_shard(node_id)), node_topic(node_id, "cmd"))
        ]
        assert mine.expiry_s is not None
        assert node_id in commune.verified(node_id, mine.payload).targets

    publisher.clear()
    outbox.send_due(commune.db, publisher, resend_interval_s=60)
    assert publisher.sent == []  # nothing due before the re-send interval
    with commune.db.session() as s:  # the nodes come online without answering
        for n in s.scalars(select(Node).where(Node.id.in_(every))):
            n.status = "online"
    outbox.send_due(commune.db, publisher, resend_interval_s=0)
    assert sorted(p.topic for p in publisher.sent) == sorted(node_topic(n, "cmd") for n in every)


def test_an_ack_settles_its_own_point_only_and_the_others_are_re_sent(
    commune, points, dispatcher, publisher
):
    a1, a2, a3 = points["a"]
    play_id = play_to(commune, points["a"])
    outbox.send_due(commune.db, publisher, resend_interval_s=60)
    [row] = {r.command_id for r in rows(commune)}
    deliver(dispatcher, a1, "events", CommandAck(node_id=a1, command_id=row, accepted=True))
    deliver(
        dispatcher,
        a2,
        "events",
        CommandAck(node_id=a2, command_id=row, accepted=False, reason="disk full"),
    )
    results = {r.node_id: r.result for r in rows(commune)}
    assert results == {a1: "acked", a2: "nacked", a3: "pending"}
    with commune.db.session() as s:
        query = select(Delivery.node_id, Delivery.status).where(Delivery.play_id == play_id)
        status = {node_id: st for node_id, st in s.execute(query)}
    assert status == {a1: "acknowledged", a2: "rejected", a3: "queued"}
    with commune.db.session() as s:
        s.get_one(Node, a3).status = "online"
    publisher.clear()
    outbox.send_due(commune.db, publisher, resend_interval_s=0)
    assert [p.topic for p in publisher.sent] == [node_topic(a3, "cmd")]


def test_a_refused_group_publish_leaves_every_row_due(commune, points):
    class Refusing(MemoryPublisher):
        def publish(self, topic: str, payload: Payload, *, expiry_s: int | None = None) -> bool:
            return False

    play_to(commune, points["a"])
    outbox.send_due(commune.db, Refusing(), resend_interval_s=60)
    assert all(r.attempts == 0 and r.last_sent_at is None for r in rows(commune))
    publisher = MemoryPublisher()
    outbox.send_due(commune.db, publisher, resend_interval_s=60)
    assert [p.topic for p in publisher.sent] == [group_topic(1)]


def test_a_point_back_online_gets_its_group_command_on_its_own_topic(commune, points):
    play_to(commune, points["a"])
    publisher = MemoryPublisher()
    outbox.send_due(commune.db, publisher, resend_interval_s=60, node_ids=[points["a"][0]])
    assert [p.topic for p in publisher.sent] == [node_topic(points["a"][0], "cmd")]
    publisher.clear()
    outbox.send_due(commune.db, publisher, resend_interval_s=60)  # the others, once, together
    assert [p.topic for p in publisher.sent] == [group_topic(1)]


def test_cancel_and_withdrawal_to_many_are_per_point_and_signed_per_group(commune, points):
    every = [n for ids in points.values() for n in ids]
    play_id = play_to(commune, every)
    with commune.db.session() as s:
        deliveries = list(s.scalars(select(Delivery).where(Delivery.play_id == play_id)))
        s.get_one(Delivery, deliveries[0].id).status = "finished"  # played: nothing to cancel
        told = outbox.queue_cancel(s, commune.key, deliveries, "storm over")
    assert sorted(told) == sorted(every[1:])
    stored = rows(commune)
    plays = [r for r in stored if r.play_id == play_id]
    assert {r.result for r in plays} == {"withdrawn"}  # never sent: nobody gets it later
    cancels = [r for r in stored if r.play_id is None]
    assert sorted(r.node_id for r in cancels) == sorted(told)
    assert len({r.command_id for r in cancels}) == 3  # one per shard
    for r in cancels:
        body = commune.verified(r.node_id, r.envelope)
        assert isinstance(body.command, CancelCommand)
        assert body.command.play_ids == [play_id]


def test_pruning_keeps_the_open_rows_of_a_settled_group_command(commune, points):
    play_to(commune, points["a"])
    [play_command] = {r.command_id for r in rows(commune)}
    with commune.db.session() as s:
        for r in s.scalars(select(OutboxCommand)):
            r.expires_at = now() - timedelta(days=60)
            r.result = "acked" if r.node_id == points["a"][0] else "pending"
    pruned = history.prune(commune.db, timedelta(days=30))
    assert pruned.commands == 1
    assert sorted(r.node_id for r in rows(commune)) == points["a"][1:]
    with commune.db.session() as s:  # the envelope stays while a row still needs it
        assert s.scalars(select(CommandEnvelope.command_id)).all() == [play_command]
        for r in s.scalars(select(OutboxCommand)):
            r.result = "expired"
    history.prune(commune.db, timedelta(days=30))
    with commune.db.session() as s:  # and goes with the last one
        assert s.scalars(select(CommandEnvelope.command_id)).all() == []


def test_a_play_command_to_one_point_is_still_one_command_on_its_own_topic(commune, points):
    play_to(commune, points["c"])
    publisher = MemoryPublisher()
    outbox.send_due(commune.db, publisher, resend_interval_s=60)
    [sent] = publisher.sent
    assert sent.topic == node_topic(points["c"][0], "cmd")
    body = commune.verified(points["c"][0], sent.payload)
    assert body.targets == points["c"]
    assert isinstance(body.command, PlayCommand)


# --- agents from before the group topics (issue 18) -------------------------------------------


def test_a_point_whose_agent_does_not_read_group_topics_gets_the_first_send_on_its_own(
    commune, points
):
    """It would otherwise hear the command only from the per-point re-send, seconds later: it
    gets it on its own topic in the same pass; its shard-mates still share one publish."""
    old = shard_mates(1, 4)[-1]  # a fourth point in shard a's shard, on an older agent
    add_nodes(commune, [old], group_commands=False)
    targets = [*points["a"], old]
    play_to(commune, targets)
    publisher = MemoryPublisher()
    outbox.send_due(commune.db, publisher, resend_interval_s=60)
    assert sorted(p.topic for p in publisher.sent) == [group_topic(1), node_topic(old, "cmd")]
    [own] = [p for p in publisher.sent if p.topic == node_topic(old, "cmd")]
    assert old in commune.verified(old, own.payload).targets  # the group's own signed command
    assert all(r.attempts == 1 for r in rows(commune))  # every row sent once, none left due
    publisher.clear()
    outbox.send_due(commune.db, publisher, resend_interval_s=60)
    assert publisher.sent == []


def test_what_a_point_reads_is_taken_from_its_live_state(commune, points, dispatcher):
    """From the capability its agent names, not from its version (a fork numbers its own); an
    offline state (the Last Will, written at connect time) changes nothing."""
    point = points["c"][0]

    def reads_groups() -> bool:
        with commune.db.session() as s:
            return bool(s.get_one(Node, point).group_commands)

    def state(status: str, capabilities: list[str], version: str = "0.9.0") -> NodeState:
        return NodeState(
            node_id=point, status=status, agent_version=version, capabilities=capabilities
        )

    deliver(dispatcher, point, "state", state("online", [], version="9.9.9"))
    assert not reads_groups()  # a newer-looking version says nothing
    deliver(dispatcher, point, "state", state("online", [GROUP_COMMANDS, "some-future-thing"]))
    assert reads_groups()
    deliver(dispatcher, point, "state", NodeState(node_id=point, status="offline"))
    assert reads_groups()
    deliver(dispatcher, point, "state", state("online", []))  # rolled back to an older agent
    assert not reads_groups()
