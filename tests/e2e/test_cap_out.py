"""CAP out end to end: one commune's alert reaches another Loa Làng that polls its public Atom
feed as a provincial feed (two controllers, two brokers, real nodes, no login between them)."""

from __future__ import annotations

from typing import Any

from tests.support import SystemUnderTest, wait_for

FEED = "/api/v1/cap/alerts.atom"
TEXT = "Lũ quét ở Thôn Đông, đề nghị bà con lên chỗ cao"


def relayed(sut: SystemUnderTest) -> list[dict[str, Any]] | None:
    with sut.http() as c:
        found = [a for a in c.get("/api/v1/alerts").json() if a["source"] == "cap"]
    return found or None


def state(sut: SystemUnderTest, alert_id: str) -> dict[str, Any]:
    with sut.http() as c:
        return dict(c.get(f"/api/v1/alerts/{alert_id}").json())


def test_a_neighbour_polling_our_feed_airs_our_alert_and_stops_with_our_cancel(system_factory):
    ours = system_factory(nodes=1)  # one point, in Thôn Đông
    ours.cluster.start_all()
    theirs = system_factory(nodes=1, cap_feeds=[ours.cluster.url + FEED], cap_poll_interval_s=5)
    theirs.cluster.start_all()

    with ours.http() as c:
        sent = c.post("/api/v1/alerts", data={"text": TEXT, "all": "true"})
        assert sent.status_code == 201, sent.text
    alert_id = sent.json()["id"]

    (found,) = wait_for(lambda: relayed(theirs), 90, "the neighbour relays our alert")
    assert TEXT in found["text"]
    assert found["targets"] == theirs.node_ids
    wait_for(lambda: state(theirs, found["id"])["report"]["summary"]["played"] == 1, 90, "air")

    with ours.http() as c:
        stop = c.post(f"/api/v1/alerts/{alert_id}/cancel", data={"reason": "báo nhầm"})
        assert stop.status_code == 200, stop.text
    wait_for(lambda: state(theirs, found["id"])["state"] == "cancelled", 90, "our cancel")
    with theirs.http() as c:
        actions = sorted(m["action"] for m in c.get("/api/v1/cap").json())
    assert actions == ["air", "cancel"]
