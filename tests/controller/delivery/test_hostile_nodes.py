"""What one node's broker account can do to the others, tried on the project's own Mosquitto
with the dispatcher running as in production: it cannot cut the controller off with a request
whose reply would not fit a packet, and it cannot take another node's session over."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re

from controller.models import Bulletin, Node
from controller.nodes import broker
from protocol import limits, mqtt_client
from protocol.messages import NodeState
from protocol.topics import node_topic, shared_content_topic
from tests.controller.delivery.conftest import Live
from tests.support import mqtt_packets, wait_for


def queue_play(live: Live, node_id: str) -> None:
    bulletin = live.commune.bulletin()
    with live.commune.db.session() as s:
        live.dispatcher.queue_play(
            s, s.get_one(Bulletin, bulletin.id), [node_id], play_id=bulletin.id, play_at=None
        )


def test_a_chunk_request_for_a_mebibyte_does_not_cut_the_controller_off(live):
    attacker, victim = live.commune.nodes_in("thon-dong")
    audio = os.urandom(600_000)  # a bulletin's worth: a 1 MiB read returns all of it
    sha = hashlib.sha256(audio).hexdigest()
    live.commune.config.audio_dir.mkdir(parents=True, exist_ok=True)
    (live.commune.config.audio_dir / f"{sha}.ogg").write_bytes(audio)
    victim_cmds = live.as_node(victim, listen=node_topic(victim, "cmd"))
    thief = live.as_node(attacker, listen=shared_content_topic(sha, 0))
    try:
        hostile = {"v": 1, "type": "chunk_request", "sha256": sha, "offset": 0, "length": 1 << 20}
        thief.client.publish(
            node_topic(attacker, "content/req"), json.dumps(hostile), qos=1
        ).wait_for_publish(5)
        queue_play(live, victim)  # an ordinary bulletin for another point, right after

        wait_for(lambda: victim_cmds.on(node_topic(victim, "cmd")), 15, "the victim's command")
        # A fair request from the same node is still served, within the packet limit.
        fair = {**hostile, "length": 64 * 1024}
        thief.client.publish(node_topic(attacker, "content/req"), json.dumps(fair), qos=1)
        wait_for(lambda: thief.on(shared_content_topic(sha, 0)), 15, "the fair chunk")
    finally:
        victim_cmds.close()
        thief.close()
    assert [json.loads(p)["offset"] for p in thief.on(shared_content_topic(sha, 0))] == [0]
    assert live.controller_connections() == 1  # never disconnected, never reconnected
    assert live.dispatcher.connected.is_set()


def test_another_nodes_account_cannot_take_over_a_nodes_client_id(live):
    owner, thief_account = live.commune.nodes_in("thon-dong")
    victim = live.as_node(owner, listen=node_topic(owner, "cmd"))
    try:
        thief = live.as_node(thief_account, client_id=owner)  # same client id, other account
        thief.close()
        queue_play(live, owner)
        wait_for(lambda: victim.on(node_topic(owner, "cmd")), 15, "the owner's command")
        assert victim.connects == [0]  # connected once and never kicked off
        assert victim.disconnects == 0
    finally:
        victim.close()
    # the option binding ids to accounts opened no other listener (as it would before one)
    log = (live.commune.config.broker_dir / "mosquitto.log").read_text()
    ports = set(re.findall(r"listen socket on port (\d+)\.", log))
    assert ports == {str(live.port), str(live.commune.config.mqtt_tls_port)}


def test_a_node_reads_the_shared_chunks_but_cannot_publish_there(live):
    """The shared chunk topic is read-only for nodes: a stolen node cannot feed the points
    fetching a file forged pieces (they would also fail the sha256 checks), only ask."""
    attacker, fetching = live.commune.nodes_in("thon-dong")
    audio = os.urandom(5000)
    sha = hashlib.sha256(audio).hexdigest()
    live.commune.config.audio_dir.mkdir(parents=True, exist_ok=True)
    (live.commune.config.audio_dir / f"{sha}.ogg").write_bytes(audio)
    shared = shared_content_topic(sha, 0)
    listener = live.as_node(fetching, listen=shared)  # allowed: its SUBACK came back
    thief = live.as_node(attacker)
    try:
        forged = {"v": 1, "type": "chunk", "sha256": sha, "offset": 0, "total_size": 5000}
        thief.client.publish(shared, json.dumps(forged), qos=1).wait_for_publish(5)
        ask = {"v": 1, "type": "chunk_request", "sha256": sha, "offset": 0, "length": 4096}
        thief.client.publish(node_topic(attacker, "content/req"), json.dumps(ask), qos=1)
        got = wait_for(lambda: listener.on(shared), 15, "the controller's piece")
    finally:
        listener.close()
        thief.close()
    # the broker passes messages on in order: the forged one, had it passed, would be first
    [only] = got
    piece = json.loads(only)
    assert base64.b64decode(piece["data"]) == audio[:4096]
    assert piece["chunk_sha256"] == hashlib.sha256(audio[:4096]).hexdigest()


def test_a_flood_the_controller_cannot_read_in_time_costs_it_no_acknowledgement(live):
    """The controller reads the nodes on a session of its own. A node floods (QoS 0, which the
    broker forwards at QoS 0) while the controller reads slowly (its reading session stopped),
    until the broker drops for that session. Mosquitto 2.0.11 then loses the PUBACKs it sends
    that client; the controller's commands go on the other session and are acknowledged."""
    attacker, victim = live.commune.nodes_in("thon-dong")
    dispatcher = live.dispatcher
    reader = broker.reader_user(live.commune.config.mqtt_user)
    dispatcher.reader.loop_stop()  # the controller reads nothing from here on
    flooder = live.as_node(attacker)
    victim_cmds = live.as_node(victim, listen=node_topic(victim, "cmd"))
    log = live.commune.config.broker_dir / "mosquitto.log"
    try:
        flood = [
            flooder.client.publish(node_topic(attacker, "events"), b"x" * 80_000, qos=0)
            for _ in range(limits.BROKER_MAX_QUEUED_MESSAGES + 200)
        ]
        wait_for(lambda: all(info.is_published() for info in flood), 30, "the flood sent")
        dropped = f"Outgoing messages are being dropped for client {reader}"
        wait_for(lambda: dropped in log.read_text(), 10, "the broker dropping for the reads")

        queue_play(live, victim)  # a command, sent while the reads are overflowed
        wait_for(lambda: victim_cmds.on(node_topic(victim, "cmd")), 15, "the victim's command")
        wait_for(lambda: dispatcher.publisher.unacknowledged() == 0, 5, "the PUBACKs")
    finally:
        flooder.close()
        victim_cmds.close()
        mqtt_client.start(dispatcher.reader, dispatcher.reads)
    assert dispatcher.client.acks_lost == 0
    assert live.controller_connections() == 1  # the sending session never reconnected
    sender_dropped = rf"dropped for client {re.escape(live.commune.config.mqtt_user)}\.$"
    assert not re.search(sender_dropped, log.read_text(), re.MULTILINE)
    wait_for(dispatcher.reading.is_set, 10, "the reads back")


