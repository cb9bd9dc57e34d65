"""Everything a stolen node can send the controller, fuzzed: junk bytes, any JSON, and valid
messages made hostile (edge numbers, far-away times, long unicode, another node's id, another
node's commands and plays). Driven through ``Dispatcher.handle`` on a real SQLite commune with
the in-memory publisher, as paho would hand the messages over; no broker.

For every message: nothing raises out of the handler; no other node's delivery, command or row
changes; nothing is queued for anyone; nothing is published except on the sender's own topics;
the sender's rate limit counts it. After the whole run another node's event is still applied.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from controller.delivery.dispatcher import Dispatcher
from controller.delivery.node_limits import NodeRateLimit
from controller.delivery.publisher import MemoryPublisher
from controller.models import Bulletin, Delivery, Node, NodeEvent, OutboxCommand
from protocol.limits import MAX_BATCH_EVENTS
from protocol.messages import (
    EVENT_ADAPTER,
    EVENTS_TOPIC_ADAPTER,
    Chunk,
    CommandAck,
    EventBatch,
    NodeState,
    SetVolumeCommand,
)
from protocol.mqtt_client import Incoming
from protocol.topics import PREFIX, NodeChannel, node_topic, shared_content_sha
from tests.controller.commune import Commune
from tests.controller.delivery.test_dispatcher import acks, deliver
from tests.support.hostile import (
    EDGE_INTS,
    EDGE_TIMES,
    FUZZ,
    hostile_dicts,
    json_values,
    payloads,
)


@dataclass
class Scene:
    """A commune where every node but the attacker has a play and a control command pending."""

    commune: Commune
    dispatcher: Dispatcher
    publisher: MemoryPublisher
    attacker: str
    others: list[str]
    audio_sha: str  # audio that exists on the controller
    others_commands: list[str]  # command ids queued to the other nodes
    others_plays: list[str]

    def __repr__(self) -> str:  # what a failing example prints: the ids, not the config
        return f"Scene(attacker={self.attacker!r}, others={self.others!r})"


@pytest.fixture
def scene(commune: Commune, publisher: MemoryPublisher, dispatcher: Dispatcher) -> Scene:
    attacker = commune.nodes_in("thon-tay")[0]
    others = [n for n in commune.nodes_in("thon-dong", "thon-tay", "thon-bac") if n != attacker]
    bulletin = commune.bulletin()
    with commune.db.session() as s:
        dispatcher.queue_play(
            s,
            s.get_one(Bulletin, bulletin.id),
            [*others, attacker],
            play_id=bulletin.id,
            play_at=None,
        )
        for node_id in others:
            dispatcher.queue_control(s, SetVolumeCommand(volume=60), node_id, timedelta(hours=1))
    commands = [body.command_id for node, body in commune.commands() if node != attacker]
    return Scene(
        commune,
        dispatcher,
        publisher,
        attacker,
        others,
        bulletin.audio_sha256,
        commands,
        [bulletin.id],
    )


def everything_but(scene: Scene) -> tuple[Any, ...]:
    """What the attacker must not be able to change: the other nodes' rows, deliveries and
    commands, and how many commands exist at all."""
    with scene.commune.db.session() as s:
        deliveries = sorted(
            (d.node_id, d.play_id, d.status, d.reason, d.acknowledged_at, d.ready_at, d.started_at)
            for d in s.scalars(select(Delivery).where(Delivery.node_id != scene.attacker))
        )
        commands = sorted(
            (c.command_id, c.node_id, c.result, c.acked_at, c.envelope)
            for c in s.scalars(select(OutboxCommand).where(OutboxCommand.node_id != scene.attacker))
        )
        nodes = sorted(
            (n.id, n.status, n.last_seen, n.volume, n.signal_dbm, n.agent_version)
            for n in s.scalars(select(Node).where(Node.id != scene.attacker))
        )
        total = len(s.scalars(select(OutboxCommand.command_id)).all())
    return deliveries, commands, nodes, total


def hostile(
    scene: Scene,
    channel: NodeChannel,
    payload: bytes,
    *,
    topic: str | None = None,
    tokens: int = 1,
) -> None:
    """Send ``payload`` from the attacker and check that it touched only the attacker.
    ``tokens``: what its rate limit holds (more than one: the caller checks what it took)."""
    before = everything_but(scene)
    published = len(scene.publisher.sent)
    # one token: the message must take it, whatever it is (counted before it is parsed)
    scene.dispatcher.limits = NodeRateLimit(rate_per_s=1, burst=tokens, clock=lambda: 0.0)
    target = topic or node_topic(scene.attacker, channel)

    scene.dispatcher.handle(Incoming(target, payload, False, time.time()))

    assert everything_but(scene) == before
    assert_fits_its_columns(scene)
    own = f"{PREFIX}/node/{scene.attacker}/"
    new = scene.publisher.sent[published:]
    shared = [p for p in new if shared_content_sha(p.topic) is not None]
    for p in shared:  # all a node can make others receive: a true piece of a stored file
        true_piece(scene, p.topic, Chunk.model_validate_json(p.payload))
    assert all(p.topic.startswith(own) for p in new if p not in shared), [p.topic for p in new]
    # a node back online gets its own pending commands again: re-sent, never new ones
    resent = {p.payload for p in new if p.topic.endswith("/cmd")}
    assert resent <= own_envelopes(scene)
    if topic is None and tokens == 1:
        assert not scene.dispatcher.limits.allow(scene.attacker), "the limiter did not count it"
        assert scene.dispatcher.limits.dropped == {scene.attacker: 1}


def true_piece(scene: Scene, topic: str, chunk: Chunk) -> None:
    assert shared_content_sha(topic) == chunk.sha256
    whole = (scene.commune.config.audio_dir / f"{chunk.sha256}.ogg").read_bytes()
    data = base64.b64decode(chunk.data)
    assert data
    assert data == whole[chunk.offset : chunk.offset + len(data)]
    assert chunk.total_size == len(whole)


def another_nodes_event_is_still_applied(scene: Scene) -> None:
    scene.dispatcher.limits = NodeRateLimit(rate_per_s=1, burst=10, clock=lambda: 0.0)
    calm = scene.others[0]
    command_id = next(b.command_id for n, b in scene.commune.commands() if n == calm)
    ack = CommandAck(node_id=calm, command_id=command_id, accepted=True)
    deliver(scene.dispatcher, calm, "events", ack)
    assert acks(scene.publisher, calm) == [ack.event_id]
    with scene.commune.db.session() as s:
        assert s.get_one(OutboxCommand, (command_id, calm)).result == "acked"


def assert_fits_its_columns(scene: Scene) -> None:
    """What the attacker got stored fits the declared column sizes: SQLite keeps a longer
    string, PostgreSQL refuses the whole transaction for it."""
    with scene.commune.db.session() as s:
        rows = [
            s.get_one(Node, scene.attacker),
            *s.scalars(select(NodeEvent).where(NodeEvent.node_id == scene.attacker)),
        ]
        for row in rows:
            for column in type(row).__table__.columns:
                value, length = getattr(row, column.key), getattr(column.type, "length", None)
                if isinstance(value, str) and length is not None:
                    assert len(value) <= length, f"{column} holds {len(value)} characters"


def own_envelopes(scene: Scene) -> set[str]:
    with scene.commune.db.session() as s:
        query = select(OutboxCommand).where(OutboxCommand.node_id == scene.attacker)
        return {c.envelope for c in s.scalars(query)}


@pytest.fixture
def run(scene: Scene) -> Iterator[Scene]:
    yield scene
    another_nodes_event_is_still_applied(scene)


# --- valid messages to make hostile ----------------------------------------------------------


def state(node_id: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "type": st.just("state"),
            "node_id": node_id,
            "status": st.sampled_from(["online", "offline", "playing"]),
            "at": EDGE_TIMES | st.just("2026-12-06T07:00:00Z"),
            "play_id": st.none() | st.text(max_size=20),
            "agent_version": st.text(max_size=20),
            "cache_bytes": EDGE_INTS,
            "free_bytes": st.none() | EDGE_INTS,
            "volume": st.none() | st.integers(0, 100),
            "signal_dbm": st.none() | EDGE_INTS | st.integers(-120, 0),
        }
    )


def event(
    node_id: st.SearchStrategy[str], commands: list[str], plays: list[str]
) -> st.SearchStrategy[dict[str, Any]]:
    """An ack of another node's command, a play event for another node's play, a rejection."""
    common = {"node_id": node_id, "at": EDGE_TIMES | st.just("2026-12-06T07:00:00Z")}
    ack = st.fixed_dictionaries(
        {
            **common,
            "type": st.just("ack"),
            "command_id": st.sampled_from(commands),
            "accepted": st.booleans(),
            "reason": st.text(max_size=20),
        }
    )
    kinds = ["received", "ready", "started", "interrupted", "finished", "failed", "cancelled"]
    play = st.fixed_dictionaries(
        {
            **common,
            "type": st.sampled_from(kinds),
            "play_id": st.sampled_from(plays),
            "reason": st.text(max_size=20),
            "interrupted": st.booleans(),
        }
    )
    rejected = st.fixed_dictionaries(
        {**common, "type": st.just("rejected"), "topic": st.text(), "reason": st.text()}
    )
    return ack | play | rejected


def chunk_request(sha: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "type": st.just("chunk_request"),
            "sha256": st.sampled_from([sha, "0" * 64]),
            "offset": EDGE_INTS | st.integers(0, 5000),
            "length": EDGE_INTS | st.integers(1, 5000),
        }
    )


# Placeholders the test replaces with the scene's ids (made per run), so that a failing case
# can be kept as a literal ``@example``.
ATTACKER, OTHER, COMMAND, PLAY = "@attacker@", "@other@", "@command@", "@play@"
SHA = "@sha@"
NODE_IDS = [ATTACKER, OTHER]
ID = st.sampled_from(NODE_IDS)


def concrete(scene: Scene, payload: bytes) -> bytes:
    for placeholder, value in (
        (ATTACKER, scene.attacker),
        (OTHER, scene.others[0]),
        (COMMAND, scene.others_commands[0]),
        (PLAY, scene.others_plays[0]),
        (SHA, scene.audio_sha),
    ):
        payload = payload.replace(placeholder.encode(), value.encode())
    return payload


# --- the fuzz tests ---------------------------------------------------------------------------


@FUZZ
@given(payload=payloads(state(ID), NODE_IDS))
# a signal level past SQLite's 64-bit integers failed the whole state (OverflowError)
@example(payload=b'{"type":"state","node_id":"@attacker@","status":"online","signal_dbm":1e30}')
@example(
    payload=b'{"type":"state","node_id":"@attacker@","status":"online","signal_dbm":'
    + str(10**30).encode()
    + b"}"
)
# strings longer than their columns: PostgreSQL refuses the transaction (SQLite keeps them)
@example(
    payload=b'{"type":"state","node_id":"@attacker@","status":"playing","play_id":"'
    + b"p" * 81
    + b'","agent_version":"'
    + b"v" * 41
    + b'"}'
)
def test_state_from_a_stolen_node_touches_only_itself(run, payload):
    payload = concrete(run, payload)
    hostile(run, "state", payload)
    # what the protocol accepts is recorded, not lost in the database
    with contextlib.suppress(ValidationError):
        state = NodeState.model_validate_json(payload)
        with run.commune.db.session() as s:
            assert s.get_one(Node, run.attacker).status == state.status


@FUZZ
@given(payload=payloads(event(ID, [COMMAND], [PLAY]), NODE_IDS))
# a time that leaves the calendar once made UTC failed in the database (OverflowError)
@example(
    payload=b'{"type":"rejected","node_id":"@attacker@","topic":"x","reason":"y",'
    b'"at":"9999-12-31T23:59:59-23:59"}'
)
@example(
    payload=b'{"type":"started","node_id":"@attacker@","play_id":"@play@",'
    b'"at":"0001-01-01T00:00:00+23:59"}'
)
@example(
    payload=b'{"type":"rejected","node_id":"@attacker@","topic":"x","reason":"y","event_id":"'
    + b"e" * 33
    + b'"}'
)
def test_events_from_a_stolen_node_touch_only_itself(run, payload):
    payload = concrete(run, payload)
    acked = len(acks(run.publisher, run.attacker))
    hostile(run, "events", payload)
    # an event the protocol accepts from its own node is stored and acknowledged, not lost
    new = acks(run.publisher, run.attacker)[acked:]
    try:
        event = EVENT_ADAPTER.validate_json(payload)
    except ValidationError:
        assert new == []
        return
    if event.node_id == run.attacker:
        assert len(new) == 1
        if event.event_id.encode() in payload:  # else the parse made one up, as it did above
            assert new == [event.event_id]


def batch(
    node_id: st.SearchStrategy[str], commands: list[str], plays: list[str]
) -> st.SearchStrategy[dict[str, Any]]:
    """Several events in one message (protocol/event_batch.py): valid ones, hostile ones,
    another node's, a batch inside the batch, any JSON, the same event twice, far too many."""
    valid = event(node_id, commands, plays)
    entry = st.one_of(
        valid,
        valid,
        valid.flatmap(lambda v: hostile_dicts(v, NODE_IDS)),
        json_values(NODE_IDS),
        st.builds(lambda e: {"type": "events", "events": [e]}, valid),
    )
    entries = st.lists(entry, min_size=1, max_size=MAX_BATCH_EVENTS)
    twice = entries.map(lambda es: (es + es)[:MAX_BATCH_EVENTS])
    huge = st.tuples(valid, st.integers(MAX_BATCH_EVENTS + 1, 20_000)).map(lambda t: [t[0]] * t[1])
    return st.fixed_dictionaries(
        {"type": st.just("events"), "events": entries | twice | huge | st.just([])}
    )


