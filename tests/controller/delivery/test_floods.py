"""A node that floods the controller: what it sends beyond its rate is dropped before it costs
anything, what it stores is capped, and the other nodes' events are taken as usual. No broker
and no clock: the dispatcher's rate limit runs on a clock the test holds still."""

from __future__ import annotations

import logging
import time

from sqlalchemy import func, select

from controller.delivery.dispatcher import Dispatcher
from controller.delivery.node_events import REJECTIONS_KEPT, TEXT_KEPT
from controller.delivery.node_limits import NodeRateLimit
from controller.models import NodeEvent
from protocol import event_batch
from protocol.limits import MAX_BATCH_EVENTS
from protocol.messages import CommandAck, RejectedPayload
from protocol.mqtt_client import Incoming
from protocol.topics import node_topic
from tests.controller.delivery.test_dispatcher import acks, deliver, play, status


def stored(dispatcher: Dispatcher, node_id: str) -> int:
    with dispatcher.db.session() as s:
        query = select(func.count()).select_from(NodeEvent).where(NodeEvent.node_id == node_id)
        return s.scalar(query) or 0


def rejection(node_id: str, k: int) -> RejectedPayload:
    return RejectedPayload(node_id=node_id, topic="loa/v1/node/x/cmd", reason=f"junk {k}")


def test_a_flooding_node_is_cut_at_its_rate_and_the_others_are_not(
    commune, publisher, dispatcher, caplog
):
    flooder = commune.nodes_in("thon-tay")[0]
    calm = play(commune, dispatcher)
    dispatcher.limits = NodeRateLimit(rate_per_s=5, burst=50, clock=lambda: 1000.0)
    caplog.set_level(logging.WARNING)

    for k in range(2000):
        deliver(dispatcher, flooder, "events", rejection(flooder, k))
    ack = CommandAck(node_id=calm, command_id=commune.commands()[0][1].command_id, accepted=True)
    deliver(dispatcher, calm, "events", ack)

    assert stored(dispatcher, flooder) == 50  # the burst, and nothing beyond it
    assert len(acks(publisher, flooder)) == 50  # the rest is not acknowledged: not taken
    assert dispatcher.limits.dropped == {flooder: 1950}
    said = [r.getMessage() for r in caplog.records if "faster than its limit" in r.getMessage()]
    assert len(said) == 1  # once a minute, not once a message
    assert flooder in said[0]
    assert acks(publisher, calm) == [ack.event_id]
    assert status(commune, calm)[0] == "acknowledged"


def test_a_node_flooding_in_batches_gets_no_more_than_one_by_one(
    commune, publisher, dispatcher, caplog
):
    """Each event of a batch takes its own token: 2,000 events in batches of the largest size
    are cut at the same burst as 2,000 single messages."""
    flooder = commune.nodes_in("thon-tay")[0]
    calm = play(commune, dispatcher)
    dispatcher.limits = NodeRateLimit(rate_per_s=5, burst=50, clock=lambda: 1000.0)
    caplog.set_level(logging.WARNING)

    flood = [rejection(flooder, k).model_dump_json().encode() for k in range(2000)]
    messages = event_batch.pack(flood)
    assert len(messages) == -(-2000 // MAX_BATCH_EVENTS)
    for payload in messages:
        dispatcher.handle(Incoming(node_topic(flooder, "events"), payload, False, time.time()))
    ack = CommandAck(node_id=calm, command_id=commune.commands()[0][1].command_id, accepted=True)
    deliver(dispatcher, calm, "events", ack)

    assert stored(dispatcher, flooder) == 50
    assert len(acks(publisher, flooder)) == 50
    # the first message's events beyond the burst, then every later message unread (its token)
    assert dispatcher.limits.dropped == {flooder: (MAX_BATCH_EVENTS * 2 - 50) + len(messages) - 2}
    said = [r.getMessage() for r in caplog.records if "faster than its limit" in r.getMessage()]
    assert len(said) == 1
    assert acks(publisher, calm) == [ack.event_id]
    assert status(commune, calm)[0] == "acknowledged"


def test_the_rate_refills_with_time(dispatcher):
    now = [0.0]
    limits = NodeRateLimit(rate_per_s=2, burst=3, clock=lambda: now[0])
    assert [limits.allow("loa-1") for _ in range(4)] == [True, True, True, False]
    now[0] += 1.0  # two more tokens
    assert [limits.allow("loa-1") for _ in range(3)] == [True, True, False]
    assert limits.allow("loa-2")  # each node has its own bucket


def test_rejections_stored_per_node_are_capped_to_the_newest(commune, publisher, dispatcher):
    node_id = commune.nodes_in("thon-dong")[0]
    dispatcher.limits = NodeRateLimit(rate_per_s=1, burst=10**6, clock=lambda: 0.0)
    sent = [rejection(node_id, k) for k in range(REJECTIONS_KEPT + 25)]
    for event in sent:
        deliver(dispatcher, node_id, "events", event)

    with commune.db.session() as s:
        kept = set(s.scalars(select(NodeEvent.event_id).where(NodeEvent.node_id == node_id)))
    assert kept == {e.event_id for e in sent[-REJECTIONS_KEPT:]}
    assert len(acks(publisher, node_id)) == len(sent)  # every one taken: none is re-sent


def test_a_huge_rejection_reason_is_stored_cut_with_a_marker(commune, publisher, dispatcher):
    node_id = commune.nodes_in("thon-dong")[0]
    huge = RejectedPayload(node_id=node_id, topic="t" * 5000, reason="x" * 200_000)
    deliver(dispatcher, node_id, "events", huge)

    with commune.db.session() as s:
        payload = s.get_one(NodeEvent, huge.event_id).payload
    for field, sent in (("reason", 200_000), ("topic", 5000)):
        text = payload[field]
        assert text.startswith("x" * TEXT_KEPT if field == "reason" else "t" * TEXT_KEPT)
        assert text.endswith(f"…[cut: {sent - TEXT_KEPT} more characters]")
        assert len(text) < TEXT_KEPT + 40
    assert acks(publisher, node_id) == [huge.event_id]  # taken, not re-sent forever


def test_a_huge_refusal_reason_reaches_the_report_cut(commune, publisher, dispatcher):
    node_id = play(commune, dispatcher)
    [(_, body)] = commune.commands()
    nack = CommandAck(
        node_id=node_id, command_id=body.command_id, accepted=False, reason="y" * 100_000
    )
    deliver(dispatcher, node_id, "events", nack)
    state, reason = status(commune, node_id)
    assert state == "rejected"
    assert reason == "y" * TEXT_KEPT + f" …[cut: {100_000 - TEXT_KEPT} more characters]"


def test_a_short_reason_is_stored_as_sent(commune, publisher, dispatcher):
    node_id = commune.nodes_in("thon-dong")[0]
    exact = RejectedPayload(node_id=node_id, topic="loa/x", reason="z" * TEXT_KEPT)
    deliver(dispatcher, node_id, "events", exact)
    with commune.db.session() as s:
        assert s.get_one(NodeEvent, exact.event_id).payload["reason"] == "z" * TEXT_KEPT
