"""Commands on a node's shard topic pass the same checks as on its own topic (signature,
target, expiry, replay guard); its shard-mates' commands are dropped unreported. Driven through
the agent's own message routing on a real node store, offline; no broker (the real broker's
ACL is in tests/e2e/test_fanout.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from node_agent.agent import NodeAgent
from protocol.messages import AudioRef, PlayCommand, utcnow
from protocol.signing import new_private_key, sign_command
from protocol.topics import GROUP_SHARDS, group_shard, group_topic, node_topic
from tests.support.keys import KEY
from tests.support.offline_node import offline_agent
from tests.support.shards import shard_mates

NODE = "loa-group-a"
SHARD = group_shard(NODE)
MATES = shard_mates(SHARD, 3, stem="loa-mate")


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[NodeAgent]:
    made = offline_agent(tmp_path, NODE)
    yield made
    made.store.close()


def play(play_id: str, title: str = "Bản tin") -> PlayCommand:
    return PlayCommand(
        play_id=play_id,
        bulletin_id=play_id,
        title=title,
        audio=AudioRef(sha256="cd" * 32, size=100, duration_s=1.0),
        valid_until=utcnow() + timedelta(hours=1),
    )


def group_envelope(command: PlayCommand, targets: list[str]) -> bytes:
    """As the controller signs a command for a group (controller/delivery/groups.py)."""
    _, envelope = sign_command(KEY, command, targets, expires_at=command.valid_until)
    return envelope.model_dump_json().encode()


def events(agent: NodeAgent) -> list[dict[str, Any]]:
    """What the node reports about commands: acks and rejections (not its plays' progress)."""
    made = [json.loads(p) for _, p, _ in agent.store.due_outbox(float("inf"), limit=10**6)]
    return [e for e in made if e["type"] in ("ack", "rejected")]


def programme(agent: NodeAgent) -> list[str]:
    return [row.command.play_id for row in agent.store.open_plays()]


def arrive(agent: NodeAgent, topic: str, payload: bytes) -> None:
    agent._on_message(topic, payload)  # the agent's own routing, as paho calls it


def test_a_group_command_naming_the_node_is_accepted_once_and_its_resend_is_a_duplicate(agent):
    payload = group_envelope(play("p1"), [*MATES, NODE])
    arrive(agent, group_topic(SHARD), payload)
    assert programme(agent) == ["p1"]
    [ack] = events(agent)
    assert (ack["type"], ack["accepted"]) == ("ack", True)
    arrive(agent, node_topic(NODE, "cmd"), payload)  # the controller's per-point re-send
    arrive(agent, group_topic(SHARD), payload)  # or the broker's redelivery
    assert programme(agent) == ["p1"]  # played once
    acks = events(agent)
    assert [e["type"] for e in acks] == ["ack"] * 3  # each answered: the row settles
    assert {e["command_id"] for e in acks} == {ack["command_id"]}


def test_a_shard_mates_command_is_dropped_without_a_word(agent):
    arrive(agent, group_topic(SHARD), group_envelope(play("p2"), MATES))
    # its id in the text but not among the targets: not ours either
    arrive(agent, group_topic(SHARD), group_envelope(play("p3", f"cho {NODE}"), MATES))
    assert programme(agent) == []
    assert events(agent) == []  # neither rejected nor nacked: normal on a group topic


def test_what_is_wrong_on_the_group_topic_is_refused_and_reported_as_on_its_own(agent):
    forged = new_private_key()
    _, envelope = sign_command(forged, play("p4"), [NODE, *MATES])
    arrive(agent, group_topic(SHARD), envelope.model_dump_json().encode())
    _, stale = sign_command(
        KEY, play("p5"), [NODE], issued_at=utcnow() - timedelta(hours=2), ttl=timedelta(hours=1)
    )
    arrive(agent, group_topic(SHARD), stale.model_dump_json().encode())
    arrive(agent, group_topic(SHARD), b"not an envelope")
    other_shard = (SHARD + 1) % GROUP_SHARDS
    arrive(agent, group_topic(other_shard), group_envelope(play("p6"), [NODE]))
    assert programme(agent) == []
    reasons = [e["reason"] for e in events(agent) if e["type"] == "rejected"]
    assert len(reasons) == 4
    assert "bad signature" in reasons[0]
    assert "expired" in reasons[1]
    assert "not a signed command envelope" in reasons[2]
    assert "not this node's" in reasons[3]


def test_a_command_to_another_node_on_its_own_topic_is_still_an_attack(agent):
    payload = group_envelope(play("p7"), MATES)
    arrive(agent, node_topic(NODE, "cmd"), payload)
    assert programme(agent) == []
    [rejected] = [e for e in events(agent) if e["type"] == "rejected"]
    assert "addressed to" in rejected["reason"]
