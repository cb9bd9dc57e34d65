"""A stolen node's account floods the controller while another point airs a bulletin: the
well-behaved point still plays it and reports it, and what the flood leaves stored is capped."""

from __future__ import annotations

from controller.delivery.node_events import REJECTIONS_KEPT
from protocol.messages import RejectedPayload
from protocol.topics import node_topic
from tests.support import SystemUnderTest, controller_rows, wait_for
from tests.support.mqtt import Recorder

FLOOD = 10_000


def test_a_flooding_node_does_not_keep_another_from_airing(system_factory, speech_wav):
    sut = system_factory(nodes=2)
    flooder, calm = sut.node_ids
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    sut.cluster.start_node(calm)
    wait_for(lambda: calm_online(sut, calm), 30, "the well-behaved point online")

    password = sut.node_config(flooder)["broker_password"]
    thief = Recorder(sut.cluster.config.mqtt_port, flooder, password, client_id=flooder)
    try:
        topic = node_topic(flooder, "events")
        for k in range(FLOOD):  # valid events, as fast as paho sends them
            junk = RejectedPayload(node_id=flooder, topic=topic, reason=f"flood {k}")
            thief.client.publish(topic, junk.model_dump_json(), qos=1)
        bulletin = sut.post_bulletin(speech_wav, nodes=calm).json()
        report = wait_for(
            lambda: (r := sut.report(bulletin["id"]))["summary"]["completed"] == 1 and r,
            60,
            "the well-behaved point to play and report",
        )
    finally:
        thief.close()
    assert report["nodes"][0]["status"] == "finished"
    (stored,) = controller_rows(
        sut, "SELECT count(*) FROM node_events WHERE node_id=? AND type='rejected'", flooder
    )
    assert 0 < stored[0] <= REJECTIONS_KEPT
    log = (sut.cluster.logs_dir / "controller.log").read_text()
    said = [ln for ln in log.splitlines() if "faster than its limit" in ln]
    assert len(said) == 1, said  # once a minute per node, not once a message
    assert flooder in said[0]


def calm_online(sut: SystemUnderTest, node_id: str) -> bool:
    with sut.http() as c:
        return any(
            n["id"] == node_id and n["status"] == "online" for n in c.get("/api/v1/nodes").json()
        )
