"""CAP posted by a person is an alert like any other: the same roles, the same two-person rule,
and the audit log names that person (real app, real SQLite, speech by espeak-ng)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from controller.api.app import create_app
from controller.auth import issue_token
from controller.emergency import cap_ingest
from controller.models import AuditEntry, OutboxCommand, User
from tests.controller.commune import Commune
from tests.support.cap import alert_xml, info_xml

FEED = "https://pctt.example.vn/cap.xml"
# A box around both demo villages (Thôn Đông and Thôn Tây).
BOTH = "21.00,105.840 21.00,105.870 21.05,105.870 21.05,105.840 21.00,105.840"


def flood(identifier: str) -> bytes:
    area = f"<area><areaDesc>xã</areaDesc><polygon>{BOTH}</polygon></area>"
    info = info_xml(severity="Extreme", urgency="Immediate", area=area, expires=None)
    return alert_xml(identifier=identifier, sent="2026-11-23T14:00:00+07:00", infos=(info,))


def token(commune: Commune, username: str) -> dict[str, str]:
    with commune.db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        return {"Authorization": f"Bearer {issue_token(s, user)}"}


def plays(commune: Commune) -> int:
    with commune.db.session() as s:
        query = select(OutboxCommand).where(OutboxCommand.play_id.is_not(None))
        return len(s.scalars(query).all())


def actors(commune: Commune, action: str) -> list[str]:
    with commune.db.session() as s:
        return list(s.scalars(select(AuditEntry.actor).where(AuditEntry.action == action)))


@pytest.fixture
def two_person(commune: Commune) -> Iterator[TestClient]:
    commune.config = commune.config.model_copy(update={"two_person_rule": True})
    with TestClient(create_app(commune.config, start_dispatcher=False)) as client:
        yield client


def post(client: TestClient, xml: bytes, headers: dict[str, str]) -> dict[str, object]:
    resp = client.post(
        "/api/v1/cap", content=xml, headers={**headers, "Content-Type": "application/xml"}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_cap_from_a_broadcaster_waits_for_a_second_account(commune, two_person):
    broadcaster = token(commune, "phatthanh")
    outcome = post(two_person, flood("VN-1"), broadcaster)
    assert outcome["action"] == "air"
    alert_id = outcome["alert_id"]
    assert two_person.get(f"/api/v1/alerts/{alert_id}", headers=broadcaster).json()["state"] == (
        "proposed"
    )
    assert plays(commune) == 0  # nothing aired
    assert actors(commune, "alert.propose") == ["phatthanh"]
    assert actors(commune, "cap.receive") == ["phatthanh"]

    own = two_person.post(f"/api/v1/alerts/{alert_id}/confirm", headers=broadcaster)
    assert own.status_code == 403
    assert plays(commune) == 0

    confirmed = two_person.post(
        f"/api/v1/alerts/{alert_id}/confirm", headers=token(commune, "pheduyet")
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "active"
    assert confirmed.json()["proposed_by"] == "phatthanh"
    assert confirmed.json()["confirmed_by"] == "pheduyet"
    assert plays(commune) == len(commune.nodes_in("thon-dong", "thon-tay"))


def test_an_account_without_the_emergency_permission_raises_nothing(commune, two_person):
    with commune.db.session() as s:  # an account whose role the table does not know
        s.add(User(username="khach", password_hash="!", role="guest"))
    guest = token(commune, "khach")
    resp = two_person.post(
        "/api/v1/cap", content=flood("VN-2"), headers={**guest, "Content-Type": "application/xml"}
    )
    assert resp.status_code == 403
    admin = token(commune, "admin")
    assert two_person.get("/api/v1/cap", headers=admin).json() == []
    alert = two_person.post("/api/v1/alerts", data={"text": "Lũ", "all": "true"}, headers=guest)
    assert alert.status_code == 403
    assert two_person.get("/api/v1/alerts", headers=admin).json() == []
    assert plays(commune) == 0


def test_a_configured_feed_airs_at_once_as_its_own_system_identity(commune, dispatcher):
    config = commune.config.model_copy(update={"two_person_rule": True})
    with commune.db.session() as s:
        outcome = cap_ingest.ingest(s, config, dispatcher, flood("VN-3"), poster=None, source=FEED)
    assert outcome.action == "air"
    assert plays(commune) == len(commune.nodes_in("thon-dong", "thon-tay"))
    assert actors(commune, "alert.send") == [cap_ingest.CAP_USER]
    assert actors(commune, "cap.receive") == [cap_ingest.CAP_USER]


@pytest.mark.parametrize("withdrawn", [False, True])
def test_a_copy_posted_first_does_not_silence_the_feed(commune, two_person, dispatcher, withdrawn):
    """An account that posts the feed's next alert first (and then withdraws it) must not turn
    the feed's own copy into a duplicate that never airs."""
    broadcaster = token(commune, "phatthanh")
    copy = post(two_person, flood("VN-4"), broadcaster)["alert_id"]
    if withdrawn:
        cancel = two_person.post(f"/api/v1/alerts/{copy}/cancel", headers=broadcaster)
        assert cancel.status_code == 200, cancel.text
    with commune.db.session() as s:
        outcome = cap_ingest.ingest(
            s, commune.config, dispatcher, flood("VN-4"), poster=None, source=FEED
        )
    assert not outcome.duplicate
    assert outcome.alert_id not in (None, copy)
    states = {
        a["id"]: a["state"] for a in two_person.get("/api/v1/alerts", headers=broadcaster).json()
    }
    assert states == {copy: "cancelled" if withdrawn else "superseded", outcome.alert_id: "active"}
    assert plays(commune) == len(commune.nodes_in("thon-dong", "thon-tay"))
    again = post(two_person, flood("VN-4"), broadcaster)  # the feed's copy is the one kept
    assert again["duplicate"] is True
    assert again["alert_id"] == outcome.alert_id


def test_a_cancel_after_the_feeds_copy_stops_the_feeds_alert(commune, two_person, dispatcher):
    post(two_person, flood("VN-6"), token(commune, "phatthanh"))
    with commune.db.session() as s:
        cap_ingest.ingest(s, commune.config, dispatcher, flood("VN-6"), poster=None, source=FEED)
        cancel = alert_xml(
            identifier="VN-6-huy",
            msg_type="Cancel",
            references="pctt@thuathienhue.gov.vn,VN-6,2026-11-23T14:00:00+07:00",
            infos=(),
        )
        cap_ingest.ingest(s, commune.config, dispatcher, cancel, poster=None, source=FEED)
    admin = token(commune, "admin")
    states = sorted(a["state"] for a in two_person.get("/api/v1/alerts", headers=admin).json())
    assert states == ["cancelled", "superseded"]