def test_a_flood_of_mqtt_properties_does_not_hold_up_the_other_points(live):
    """MQTT 5 lets a message carry user properties, which the broker passes on and paho parses
    in Python before any handler or rate limit sees the message (5 s for 250 KB of empty
    ones). A node's account sending 20 such messages on its own topic held every other point's
    reports behind them in the controller's reading session for a minute or more; on the demo
    a command to another point was acknowledged after 73 s instead of 0.3 s."""
    attacker, victim = live.commune.nodes_in("thon-dong")
    flood = mqtt_packets.connect(live.port, attacker, live.password(attacker))
    reporter = live.as_node(victim)
    try:
        props = b"\x26\x00\x00\x00\x00" * 50_000  # 250 KB: user properties, empty
        topic = node_topic(attacker, "events")
        body = mqtt_packets.text(topic) + mqtt_packets.varint(len(props)) + props + b"{}"
        for _ in range(20):
            flood.sendall(mqtt_packets.packet(mqtt_packets.PUBLISH_QOS0, body))
        state = NodeState(node_id=victim, status="online", volume=37)
        reporter.client.publish(node_topic(victim, "state"), state.model_dump_json(), qos=1)

        def reported() -> bool:
            with live.commune.db.session() as s:
                return bool(s.get_one(Node, victim).volume == 37)

        wait_for(reported, 15, "the other point's state, behind the flood")
    finally:
        flood.close()
        reporter.close()
    assert live.dispatcher.reading.is_set()
