"""Time faults (issue 18, "Faults"): a node away for longer than its bulletins live, and a node
whose clock jumps 10 minutes either way.

Away: back online it plays what is still valid, nothing stale, and the reports say what it
missed and why. "Hours" are scaled to seconds through the bulletins' validity
(``valid_seconds``), which is what every expiry decision on both sides reads.

Clock jumps: one node runs under libfaketime, its wall clock moved by the test while its
monotonic clock runs true, as a settimeofday jump would. It holds what is due at a set time
instead of airing it at the wrong moment, the nodes page says "Đồng hồ sai", replayed commands
are still refused, and once the clock is set right it plays what is still valid."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support import SystemUnderTest, controller_rows, node_events, publish_as, wait_for
from tests.support.faults import FakeClock, post_to_all


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


def one_node_with_a_fake_clock(system_factory, tmp_path: Path) -> tuple[SystemUnderTest, FakeClock]:
    clock = FakeClock(tmp_path / "faketime")
    sut = system_factory(nodes=1)
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    sut.cluster.start_node(sut.node_ids[0], env=clock.env)
    return sut, clock


def warnings(sut: SystemUnderTest) -> list[str] | None:
    """The node's warnings about its clock against the controller's; None until it is online
    (this machine's kernel clock may say "not synchronised": that warning is another's)."""
    with sut.http() as c:
        (node,) = c.get("/api/v1/nodes").json()
    found = [w for w in node["warnings"] if w in ("clock_ahead", "clock_behind")]
    return found if node["status"] == "online" else None


def waiting_past_due(sut: SystemUnderTest, bid: str, due: float) -> bool:
    """Ready on the point, and due by the true clock a few seconds ago."""
    (node,) = sut.report(bid)["nodes"]
    return bool(node["status"] == "ready" and time.time() > due + 3)


def started_at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["at"]).timestamp()


def test_a_node_clock_jumping_ahead_holds_timed_bulletins_then_plays_them_when_set_right(
    system_factory, speech_wav, tmp_path
):
    sut, clock = one_node_with_a_fake_clock(system_factory, tmp_path)
    (node_id,) = sut.node_ids
    wait_for(lambda: warnings(sut) == [], 30, "the node online with a right clock")
    due = time.time() + 8
    bid = post_to_all(sut, speech_wav, 8, valid_seconds="600")
    wait_for(lambda: sut.report(bid)["nodes"][0]["status"] == "ready", 30, "the audio cached")
    clock.set(+600)  # pending, and by the node's clock now 10 min overdue
    wait_for(lambda: warnings(sut) == ["clock_ahead"], 20, "the controller to see it ahead")
    # its page in words: tests/controller/web/test_point_health.py
    # one minute of validity: "expired" by the node's clock, taken by the controller's time
    arrives_due = time.time() + 2
    arrives = post_to_all(sut, speech_wav, 2, valid_seconds="60")
    wait_for(lambda: waiting_past_due(sut, bid, due), 30, "the bulletin held past its time")
    wait_for(lambda: waiting_past_due(sut, arrives, arrives_due), 30, "the new one held too")
    assert node_events(sut, node_id, "started") == []  # not aired at the wrong moment
    assert node_events(sut, node_id, "rejected") == []
    for held in (bid, arrives):
        (row,) = sut.report(held)["nodes"]
        assert row["reason"] == "held: this point's clock is 10 min 0 s ahead of the controller's"

    set_right = time.time()
    clock.set(0)
    for held in (bid, arrives):
        wait_for(lambda: sut.report(held)["summary"]["completed"] == 1, 60, "held ones played")  # noqa: B023
    started = node_events(sut, node_id, "started")
    assert len(started) == 2  # each once, and only once set right
    assert min(started_at(e) for e in started) >= set_right - 1
    wait_for(lambda: warnings(sut) == [], 20, "the warning to clear")


def test_a_node_clock_jumping_back_still_refuses_replays_and_reports_what_it_missed(
    system_factory, speech_wav, tmp_path
):
    """Jumped 10 min back, the node would take a command that expired minutes ago as valid:
    replayed by an attacker, it is still refused (the replay horizon is the controller's
    signed time, not the node's clock). A bulletin due meanwhile waits for the clock, and one
    whose validity ran out while it waited is reported missed with the reason."""
    sut, clock = one_node_with_a_fake_clock(system_factory, tmp_path)
    (node_id,) = sut.node_ids
    wait_for(lambda: warnings(sut) == [], 30, "the node online with a right clock")
    played = post_to_all(sut, speech_wav, 3, valid_seconds="10")
    wait_for(lambda: sut.report(played)["summary"]["completed"] == 1, 60, "the first bulletin")
    ((envelope, expires),) = controller_rows(
        sut,
        "SELECT e.envelope, o.expires_at FROM outbox o JOIN command_envelopes e"
        " USING (command_id) WHERE o.play_id=?",
        sut.report(played)["nodes"][0]["play_id"],
    )
    expired = datetime.fromisoformat(expires).timestamp()
    wait_for(lambda: time.time() > expired + 1, 20, "its command to expire")

    clock.set(-600)
    wait_for(lambda: warnings(sut) == ["clock_behind"], 20, "the controller to see it behind")
    due = time.time() + 3
    short = post_to_all(sut, speech_wav, 3, valid_seconds="10")  # a newer command, accepted
    wait_for(lambda: waiting_past_due(sut, short, due), 30, "the bulletin held past its time")

    user, password = sut.observer
    assert publish_as(sut, user, password, f"loa/v1/node/{node_id}/cmd", envelope.encode()) == 0
    refused = wait_for(
        lambda: [e for e in node_events(sut, node_id, "rejected") if "replayed" in e["reason"]],
        20,
        "the replay refused",
    )
    assert "stale" in refused[0]["reason"]

    wait_for(lambda: sut.report(short)["nodes"][0]["status"] == "expired", 40, "the lapse")
    clock.set(0)
    wait_for(lambda: warnings(sut) == [], 20, "the warning to clear")
    (node,) = wait_for(
        lambda: [n for n in sut.report(short)["nodes"] if n["status"] == "failed"],
        20,
        "the node's own word on it",
    )
    assert "(held: this point's clock is 10 min 0 s behind the controller's)" in node["reason"]
    assert len(node_events(sut, node_id, "started")) == 1  # the first bulletin, once
