"""Downloads that could stall (issue 18: three of 5,000 points never finished theirs), tried on
the commune's own Mosquitto with the dispatcher running as in production and a real node agent
whose link to the broker goes through a proxy the test throttles: a broker restarted with its
sessions and subscriptions gone mid-download, the broker losing the node's acknowledgements,
the controller's per-node limit dropping the node's requests, and a file the controller cannot
serve as the command announced it. Each ends
with the audio in the node's cache or a reason at the controller, never a point waiting
silently. Short re-ask timeouts (1 s) keep them quick."""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.models import Bulletin, Delivery, now
from controller.nodes.broker import BrokerFiles
from node_agent.agent import NodeAgent
from node_agent.config import NodeConfig, RelayConfig, SinkConfig
from node_agent.relay import RecordingRelay
from node_agent.sinks import WavFileSink
from protocol import limits, mqtt_client
from tests.controller.commune import Commune
from tests.controller.delivery.conftest import Live
from tests.support import wait_for
from tests.support.link_proxy import LinkProxy

CHUNK = 4096


class RunningNode:
    """``node_id``'s real agent, connected through ``port``, run on a thread of this process."""

    def __init__(self, live: Live, node_id: str, port: int, root: Path, **settings: Any) -> None:
        provisioned = json.loads(
            (live.commune.config.nodes_dir / node_id / "node.json").read_text()
        )
        config = NodeConfig.model_validate(
            {
                **provisioned,
                "broker_host": "127.0.0.1",
                "broker_port": port,
                "broker_tls": False,
                "data_dir": root / node_id,
                "sink": SinkConfig(kind="wav"),
                "relay": RelayConfig(kind="recording"),
                "min_free_bytes": 0,
                "chunk_size": CHUNK,
                "chunk_timeout_s": 1.0,
                **settings,
            }
        )
        self.agent = NodeAgent(config, sink=WavFileSink(root / "played"), relay=RecordingRelay())
        self._thread = threading.Thread(target=self.agent.run, name=node_id, daemon=True)

    def __enter__(self) -> NodeAgent:
        self._thread.start()
        wait_for(lambda: self.agent.connected, 15, "the node to connect")
        return self.agent

    def __exit__(self, *_exc: object) -> None:
        self.agent.stopping.set()
        self._thread.join(15)


def queue_play(live: Live, node_id: str, audio: bytes, **fields: Any) -> tuple[str, str]:
    """A bulletin of ``audio`` for ``node_id``, due in an hour (nothing airs while the test
    watches the download); returns its play id and the audio's sha256."""
    bulletin = live.commune.bulletin(audio=audio, **fields)
    with live.commune.db.session() as s:
        live.dispatcher.queue_play(
            s,
            s.get_one(Bulletin, bulletin.id),
            [node_id],
            play_id=bulletin.id,
            play_at=now() + timedelta(hours=1),
        )
    return bulletin.id, bulletin.audio_sha256


def delivery(live: Live, play_id: str) -> Delivery:
    with live.commune.db.session() as s:
        return s.query(Delivery).filter_by(play_id=play_id).one()


def test_a_broker_restarted_with_its_sessions_gone_mid_download_does_not_stall_it(live, tmp_path):
    """The node's subscriptions to the pieces it asked for went with the broker's database:
    on its return it subscribes again before it asks again, and the download finishes."""
    node_id = live.commune.nodes_in("thon-dong")[0]
    audio = os.urandom(60 * CHUNK)
    with (
        LinkProxy(target_port=live.port) as link,
        RunningNode(live, node_id, link.port, tmp_path) as agent,
    ):
        link.rate_bps = 40_000  # a slow cell: the download takes seconds, not milliseconds
        play_id, sha = queue_play(live, node_id, audio)
        wait_for(lambda: agent.cache.partial_size(sha) > 4 * CHUNK, 30, "the download to start")
        live.cluster.stop_broker()
        shutil.rmtree(BrokerFiles(live.commune.config.broker_dir).persistence_dir)
        live.cluster.start_broker()
        link.heal()
        wait_for(lambda: agent.cache.has(sha), 60, "the download to finish")
        wait_for(lambda: delivery(live, play_id).ready_at, 30, "the controller to hear 'ready'")
    assert agent.cache.path(sha).read_bytes() == audio


