"""The programme on real nodes: a daily slot plays in order on its zone only; quiet hours."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from schedules import LOCAL
from tests.e2e.test_emergency import post_alert
from tests.support import SystemUnderTest, wait_for


def held(sut: SystemUnderTest, audio: Path, title: str) -> dict[str, Any]:
    resp = sut.post_bulletin(audio, title=title, hold="true")
    assert resp.status_code == 201, resp.text
    assert resp.json()["targets"] == 0
    return dict(resp.json())


def test_daily_slot_fills_and_plays_in_order_on_its_zone_only(system_factory, speech_wav):
    sut = system_factory(nodes=2)
    east, west = sut.node_ids  # Thôn Đông, Thôn Tây
    sut.cluster.start_all()
    news = held(sut, speech_wav, "Thời sự")
    urgent = held(sut, speech_wav, "Lịch tiêm phòng")
    slot_start = (datetime.now(LOCAL) + timedelta(seconds=25)).replace(microsecond=0)
    today = slot_start.date().isoformat()
    slot = {
        "id": "ban-tin-thu",
        "name": "Bản tin thử",
        "start": slot_start.time().isoformat(),
        "max_length_s": 60,
        "zones": ["thon-dong"],
        "gap_s": 2.0,
    }
    with sut.http() as c:
        assert c.put("/api/v1/programme/slots/ban-tin-thu", json=slot).status_code == 200
        daily = {"kind": "daily", "start_date": today}
        first = c.post(
            "/api/v1/programme/items",
            json={
                "bulletin_id": news["id"],
                "slot_id": "ban-tin-thu",
                "position": 0,
                "recurrence": daily,
            },
        )
        assert first.status_code == 201, first.text
        second = c.post(
            "/api/v1/programme/items",
            json={
                "bulletin_id": urgent["id"],
                "slot_id": "ban-tin-thu",
                "position": 9,
                "priority": "priority",
                "recurrence": daily,
            },
        )
        assert second.status_code == 201, second.text
        # a third would overflow the 60 s slot: refused with what clashes, nothing changed
        filler = held(sut, speech_wav, "Nhạc")
        items = [
            {
                "bulletin_id": filler["id"],
                "slot_id": "ban-tin-thu",
                "position": k,
                "recurrence": daily,
            }
            for k in range(20)
        ]
        for item in items:
            resp = c.post("/api/v1/programme/items", json=item)
            if resp.status_code != 201:
                break
        assert resp.status_code == 409
        conflict = resp.json()["conflicts"][0]
        assert conflict["code"] == "slot_overflow"
        assert "ban-tin-thu" in conflict["message"] or "Bản tin thử" in conflict["message"]
        assert conflict["message_vi"]
        airings = c.get("/api/v1/programme/airings", params={"days": 1}).json()
    in_slot = [a for a in airings if a["slot_id"] == "ban-tin-thu"][:2]
    assert in_slot[0]["item_id"] == second.json()["id"]  # ưu tiên goes first in its slot
    urgent_play, news_play = in_slot[0]["play_id"], in_slot[1]["play_id"]

    def played(node: str, play: str) -> dict[str, Any] | None:
        path = sut.played_dir(node) / f"{play}.json"
        return json.loads(path.read_text()) if path.exists() else None

    wait_for(lambda: played(east, news_play), 90, "the slot to play on Thôn Đông")
    a, b = played(east, urgent_play), played(east, news_play)
    assert a is not None
    assert b is not None
    assert abs(a["started_at"] - slot_start.timestamp()) < 1.0  # the slot starts on time
    assert b["started_at"] >= a["ended_at"] + 1.5  # then the next, after the gap
    assert not list(sut.played_dir(west).glob("*.wav"))  # Thôn Tây is not in this slot


def test_quiet_hours_block_a_normal_item_and_let_an_emergency_through(system_factory, speech_wav):
    sut = system_factory(nodes=1)
    sut.cluster.start_all()
    now = datetime.now(LOCAL)
    quiet = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M:00"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M:00"),
    }
    with sut.http() as c:
        assert c.put("/api/v1/programme/quiet-hours", json=quiet).status_code == 200
    refused = sut.post_bulletin(speech_wav, all="true")
    assert refused.status_code == 409
    assert "quiet hours" in refused.json()["detail"]
    with sut.http() as c:
        assert c.get("/api/v1/bulletins").json() == []  # nothing stored
    alert = post_alert(sut, speech_wav, all="true")
    assert alert.status_code == 201, alert.text

    def done() -> bool:
        with sut.http() as c:
            a = c.get(f"/api/v1/alerts/{alert.json()['id']}").json()
        return bool(a["report"]["summary"]["completed"] == 1)

    wait_for(done, 60, "the emergency to play in quiet hours")


def test_a_slot_missed_while_a_node_was_off_plays_late_only_within_the_grace(
    system_factory, speech_wav
):
    sut = system_factory(nodes=4, late_grace_s=20)
    east_late, _, east_too_late, _ = sut.node_ids  # nodes 1 and 3 are in Thôn Đông
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    news = held(sut, speech_wav, "Thời sự")
    slot_start = (datetime.now(LOCAL) + timedelta(seconds=8)).replace(microsecond=0)
    slot = {
        "id": "sang",
        "name": "Bản tin",
        "start": slot_start.time().isoformat(),
        "max_length_s": 60,
        "zones": ["thon-dong"],
    }
    with sut.http() as c:
        assert c.put("/api/v1/programme/slots/sang", json=slot).status_code == 200
        item = c.post(
            "/api/v1/programme/items",
            json={
                "bulletin_id": news["id"],
                "slot_id": "sang",
                "recurrence": {"kind": "once", "start_date": slot_start.date().isoformat()},
            },
        )
        assert item.status_code == 201, item.text
        (airing,) = [
            a
            for a in c.get("/api/v1/programme/airings", params={"days": 1}).json()
            if a["slot_id"] == "sang"
        ]
    wait_for(lambda: datetime.now(LOCAL) > slot_start + timedelta(seconds=5), 30, "air time")
    sut.cluster.start_node(east_late)  # 5 s late: within the 20 s grace
    wait_for(lambda: datetime.now(LOCAL) > slot_start + timedelta(seconds=25), 60, "grace over")
    sut.cluster.start_node(east_too_late)  # beyond it

    def final() -> list[dict[str, Any]] | None:
        with sut.http() as c:
            bulletin = c.get(f"/api/v1/bulletins/{news['id']}/report").json()
        nodes = {n["node_id"]: n for n in bulletin["nodes"]}
        done = nodes[east_late]["status"] == "finished" and nodes[east_too_late]["status"] in (
            "failed",
            "expired",
        )
        return list(nodes.values()) if done else None

    nodes = {n["node_id"]: n for n in wait_for(final, 60, "late play and missed report")}
    assert nodes[east_late]["play_id"] == airing["play_id"]
    assert "missed" in nodes[east_too_late]["reason"] or "offline" in nodes[east_too_late]["reason"]
    assert not (sut.played_dir(east_too_late) / f"{airing['play_id']}.wav").exists()
