"""Node reports in batches: what the worker takes from its inbox at once is applied in one
transaction, in arrival order, and acknowledged after it commits; a malformed message, or one
the database refuses, costs only itself. Commits are counted on the real SQLite engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from controller.delivery import outbox
from controller.delivery.dispatcher import BATCH_MAX, WAKE, Dispatcher, Item
from controller.delivery.publisher import MemoryPublisher
from controller.models import Bulletin, Delivery, Node, NodeEvent, OutboxCommand
from protocol.messages import CommandAck, EventAck, Message, NodeState, PlayEvent
from protocol.mqtt_client import Incoming
from protocol.topics import group_shard, node_topic
from tests.controller.commune import Commune


def incoming(node_id: str, channel: str, message: Message | bytes) -> Incoming:
    payload = message if isinstance(message, bytes) else message.model_dump_json().encode()
    return Incoming(node_topic(node_id, channel), payload, False, time.time())  # type: ignore[arg-type]


@contextmanager
def commits(dispatcher: Dispatcher) -> Iterator[list[int]]:
    """Counts the database commits made inside the block."""
    made: list[int] = []

    def count(_conn: object) -> None:
        made.append(1)

    event.listen(dispatcher.db.engine, "commit", count)
    try:
        yield made
    finally:
        event.remove(dispatcher.db.engine, "commit", count)


def play_everywhere(commune: Commune, dispatcher: Dispatcher) -> tuple[str, list[str]]:
    """One bulletin queued for every node of three villages; returns its play id and nodes."""
    nodes = commune.nodes_in("thon-dong", "thon-tay", "thon-bac")
    bulletin = commune.bulletin()
    with commune.db.session() as s:
        dispatcher.queue_play(
            s, s.get_one(Bulletin, bulletin.id), nodes, play_id=bulletin.id, play_at=None
        )
    return bulletin.id, nodes


def reports(commune: Commune, play_id: str, nodes: list[str]) -> list[PlayEvent | CommandAck]:
    """What each node says after taking its command: acknowledged, then received."""
    command_of = {node_id: body.command_id for node_id, body in commune.commands()}
    said: list[PlayEvent | CommandAck] = []
    for node_id in nodes:
        said.append(CommandAck(node_id=node_id, command_id=command_of[node_id], accepted=True))
        said.append(PlayEvent(type="received", node_id=node_id, play_id=play_id))
    return said


def statuses(commune: Commune) -> dict[str, str]:
    with commune.db.session() as s:
        return {
            node_id: status
            for node_id, status in s.execute(select(Delivery.node_id, Delivery.status))
        }


def acked(publisher: MemoryPublisher) -> dict[str, list[list[str]]]:
    """Acknowledgement messages per node, each as its list of event ids."""
    out: dict[str, list[list[str]]] = {}
    for p in publisher.sent:
        if p.topic.endswith("/ack") and '"type":"signed"' not in p.payload:  # not a state ack
            node_id = p.topic.split("/")[-2]
            out.setdefault(node_id, []).append(EventAck.model_validate_json(p.payload).event_ids)
    return out


def test_a_batch_from_many_nodes_is_one_commit_and_a_malformed_message_spoils_nothing(
    commune, publisher, dispatcher, caplog
):
    play_id, nodes = play_everywhere(commune, dispatcher)
    said = reports(commune, play_id, nodes)
    items: list[Item] = [incoming(e.node_id, "events", e) for e in said]
    items.insert(3, incoming(nodes[1], "events", b'{"type": "started"}'))  # malformed
    items.insert(5, incoming(nodes[2], "state", NodeState(node_id=nodes[2], status="online")))

    with commits(dispatcher) as made:
        dispatcher.handle_batch(items)

    assert len(made) == 2  # the batch's reports, then sending the node back online its command
    assert "bad events from" in caplog.text
    assert statuses(commune) == dict.fromkeys(nodes, "received")
    with commune.db.session() as s:
        assert len(s.scalars(select(NodeEvent)).all()) == len(said)
    # one acknowledgement per node, naming its events in the order they came
    assert acked(publisher) == {n: [[e.event_id for e in said if e.node_id == n]] for n in nodes}


def test_reports_are_acknowledged_only_after_their_commit(commune, publisher, dispatcher):
    play_id, nodes = play_everywhere(commune, dispatcher)
    said = reports(commune, play_id, nodes)
    seen_at_commit: list[int] = []
    event.listen(
        dispatcher.db.engine, "commit", lambda _c: seen_at_commit.append(len(publisher.sent))
    )
    dispatcher.handle_batch([incoming(e.node_id, "events", e) for e in said])
    assert seen_at_commit == [0]
    assert len(publisher.sent) == len(nodes)


def test_a_report_the_database_refuses_costs_only_itself(commune, publisher, dispatcher, caplog):
    play_id, nodes = play_everywhere(commune, dispatcher)
    said = reports(commune, play_id, nodes)
    poison = PlayEvent(event_id="poison", type="ready", node_id=nodes[0], play_id=play_id)
    with commune.db.engine.begin() as conn:  # the database itself refuses this one row
        conn.execute(
            text(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON node_events "
                "WHEN NEW.event_id = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    items: list[Item] = [incoming(e.node_id, "events", e) for e in said]
    items.insert(2, incoming(nodes[0], "events", poison))

    dispatcher.handle_batch(items)

    assert "applying them one by one" in caplog.text
    assert statuses(commune) == dict.fromkeys(nodes, "received")  # not "ready": refused
    acked_ids = [i for per_node in acked(publisher).values() for ids in per_node for i in ids]
    assert sorted(acked_ids) == sorted(e.event_id for e in said)  # the poison is not among them


def test_each_node_keeps_its_order_and_an_event_twice_in_a_batch_is_stored_once(
    commune, publisher, dispatcher
):
    play_id, nodes = play_everywhere(commune, dispatcher)
    node_id = nodes[0]
    started = PlayEvent(type="started", node_id=node_id, play_id=play_id)
    finished = PlayEvent(type="finished", node_id=node_id, play_id=play_id)
    offline = NodeState(node_id=node_id, status="offline")
    online = NodeState(node_id=node_id, status="online")
    items: list[Item] = [
        incoming(node_id, "state", offline),
        incoming(node_id, "events", started),
        incoming(node_id, "events", started),  # re-sent before our ack reached it
        incoming(node_id, "events", finished),
        incoming(node_id, "state", online),
    ]
    dispatcher.handle_batch(items)

    assert statuses(commune)[node_id] == "finished"
    with commune.db.session() as s:
        assert sorted(s.scalars(select(NodeEvent.event_id))) == sorted(
            [started.event_id, finished.event_id]
        )
        # back online within the batch: its command went out at once after the commit
        cmd = s.scalars(select(OutboxCommand).where(OutboxCommand.node_id == node_id)).one()
        assert cmd.attempts == 1
    assert acked(publisher)[node_id] == [[started.event_id, finished.event_id]]


def test_the_worker_takes_what_waits_in_its_inbox_up_to_its_bound(dispatcher):
    for _ in range(BATCH_MAX + 5):
        dispatcher.inbox.put(WAKE)
    assert len(dispatcher.next_batch(timeout=0)) == BATCH_MAX
    assert len(dispatcher.next_batch(timeout=0)) == 5
    assert dispatcher.next_batch(timeout=0) == []


def test_the_wake_ups_of_a_batch_make_one_send(commune, publisher, dispatcher):
    with commune.db.session() as s:
        for node in s.scalars(select(Node)):
            node.group_commands = True  # as their agents' states said: shards share one send
    play_everywhere(commune, dispatcher)
    with commits(dispatcher) as made:
        dispatcher.handle_batch([WAKE] * 5)
    assert len(made) == 1  # one pass over the outbox, not five
    # each command once: on its node's topic, or once for the nodes sharing a shard
    assert len(publisher.sent) == len({body.command_id for _, body in commune.commands()})


@contextmanager
def statements(dispatcher: Dispatcher) -> Iterator[list[str]]:
    """The SQL statements sent inside the block (an executemany counts once)."""
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        sent.append(statement.split(maxsplit=1)[0].upper())

    event.listen(dispatcher.db.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(dispatcher.db.engine, "before_cursor_execute", count)


def test_a_play_to_many_points_is_stored_in_bulk_and_still_wakes_the_sender(commune, dispatcher):
    """An emergency to a thousand points must not cost a thousand INSERTs each for its
    deliveries and commands: the number of statements does not grow with the points."""
    nodes = commune.nodes_in("thon-dong", "thon-tay", "thon-bac")
    play_id = commune.bulletin().id
    woken: list[int] = []
    unhook = outbox.wake_on_commit(commune.db.sessions, lambda: woken.append(1))
    try:
        with statements(dispatcher) as sent, commune.db.session() as s:
            bulletin = s.get_one(Bulletin, play_id)
            dispatcher.queue_play(s, bulletin, nodes, play_id=play_id, play_at=None)
    finally:
        unhook()
    assert len(nodes) == 5
    # the deliveries, the signed envelopes, the outbox rows: one executemany each
    assert sent.count("INSERT") == 3
    assert woken == [1]  # bulk rows wake the sender like objects do
    for node_id, body in commune.commands():  # signed for it (and its shard-mates), verified
        assert {group_shard(t) for t in body.targets} == {group_shard(node_id)}
    assert statuses(commune) == dict.fromkeys(nodes, "queued")
    with commune.db.session() as s:
        assert set(s.scalars(select(Delivery.play_id))) == {play_id}
        assert set(s.scalars(select(OutboxCommand.attempts))) == {0}
        assert set(s.scalars(select(OutboxCommand.result))) == {"pending"}


def test_the_lookups_of_a_batch_do_not_grow_with_its_events(commune, publisher, dispatcher):
    """At a thousand points an emergency brings thousands of events back at once: each one's
    node, command, delivery and "stored already?" are read for the whole batch, so the
    dispatcher's queries stay the same for one point's reports as for every point's."""
    selects: list[int] = []
    for some in (1, 5):
        play_id, nodes = play_everywhere(commune, dispatcher)
        said = [e for e in reports(commune, play_id, nodes) if e.node_id in nodes[:some]]
        said += [PlayEvent(type="started", node_id=n, play_id=play_id) for n in nodes[:some]]
        said.append(said[-1])  # one re-sent in the same batch: stored once
        commune.db.engine.dispose()  # every statement of the batch counted from a cold start
        with statements(dispatcher) as sent:
            dispatcher.handle_batch([incoming(e.node_id, "events", e) for e in said])
        selects.append(sent.count("SELECT"))
        with commune.db.session() as s:
            now_at = s.scalars(select(Delivery.status).where(Delivery.play_id == play_id))
            assert sorted(now_at) == ["queued"] * (5 - some) + ["started"] * some
            stored = set(s.scalars(select(NodeEvent.event_id)))
        assert {e.event_id for e in said} <= stored
    assert selects[0] == selects[1]


