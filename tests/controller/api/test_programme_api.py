"""The programme API uses the same checks as the web pages: an overlapping slot, quiet hours that
would silence a slot, a slot still holding items are each a 409 that names the field and
changes nothing; a placed item can be changed in place. Real app, real SQLite, no broker."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.controller.api.test_api_input import tone_wav

MORNING = {
    "id": "sang",
    "name": "Bản tin sáng",
    "start": "06:00",
    "max_length_s": 1800,
    "zones": ["thon-dong", "thon-tay"],
}


def refused(resp: Any, field: str) -> str:
    assert resp.status_code == 409, resp.text
    (conflict,) = resp.json()["conflicts"]
    assert conflict["field"] == field
    return str(conflict["message_vi"])


def test_slots_and_quiet_hours_are_checked_and_items_changed_in_place(api):
    client: TestClient = api[0]
    assert client.put("/api/v1/programme/slots/sang", json=MORNING).status_code == 200
    before = client.get("/api/v1/programme").json()
    clash = {**MORNING, "id": "moi", "name": "Mới", "start": "06:20", "zones": ["thon-tay"]}
    assert "Bản tin sáng" in refused(client.put("/api/v1/programme/slots/moi", json=clash), "start")
    quiet = {"start": "21:00", "end": "06:10"}
    assert "cắt vào" in refused(client.put("/api/v1/programme/quiet-hours", json=quiet), "quiet")
    assert client.get("/api/v1/programme").json() == before

    held = client.post(
        "/api/v1/bulletins", files={"file": ("a.wav", tone_wav())}, data={"hold": "true"}
    ).json()
    item = {
        "bulletin_id": held["id"],
        "slot_id": "sang",
        "recurrence": {"kind": "daily", "start_date": "2026-12-07"},
    }
    placed = client.post("/api/v1/programme/items", json=item)
    assert placed.status_code == 201, placed.text
    item_id = placed.json()["id"]
    assert "còn 1 tin" in refused(client.delete("/api/v1/programme/slots/sang"), "slot")

    weekly = {**item, "recurrence": {"kind": "weekly", "start_date": "2026-12-07", "weekdays": [0]}}
    changed = client.put(f"/api/v1/programme/items/{item_id}", json=weekly)
    assert changed.status_code == 200, changed.text
    (stored,) = client.get("/api/v1/programme").json()["items"]
    assert (stored["id"], stored["recurrence"]["kind"]) == (item_id, "weekly")
    assert client.put("/api/v1/programme/items/nothing", json=weekly).status_code == 404

    assert client.delete(f"/api/v1/programme/items/{item_id}").status_code == 200
    assert client.delete("/api/v1/programme/slots/sang").status_code == 200
    assert client.get("/api/v1/programme").json()["slots"] == []
    assert client.delete("/api/v1/programme/slots/sang").status_code == 404
