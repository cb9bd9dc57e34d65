"""What a point has to say at one moment goes as one message once its controller reads batches,
and one message per event whenever that is in doubt (protocol/event_batch.py).

Driven through the agent's own message routing (tests/support/offline_node.py) on a real store,
counting what it hands paho, as the commit tests do; and through the reporter alone for the
re-sends, with the times of the outbox set by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node_agent.agent import NodeAgent
from node_agent.store import NodeStore
from protocol.messages import EVENT_BATCHES, EventAck
from protocol.topics import node_topic
from tests.node_agent.conftest import Link, reporter
from tests.node_agent.test_command_commits import arrive, cached, emergency
from tests.support.offline_node import offline_agent

NODE = "loa-commit-a"  # the node the command helpers sign for
EVENTS = node_topic(NODE, "events")
ACK = node_topic(NODE, "ack")


def said(*event_ids: str, batches: bool | None) -> bytes:
    return (
        EventAck(event_ids=list(event_ids), batches=batches)
        .model_dump_json(exclude_none=True)
        .encode()
    )


def types(message: dict[str, Any]) -> list[str]:
    """The events a message carries, by type: a batch's entries, or the one event."""
    if message["type"] == "events":
        return [e["type"] for e in message["events"]]
    return [message["type"]]


class Wire:
    """What the agent hands paho on its events topic, one entry per message."""

    def __init__(self, agent: NodeAgent) -> None:
        self.messages: list[dict[str, Any]] = []
        agent.connected = True
        agent.client.publish = self._publish  # type: ignore[method-assign,assignment]

    def _publish(self, topic: str, payload: Any = None, *_a: Any, **_kw: Any) -> None:
        if topic == EVENTS:
            self.messages.append(json.loads(payload))


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[NodeAgent]:
    made = offline_agent(tmp_path, NODE)
    yield made
    made.store.close()


def test_the_agent_names_batches_among_its_capabilities():
    from protocol.messages import AGENT_CAPABILITIES

    assert EVENT_BATCHES in AGENT_CAPABILITIES


def test_a_command_is_one_message_once_the_controller_reads_batches(agent):
    wire = Wire(agent)
    sha = cached(agent)
    arrive(agent, emergency(sha, "storm-1"))
    # the controller has not said it reads batches: one message per event, as always
    assert [types(m) for m in wire.messages] == [["received"], ["ready"], ["ack"]]

    agent._on_message(ACK, said(*(m["event_id"] for m in wire.messages), batches=True))
    arrive(agent, emergency(sha, "storm-2"))
    assert [types(m) for m in wire.messages[3:]] == [["received", "ready", "ack"]]
    [batch] = wire.messages[3:]
    assert {e["play_id"] for e in batch["events"][:2]} == {"storm-2"}
    assert agent.store.due_outbox(older_than=0.0) == []  # marked sent with the commit


def test_an_ack_without_batches_turns_them_off_again(agent):
    wire = Wire(agent)
    sha = cached(agent)
    agent._on_message(ACK, said("none", batches=True))
    agent._on_message(ACK, said("none", batches=None))  # an older controller now answers
    arrive(agent, emergency(sha))
    assert [types(m) for m in wire.messages] == [["received"], ["ready"], ["ack"]]


def test_a_lone_event_goes_as_it_always_did(agent):
    wire = Wire(agent)
    agent._on_message(ACK, said("none", batches=True))
    agent.events.command_ack("c1", accepted=True)
    [message] = wire.messages
    assert message["type"] == "ack"


# --- re-sends, through the reporter with the outbox's times set by hand -----------------------


def sent_at(store: NodeStore, at: float) -> None:
    with store.transaction() as db:
        db.execute("UPDATE outbox SET last_sent=?", (at,))


def test_what_was_made_offline_is_resent_in_batches_of_the_limit_in_order(store):
    from protocol.limits import MAX_BATCH_EVENTS

    link = Link()
    events = reporter(store, link)
    for k in range(MAX_BATCH_EVENTS + 3):
        events.reject("loa/v1/x", f"junk {k}")
    link.online = True
    events.on_ack("ack", said("none", batches=True))
    events.flush(older_than=float("inf"))
    assert [len(m["events"]) if m["type"] == "events" else 1 for m in link.messages] == [
        MAX_BATCH_EVENTS,
        3,
    ]
    reasons = [e["reason"] for m in link.messages for e in m.get("events", [m])]
    assert reasons == [f"junk {k}" for k in range(MAX_BATCH_EVENTS + 3)]


def test_a_batch_never_acknowledged_since_is_resent_one_by_one(store):
    """A controller replaced by one without batches, the node still connected: it says
    nothing about the batch, and the re-send goes in the form every controller reads."""
    link = Link()
    link.online = True
    events = reporter(store, link)
    events.on_ack("ack", said("none", batches=True))
    with store.transaction():
        events.command_ack("c1", accepted=True)
        events.command_ack("c2", accepted=True)
    assert [m["type"] for m in link.messages] == ["events"]
    link.sent.clear()

    events.flush(older_than=float("inf"))  # nothing acknowledged it since
    assert [m["type"] for m in link.messages] == ["ack", "ack"]


def test_a_batch_whose_ack_was_lost_is_resent_in_a_batch(store):
    """The controller said ``batches`` after the events last went out: it reads them, and
    only the acknowledgement went missing."""
    link = Link()
    link.online = True
    events = reporter(store, link)
    with store.transaction():
        events.command_ack("c1", accepted=True)
        events.command_ack("c2", accepted=True)
    sent_at(store, 1000.0)
    events.on_ack("ack", said("other", batches=True))  # later than 1000 s after the epoch
    link.sent.clear()

    events.flush(older_than=float("inf"))
    assert [types(m) for m in link.messages] == [["ack", "ack"]]


def test_events_of_a_transaction_that_rolled_back_are_never_published(store):
    link = Link()
    link.online = True
    events = reporter(store, link)
    events.on_ack("ack", said("none", batches=True))

    def fails_before_its_commit() -> None:
        with store.transaction():
            events.command_ack("lost", accepted=True)
            raise RuntimeError("the command failed before its commit")

    with pytest.raises(RuntimeError):
        fails_before_its_commit()
    with store.transaction():
        events.command_ack("kept-1", accepted=True)
        events.command_ack("kept-2", accepted=True)
    [message] = link.messages
    assert [e["command_id"] for e in message["events"]] == ["kept-1", "kept-2"]
    assert len(store.due_outbox(older_than=float("inf"))) == 2
