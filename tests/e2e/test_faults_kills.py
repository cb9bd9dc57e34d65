"""Killed without warning (SIGKILL): the broker mid-delivery, a node mid-playback (issue 18,
"Faults"). The bar: 0 lost and 0 doubled bulletins, and the report says what happened."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from node_agent.bulletins import DIED_ON_AIR
from tests.support import node_events, wait_for
from tests.support.faults import downloading, played_once_by_all, post_to_all


@pytest.fixture(scope="module")
def medium_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About eight seconds of speech: many 4 KB chunks, yet quick to air."""
    path = tmp_path_factory.mktemp("medium") / "tiem-phong.wav"
    text = "Thông báo lịch tiêm phòng cho trâu bò của các thôn trong xã vào sáng thứ bảy tuần này."
    subprocess.run(["espeak-ng", "-v", "vi", "-s", "150", "-w", str(path), text], check=True)
    return path


def test_broker_sigkilled_mid_delivery_every_node_plays_once(system_factory, medium_speech):
    """No clean shutdown: the broker keeps only what its last autosave wrote (every 5 s), so
    queued commands and sessions may be lost; the controller's outbox and the nodes' re-asks
    cover it."""
    sut = system_factory(nodes=2)
    for node_id in sut.node_ids:
        sut.set_node_config(node_id, chunk_size=4096)  # many chunks: the kill lands mid-transfer
    sut.cluster.start_all()
    bid = post_to_all(sut, medium_speech, 12)
    downloading(sut, sut.node_ids[0])
    sut.cluster.stop_broker(kill=True)
    sut.cluster.start_broker()
    played_once_by_all(sut, bid)
    for node_id in sut.node_ids:
        assert len(node_events(sut, node_id, "finished")) == 1, node_id


def test_a_node_killed_mid_playback_does_not_air_it_again_and_says_so(system_factory, long_speech):
    """The node's policy: an airing it had begun when it died is not started again from the top
    (the village would hear it twice) and not resumed at a guessed place; it is reported
    interrupted with the reason, and the other points are untouched."""
    sut = system_factory(nodes=2)
    cut, calm = sut.node_ids
    sut.cluster.start_all()
    bid = post_to_all(sut, long_speech, 6)
    wait_for(lambda: node_events(sut, cut, "started"), 40, "the airing to begin", interval=0.05)
    sut.cluster.stop_node(cut, kill=True)  # while its sink is writing: 20 s of audio
    sut.cluster.start_node(cut)

    def by_node() -> dict[str, dict[str, str]]:
        return {n["node_id"]: n for n in sut.report(bid)["nodes"]}

    wait_for(lambda: by_node()[cut]["status"] == "interrupted", 30, "the cut node's report")
    assert by_node()[cut]["reason"] == DIED_ON_AIR
    assert len(node_events(sut, cut, "started")) == 1  # not aired a second time
    assert node_events(sut, cut, "finished") == []
    assert len(node_events(sut, calm, "started")) == 1
