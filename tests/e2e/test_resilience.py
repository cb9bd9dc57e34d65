"""Restarts in the middle of a delivery lose nothing; bad payloads and a full disk are reported."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

from protocol.topics import node_topic
from schedules import LOCAL
from tests.support import node_events, publish_as, wait_for


def test_restarting_broker_controller_and_a_node_mid_delivery_loses_nothing(
    system_factory, speech_wav
):
    sut = system_factory(nodes=3)
    for node_id in sut.node_ids:
        sut.set_node_config(node_id, chunk_size=4096)  # many chunks: restarts land mid-transfer
    crashed = sut.node_ids[2]
    sut.cluster.start_all()
    play_at = datetime.now(LOCAL) + timedelta(seconds=30)
    resp = sut.post_bulletin(
        speech_wav, all="true", play_at=play_at.replace(tzinfo=None).isoformat()
    )
    assert resp.status_code == 201, resp.text
    bid = resp.json()["id"]

    sut.cluster.stop_node(crashed, kill=True)  # power cut on a loudspeaker pole
    sut.cluster.stop_broker()
    time.sleep(1)
    sut.cluster.start_broker()
    sut.cluster.stop_controller()
    sut.cluster.start_controller()
    sut.cluster.start_node(crashed)

    report = wait_for(
        lambda: (r := sut.report(bid))["summary"]["completed"] == 3 and r,
        90,
        "all three nodes to play after the restarts",
    )
    for node in report["nodes"]:
        started = datetime.fromisoformat(node["started_at"])
        # on time by each node's own clock, despite the restarts before air time
        assert abs((started - play_at).total_seconds()) < 1.0, node
        assert len(node_events(sut, node["node_id"], "started")) == 1


def test_controller_and_broker_down_at_air_time_nodes_still_play_and_report_later(
    system_factory, speech_wav
):
    sut = system_factory(nodes=2)
    sut.cluster.start_all()
    play_at = datetime.now(LOCAL) + timedelta(seconds=12)
    bid = sut.post_bulletin(speech_wav, all="true", play_at=play_at.isoformat()).json()["id"]
    wait_for(
        lambda: all(n["status"] == "ready" for n in sut.report(bid)["nodes"]),
        30,
        "both nodes to hold the audio",
    )
    sut.cluster.stop_controller()
    sut.cluster.stop_broker()  # the link is gone too: nodes are on their own
    time.sleep(max(0.0, (play_at - datetime.now(LOCAL)).total_seconds()) + 4)
    for node_id in sut.node_ids:
        record = json.loads((sut.played_dir(node_id) / f"{bid}.json").read_text())
        assert abs(record["started_at"] - play_at.timestamp()) < 0.5  # on time, by its own clock
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    report = wait_for(
        lambda: (r := sut.report(bid))["summary"]["completed"] == 2 and r,
        30,
        "the nodes' outboxes to deliver their reports",
    )
    assert all(n["started_at"] for n in report["nodes"])


def test_full_disk_on_a_node_is_reported_as_the_reason(system_factory, speech_wav):
    sut = system_factory(nodes=1)
    (node_id,) = sut.node_ids
    sut.set_node_config(node_id, min_free_bytes=10**18)  # no disk has this much free
    sut.cluster.start_all()
    bid = sut.post_bulletin(speech_wav, all="true").json()["id"]
    report = wait_for(
        lambda: (r := sut.report(bid))["summary"]["not_played"] == 1 and r,
        30,
        "the disk-full failure",
    )
    (node,) = report["nodes"]
    assert node["status"] == "failed"
    assert "disk full" in node["reason"]


def test_malformed_payloads_on_every_node_topic_are_reported_and_ignored(
    system_factory, speech_wav
):
    sut = system_factory(nodes=1)
    (node_id,) = sut.node_ids
    sut.cluster.start_all()
    wait_for(lambda: sut.http().get("/api/v1/nodes").json()[0]["status"] == "online", 30, "online")
    user, password = sut.observer  # the controller's rights, not its session
    for channel in ("cmd", "content", "ack"):
        publish_as(sut, user, password, node_topic(node_id, channel), b"\x00{not json")
    wait_for(lambda: len(node_events(sut, node_id, "rejected")) == 3, 20, "three rejections")
    bid = sut.post_bulletin(speech_wav, all="true").json()["id"]
    wait_for(lambda: sut.report(bid)["summary"]["completed"] == 1, 60, "a normal play afterwards")
