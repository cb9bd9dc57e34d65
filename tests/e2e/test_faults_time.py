"""A node away for longer than its bulletins live (issue 18, "Faults"): back online it plays what
is still valid, nothing stale, and the reports say what it missed and why.

"Hours" are scaled to seconds through the bulletins' validity (``valid_seconds``), which is what
every expiry decision on both sides reads; the node's and the controller's clocks run true."""

from __future__ import annotations

from tests.support import node_events, wait_for
from tests.support.faults import post_to_all


def test_a_node_back_after_its_bulletins_lapsed_plays_only_what_is_still_valid(
    system_factory, speech_wav
):
    sut = system_factory(nodes=1)
    (node_id,) = sut.node_ids
    sut.cluster.start_all()
    held = post_to_all(sut, speech_wav, 6, valid_seconds="10")  # cached, then the node goes
    wait_for(lambda: sut.report(held)["nodes"][0]["status"] == "ready", 30, "the audio cached")
    sut.cluster.stop_node(node_id, kill=True)
    never_sent = post_to_all(sut, speech_wav, 1, valid_seconds="10")  # lapses while it is away
    still_valid = post_to_all(sut, speech_wav, 10, valid_seconds="600")

    def node_report(bid: str) -> dict[str, str]:
        (node,) = sut.report(bid)["nodes"]
        return dict(node)

    def lapsed(bid: str) -> bool:
        return node_report(bid)["status"] == "expired"

    for bid in (held, never_sent):
        wait_for(lambda: lapsed(bid), 40, "the lapse reported")  # noqa: B023 (awaited here)
        assert node_report(bid)["reason"].startswith("node offline since ")
        assert "expired at" in node_report(bid)["reason"]
    sut.cluster.start_node(node_id)

    wait_for(lambda: sut.report(still_valid)["summary"]["completed"] == 1, 60, "the valid one")
    started = {e["play_id"] for e in node_events(sut, node_id, "started")}
    assert started == {sut.report(still_valid)["nodes"][0]["play_id"]}  # nothing stale aired
    for bid in (held, never_sent):
        assert node_report(bid)["status"] in ("expired", "failed")  # the node may add "missed"
        assert node_report(bid)["reason"]
