"""Forged, expired, replayed, misaddressed and malformed commands never make a node speak;
a node's broker account cannot reach another node's topics."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.nodes.keys import load_or_create_key
from protocol.messages import AudioRef, PlayCommand, SignedEnvelope, utcnow
from protocol.signing import new_private_key, sign_command
from protocol.topics import GROUP_SHARDS, group_shard, group_topic, node_topic
from tests.support import SystemUnderTest, node_events, publish_as, wait_for


def controller_account(sut: SystemUnderTest) -> tuple[str, str]:
    """An account with the controller's rights that is not the running controller's."""
    return sut.observer


def test_bad_commands_are_rejected_and_the_node_keeps_working(system_factory, speech_wav):
    sut = system_factory(nodes=2)
    node_a, node_b = sut.node_ids
    sut.cluster.start_all()
    bulletin = sut.post_bulletin(speech_wav, all="true").json()
    wait_for(lambda: sut.report(bulletin["id"])["summary"]["completed"] == 2, 60, "first play")

    db = sqlite3.connect(sut.cluster.config.data_dir / "loalang.sqlite3")
    (replay,) = db.execute(
        "SELECT e.envelope FROM outbox o JOIN command_envelopes e USING (command_id)"
        " WHERE o.node_id=? AND o.play_id=?",
        (node_a, bulletin["id"]),
    ).fetchone()
    db.close()
    audio = AudioRef(sha256=bulletin["audio_sha256"], size=1000, duration_s=bulletin["duration_s"])

    def play(bid: str) -> PlayCommand:
        return PlayCommand(
            play_id=bid, bulletin_id=bid, audio=audio, valid_until=utcnow() + timedelta(hours=1)
        )

    real_key = load_or_create_key(sut.cluster.config.key_file)
    past = utcnow() - timedelta(minutes=10)
    attacks: dict[str, bytes | SignedEnvelope] = {
        "replayed": replay.encode(),
        "forged": sign_command(new_private_key(), play("forged"), [node_a])[1],
        "expired": sign_command(
            real_key,
            play("expired"),
            [node_a],
            issued_at=past,
            expires_at=past + timedelta(minutes=1),
        )[1],
        "misaddressed": sign_command(real_key, play("misaddressed"), [node_b])[1],
        "malformed": b'{"v": 1, "type": "signed", "body": "!!"}',
        "garbage": b"\x00\xff not json at all",
    }
    user, password = controller_account(sut)
    for payload in attacks.values():
        raw = payload if isinstance(payload, bytes) else payload.model_dump_json().encode()
        assert publish_as(sut, user, password, node_topic(node_a, "cmd"), raw) == 0

    def all_rejected() -> list[dict[str, Any]] | None:
        found = node_events(sut, node_a, "rejected")
        return found if len(found) >= 5 else None

    rejected = wait_for(all_rejected, 30, "the node to report every bad command")
    reasons = " | ".join(e["reason"] for e in rejected)
    for expected in ("bad signature", "expired", "addressed to", "not a signed command"):
        assert expected in reasons, reasons
    # The replay is acknowledged as a duplicate but not played again.
    starts = node_events(sut, node_a, "started")
    assert [e["play_id"] for e in starts] == [bulletin["id"]]
    played = sorted(p.stem for p in sut.played_dir(node_a).glob("*.wav"))
    assert played == [bulletin["id"]]

    # Still alive and obeying its controller.
    second = sut.post_bulletin(speech_wav, nodes=node_a).json()
    wait_for(lambda: sut.report(second["id"])["summary"]["completed"] == 1, 60, "second play")


def other(node_id: str) -> int:
    """A shard that is not ``node_id``'s."""
    return (group_shard(node_id) + 1) % GROUP_SHARDS


def test_a_node_account_cannot_touch_another_nodes_topics(system_factory):
    sut = system_factory(nodes=2)
    node_a, node_b = sut.node_ids
    sut.cluster.start_broker()
    password_a = sut.node_config(node_a)["broker_password"]

    # Publishing as node A to node B's topics: the broker answers "not authorized" (0x87).
    for channel in ("cmd", "events", "state", "content"):
        rc = publish_as(sut, node_a, password_a, node_topic(node_b, channel), b"{}")
        assert rc == 0x87, (channel, rc)
    # nor on any group topic, its own shard's included: only the controller commands a group
    own_shard, other_shard = group_topic(group_shard(node_a)), group_topic(other(node_a))
    for topic in (own_shard, other_shard):
        assert publish_as(sut, node_a, password_a, topic, b"{}") == 0x87, topic

    # Subscribing as node A to B's command and content topics, or to another shard's group
    # commands, receives nothing, even when the controller publishes there; A's own command
    # topic and its own shard's group topic work (the control cases).
    got: list[str] = []
    subscribed = threading.Event()
    spy = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"spy-{node_a}", protocol=mqtt.MQTTv5)
    spy.username_pw_set(node_a, password_a)
    spy.on_message = lambda _c, _u, msg: got.append(msg.topic)
    spy.on_subscribe = lambda *_: subscribed.set()
    spy.connect("127.0.0.1", sut.cluster.config.mqtt_port)
    spy.loop_start()
    try:
        spy.subscribe(
            [
                (node_topic(node_b, "cmd"), 1),
                (node_topic(node_b, "content"), 1),
                (node_topic(node_a, "cmd"), 1),
                (own_shard, 1),
                (other_shard, 1),
                ("loa/v1/#", 1),
            ]
        )
        assert subscribed.wait(5)
        user, password = controller_account(sut)
        for topic in (
            node_topic(node_b, "cmd"),
            node_topic(node_b, "content"),
            other_shard,
            node_topic(node_a, "cmd"),
            own_shard,
        ):
            publish_as(sut, user, password, topic, b"probe")
        # the broker delivers one client's messages in order: the last control case's arrival
        # means the others would have arrived by now
        wait_for(lambda: own_shard in got, 5, "the control messages")
    finally:
        spy.disconnect()
        spy.loop_stop()
    assert set(got) == {node_topic(node_a, "cmd"), own_shard}

    # A wrong password is refused outright.
    bad = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder", protocol=mqtt.MQTTv5)
    bad.username_pw_set(node_a, "wrong")
    codes: list[int] = []
    bad.on_connect = lambda _c, _u, _f, rc, _p: codes.append(rc.value)
    bad.connect("127.0.0.1", sut.cluster.config.mqtt_port)
    bad.loop_start()
    wait_for(lambda: codes, 5, "CONNACK")
    bad.loop_stop()
    assert codes[0] != 0
