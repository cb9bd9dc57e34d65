"""An emergency to many points leaves the controller once per shard and the broker fans it out;
a point that was offline gets the same signed command on its own topic when it is back, unless
its broker session's queue brought it first (real controller, broker and node agents; the three
points are provisioned into one shard)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from controller.nodes import provision
from controller.ops import demo
from protocol.topics import group_shard, group_topic, node_topic
from tests.support import SystemUnderTest, post_alert, wait_for
from tests.support.mqtt import Recorder


class ChosenSuffixes:
    """Stands in for ``secrets`` in provisioning: the demo's node ids ``<name>-<4 hex>`` get
    suffixes that put every node in the first one's shard."""

    def __init__(self, names: list[str]) -> None:
        stems = [provision.slug(name) for name in names]
        shard = group_shard(f"{stems[0]}-0000")
        hexes = [f"{i:04x}" for i in range(65536)]
        self.suffixes = iter(
            [next(h for h in hexes if group_shard(f"{stem}-{h}") == shard) for stem in stems]
        )

    def token_hex(self, _nbytes: int) -> str:
        return next(self.suffixes)


@pytest.fixture
def one_shard(
    system_factory: Callable[..., SystemUnderTest], monkeypatch: pytest.MonkeyPatch
) -> SystemUnderTest:
    names = [f"Loa {i + 1} {demo.ZONES[i % len(demo.ZONES)][1]}" for i in range(3)]
    monkeypatch.setattr(provision, "secrets", ChosenSuffixes(names))
    # no re-send while the test watches: what reaches the points is the first send only
    sut = system_factory(nodes=3, resend_interval_s=60.0)
    monkeypatch.undo()
    assert len({group_shard(n) for n in sut.node_ids}) == 1
    return sut


def commands_for(recorder: Recorder, play_id: str) -> list[tuple[str, list[str]]]:
    """(topic, targets) of every signed play command for ``play_id`` the broker carried."""
    found = []
    for topic, payload, _expiry in list(recorder.got):
        if not topic.endswith("/cmd"):
            continue
        body: dict[str, Any] = json.loads(base64.b64decode(json.loads(payload)["body"]))
        if body["command"].get("play_id") == play_id:
            found.append((topic, sorted(body["targets"])))
    return found


def test_an_emergency_is_one_publish_for_the_shard_and_a_late_point_gets_it_alone(
    one_shard, speech_wav
):
    sut = one_shard
    first, second, late = sut.node_ids
    shard_topic = group_topic(group_shard(first))
    sut.cluster.start_broker()
    user, password = sut.observer
    recorder = Recorder(
        sut.cluster.config.mqtt_port, user, password, client_id=user, subscribe="loa/v1/#"
    )
    try:
        sut.cluster.start_controller()
        for node_id in sut.node_ids:
            sut.cluster.start_node(node_id)
        # each said in its state that it reads its shard's topic; then one goes away
        wait_for(lambda: online(sut) == set(sut.node_ids), 30, "three points online")
        sut.cluster.stop_node(late)
        wait_for(lambda: online(sut) == {first, second}, 30, "two points online")
        alert = post_alert(sut, speech_wav, all="true").json()
        play_id = f"{alert['bulletin_id']}.r1"
        wait_for(lambda: started(sut, alert["id"]) == {first, second}, 30, "both on air")
        everyone = sorted(sut.node_ids)
        assert commands_for(recorder, play_id) == [(shard_topic, everyone)]  # one publish

        sut.cluster.start_node(late)  # back: its command alone, on its own topic
        wait_for(lambda: started(sut, alert["id"]) == set(everyone), 30, "the late point")
        shard_send, *resent = commands_for(recorder, play_id)
        assert shard_send == (shard_topic, everyone)
        # Back online, it is sent the same signed command alone, on its own topic, until it
        # answers (a slow start on a loaded machine may take two re-sends). Its persistent
        # session may also hold the shard's publish from while it was away; when that reaches
        # it and is acknowledged before the controller sees the point online, nothing is
        # re-sent. Either way it airs once, and nothing goes to the shard again.
        assert all(r == (node_topic(late, "cmd"), everyone) for r in resent)
        with sut.http() as c:
            report = c.get(f"/api/v1/alerts/{alert['id']}").json()["report"]
        assert sorted(n["node_id"] for n in report["nodes"] if n.get("started_at")) == everyone
    finally:
        recorder.close()


def online(sut: SystemUnderTest) -> set[str]:
    with sut.http() as c:
        return {n["id"] for n in c.get("/api/v1/nodes").json() if n["status"] != "offline"}


def started(sut: SystemUnderTest, alert_id: str) -> set[str]:
    with sut.http() as c:
        report = c.get(f"/api/v1/alerts/{alert_id}").json()["report"]
    return {n["node_id"] for n in report["nodes"] if n.get("started_at")}