@FUZZ
@given(payload=payloads(batch(ID, [COMMAND], [PLAY]), NODE_IDS))
@example(payload=b'{"type":"events","events":[{"type":"events","events":[]}]}')
def test_batches_from_a_stolen_node_touch_only_itself(run, payload):
    """Each entry costs only itself and a token of the node's rate; the node's own valid
    events in it are stored and acknowledged in one message, nobody else's."""
    payload = concrete(run, payload)
    tokens = MAX_BATCH_EVENTS + 1
    acked = len(acks(run.publisher, run.attacker))
    hostile(run, "events", payload, tokens=tokens)
    new = acks(run.publisher, run.attacker)[acked:]
    left = run.dispatcher.limits.take(run.attacker, 10**6)  # what the message did not take
    try:
        body = EVENTS_TOPIC_ADAPTER.validate_json(payload)
    except ValidationError:
        assert (new, left) == ([], tokens - 1)
        return
    raw = body.events if isinstance(body, EventBatch) else [json.loads(payload)]
    assert left == tokens - len(raw)
    own: set[object] = set()
    for k, entry in enumerate(raw):
        with contextlib.suppress(ValidationError):
            parsed = EVENT_ADAPTER.validate_python(entry)
            if parsed.node_id == run.attacker:  # an id it made up is one of a kind
                explicit = isinstance(entry, dict) and "event_id" in entry
                own.add(parsed.event_id if explicit else k)
    assert len(new) == len(own)
    assert len(set(new)) == len(new)


@FUZZ
@given(payload=payloads(chunk_request(SHA), NODE_IDS))
# an offset past what a file offset can hold raised out of the handler (ValueError from seek)
@example(
    payload=b'{"type":"chunk_request","sha256":"@sha@","offset":'
    + str(10**30).encode()
    + b',"length":5}'
)
def test_chunk_requests_from_a_stolen_node_touch_only_itself(run, payload):
    hostile(run, "content/req", concrete(run, payload))


@FUZZ
@given(
    topic=st.sampled_from(["cmd", "content", "ack", "state/x", "", "#", "+/events"]),
    payload=st.binary(max_size=32),
)
def test_a_message_on_a_topic_the_controller_does_not_take_is_ignored(run, topic, payload):
    hostile(run, "state", payload, topic=f"{PREFIX}/node/{run.attacker}/{topic}")
