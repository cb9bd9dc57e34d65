"""A node provisioned for the broker's TLS listener plays a bulletin (real processes)."""

from __future__ import annotations

import json

from controller.nodes import broker
from tests.support import wait_for


def test_a_node_over_tls_plays_a_bulletin(system_factory, speech_wav):
    tls_port = broker.free_port()
    sut = system_factory(nodes=1, mqtt_tls_port=tls_port, mqtt_tls_hosts=["localhost"])
    node = json.loads(next(iter(sut.cluster.node_configs.values())).read_text())
    assert (node["broker_host"], node["broker_port"], node["broker_tls"]) == (
        "localhost",
        tls_port,
        True,
    )
    assert node["broker_ca_pem"].startswith("-----BEGIN CERTIFICATE-----")
    sut.cluster.start_all()
    bid = sut.post_bulletin(speech_wav, title="Qua TLS", all="true").json()["id"]
    report = wait_for(
        lambda: (r := sut.report(bid))["summary"]["completed"] == 1 and r, 60, "the node to play"
    )
    assert report["summary"]["played"] == 1
    assert (sut.played_dir(sut.node_ids[0]) / f"{bid}.wav").exists()
    log = (sut.cluster.config.broker_dir / "mosquitto.log").read_text()
    assert f"on port {tls_port}" in log  # the node came in through the TLS listener