def test_a_batch_finds_its_acknowledged_commands_through_the_outbox_key(
    commune, publisher, dispatcher
):
    """The outbox grows with history (a row per command and point, kept for months): the
    acknowledged rows of a batch are found on its key's index, never by reading the table."""
    play_id, nodes = play_everywhere(commune, dispatcher)
    acks = [e for e in reports(commune, play_id, nodes) if isinstance(e, CommandAck)]
    reads: list[tuple[str, object]] = []

    def keep(_conn: object, _cursor: object, statement: str, params: object, *_r: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM outbox" in statement:
            reads.append((statement, params))

    event.listen(dispatcher.db.engine, "before_cursor_execute", keep)
    try:
        dispatcher.handle_batch([incoming(e.node_id, "events", e) for e in acks])
    finally:
        event.remove(dispatcher.db.engine, "before_cursor_execute", keep)
    assert reads
    with dispatcher.db.engine.connect() as conn:
        for statement, params in reads:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            assert not any("SCAN outbox" in str(row) for row in plan), plan
    with commune.db.session() as s:
        assert set(s.scalars(select(OutboxCommand.result))) == {"acked"}


def test_a_batchs_events_are_stored_without_an_orm_object_each(commune, publisher, dispatcher):
    """Thousands of events per emergency at a thousand points: made one ORM object each, their
    bookkeeping was a third of the dispatcher's time. They go in as rows, all of them stored."""
    play_id, nodes = play_everywhere(commune, dispatcher)
    said = reports(commune, play_id, nodes)
    said += [PlayEvent(type="started", node_id=n, play_id=play_id) for n in nodes]
    objects: list[object] = []

    def added(_s: object, instance: object) -> None:
        objects.append(instance)

    event.listen(Session, "transient_to_pending", added)
    try:
        dispatcher.handle_batch([incoming(e.node_id, "events", e) for e in said])
    finally:
        event.remove(Session, "transient_to_pending", added)
    assert not [o for o in objects if isinstance(o, NodeEvent)]
    with commune.db.session() as s:
        stored = {e.event_id: e for e in s.scalars(select(NodeEvent))}
        assert set(stored) == {e.event_id for e in said}
        one = said[-1]
        row = stored[one.event_id]
        assert (row.node_id, row.type, row.at) == (one.node_id, "started", one.at)
        assert row.payload == one.model_dump(mode="json")
        assert row.received_at is not None
    assert statuses(commune) == dict.fromkeys(nodes, "started")