def test_a_point_whose_acknowledgements_the_broker_loses_still_reports(live, tmp_path, monkeypatch):
    """Mosquitto 2.0.11 loses the PUBACKs to a point whose queue overflowed (test_lost_
    acknowledgements.py). Here the proxy drops them until a whole window is gone (the broker's
    100): paho holds a place for each until a new connection, so without noticing it the point
    would have none left to ask for the rest of its file or to report with. The agent notices
    the lost ones, reconnects, and its download and report get through."""
    monkeypatch.setattr(mqtt_client, "ACK_LOST_S", 1.0)  # the same rule, at test speed
    node_id = live.commune.nodes_in("thon-dong")[0]
    audio = os.urandom(160 * CHUNK)  # more requests than a window
    many = 10**6
    with (
        LinkProxy(target_port=live.port, frames=True, drop_pubacks=many) as link,
        RunningNode(live, node_id, link.port, tmp_path) as agent,
    ):
        play_id, sha = queue_play(live, node_id, audio)
        window = limits.BROKER_MAX_INFLIGHT_MESSAGES
        wait_for(lambda: link.drop_pubacks <= many - window, 60, "a window of PUBACKs lost")
        link.drop_pubacks = 0  # the broker's queue for the point drained
        wait_for(lambda: agent.cache.has(sha), 60, "the download to finish")
        wait_for(lambda: delivery(live, play_id).ready_at, 30, "the controller to hear 'ready'")
        assert agent.client.acks_lost > 0
        assert link.connections > 1
    assert agent.cache.path(sha).read_bytes() == audio


@pytest.fixture
def strict(commune: Commune) -> Commune:
    """A controller that takes 2 messages a second from a node, in bursts of 10: most of a
    node's window of requests is dropped unread, every time (requested before ``live``)."""
    commune.config = commune.config.model_copy(
        update={"node_messages_per_s": 2.0, "node_message_burst": 10}
    )
    return commune


def test_requests_the_controller_drops_over_a_nodes_limit_are_asked_for_again(
    strict, live, tmp_path
):
    """Dropped unread and unanswered: the node's timeout asks again, and it gets there."""
    node_id = strict.nodes_in("thon-dong")[0]
    audio = os.urandom(12 * CHUNK)
    with RunningNode(live, node_id, live.port, tmp_path) as agent:
        play_id, sha = queue_play(live, node_id, audio)
        wait_for(lambda: agent.cache.has(sha), 60, "the download to finish")
        wait_for(lambda: delivery(live, play_id).ready_at, 30, "the controller to hear 'ready'")
    assert live.dispatcher.limits.dropped.get(node_id, 0) > 0  # the limit did bite
    assert agent.cache.path(sha).read_bytes() == audio


def test_audio_the_controller_holds_at_another_size_fails_with_the_reason(live, tmp_path):
    """The controller's copy was cut short on its disk: every piece verifies, the file never
    can. The node says so instead of asking again every timeout for as long as it is valid."""
    node_id = live.commune.nodes_in("thon-dong")[0]
    audio = os.urandom(6 * CHUNK)
    with RunningNode(live, node_id, live.port, tmp_path):
        play_id, sha = queue_play(live, node_id, audio)
        stored = live.commune.config.audio_dir / f"{sha}.ogg"
        stored.write_bytes(audio[: -CHUNK // 2])
        wait_for(lambda: delivery(live, play_id).status == "failed", 30, "the failure")
    reason = delivery(live, play_id).reason
    assert f"serves {len(audio) - CHUNK // 2} bytes" in reason
    assert f"announced {len(audio)}" in reason
