"""The broker's packet limit, reflected in the protocol: the largest chunk a node may ask for
still travels in one packet, and nothing larger can be asked for or configured."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from controller.nodes import broker
from node_agent.config import NodeConfig
from node_agent.events import REASON_CHARS
from protocol.limits import (
    BROKER_MAX_INFLIGHT_BYTES,
    CONTROLLER_RECEIVE_MAXIMUM,
    MAX_CHUNK_BYTES,
    MAX_PACKET_BYTES,
    NODE_MESSAGE_BYTES,
    fits_packet,
    publish_packet_bytes,
)
from protocol.messages import (
    AGENT_CAPABILITIES,
    MAX_UPTIME_S,
    Chunk,
    ChunkRequest,
    Health,
    NodeState,
    PlayEvent,
)
from protocol.topics import node_topic

LONGEST_NODE = "n" + "-" * 62
SHA = "f" * 64


def test_the_largest_chunk_reply_fits_one_broker_packet():
    reply = Chunk(
        sha256=SHA,
        offset=2**63 - 1,
        total_size=2**63 - 1,
        chunk_sha256=SHA,
        data=base64.b64encode(b"\xff" * MAX_CHUNK_BYTES).decode(),
    )
    payload = reply.model_dump_json().encode()
    topic = node_topic(LONGEST_NODE, "content")
    assert fits_packet(topic, payload, qos=1, expiry=True)
    # and the limit is not wasted: a packet's worth of audio is only a few kilobytes away
    assert MAX_PACKET_BYTES - publish_packet_bytes(topic, payload, qos=1, expiry=True) < 8192


def test_packet_size_counts_the_mqtt_header():
    # 1 fixed byte, 3 remaining-length bytes (>16383), topic 2+5, packet id 2, properties 1+5
    assert (
        publish_packet_bytes("a/b/c", b"x" * 20000, qos=1, expiry=True) == 1 + 3 + 7 + 2 + 6 + 20000
    )
    assert publish_packet_bytes("a", b"", qos=0, expiry=False) == 1 + 1 + 3 + 1
    assert not fits_packet("t", b"x" * MAX_PACKET_BYTES, qos=1, expiry=False)


@pytest.mark.parametrize("length", [MAX_CHUNK_BYTES + 1, 1 << 20])
def test_a_chunk_request_over_the_limit_is_refused(length):
    with pytest.raises(ValidationError, match=r"\nlength\n"):
        ChunkRequest(sha256=SHA, offset=0, length=length)
    assert ChunkRequest(sha256=SHA, offset=0, length=MAX_CHUNK_BYTES).length == MAX_CHUNK_BYTES


def test_a_node_config_with_a_chunk_size_that_cannot_fit_is_refused(tmp_path):
    path = tmp_path / "node.json"
    base = {
        "node_id": "loa-1",
        "broker_password": "x",
        "controller_public_key": "k",
        "data_dir": str(tmp_path),
    }
    path.write_text(json.dumps({**base, "chunk_size": 1 << 20}))
    with pytest.raises(SystemExit, match="chunk_size"):
        NodeConfig.load(path)
    path.write_text(json.dumps({**base, "chunk_size": MAX_CHUNK_BYTES}))
    assert NodeConfig.load(path).chunk_size == MAX_CHUNK_BYTES


def test_the_broker_enforces_the_protocols_packet_limit(tmp_path):
    files = broker.BrokerFiles(tmp_path)
    text = broker.write_config(files, port=1883).read_text()
    assert f"\nmax_packet_size {MAX_PACKET_BYTES}\n" in text


def test_what_a_node_ordinarily_sends_fits_the_brokers_window_in_bytes():
    """The broker's in-flight bytes are sized for the controller's window of 65,535 ordinary
    node messages: a state with every figure, a play's event with the longest reason a node
    reports (cut at 300 characters), a chunk request at the largest offsets."""
    health = Health(
        uptime_s=MAX_UPTIME_S,
        cpu_temp_c=-40.123456789,
        disk_free_bytes=2**50,
        disk_total_bytes=2**50,
        memory_available_bytes=2**50,
        memory_total_bytes=2**50,
        clock_synced=True,
        clock_offset_ms=-1234.56789012345,
        clock_source="timedatectl",
        cell_signal_pct=100,
        cell_technology="lte, umts, gsm",
    )
    node = LONGEST_NODE
    ordinary = [
        NodeState(
            node_id=node,
            status="playing",
            play_id="p" * 80,
            agent_version="v" * 40,
            cache_bytes=2**62,
            free_bytes=2**62,
            volume=1.0,
            signal_dbm=-100,
            health=health,
            capabilities=list(AGENT_CAPABILITIES),
        ),
        PlayEvent(node_id=node, type="failed", play_id="p" * 80, reason="r" * REASON_CHARS),
        ChunkRequest(sha256=SHA, offset=2**63 - 1, length=MAX_CHUNK_BYTES),
    ]
    for message in ordinary:
        assert len(message.model_dump_json().encode()) <= NODE_MESSAGE_BYTES, message
    window = CONTROLLER_RECEIVE_MAXIMUM * NODE_MESSAGE_BYTES
    assert window <= BROKER_MAX_INFLIGHT_BYTES
