"""The emergency page of a sent alert links to its CAP 1.2 document (and its Cancel once it was
stopped) and to the commune's CAP feed; each link answers with what it names."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.auth import create_user
from controller.delivery.dispatcher import Dispatcher
from controller.emergency.cap import parse_cap
from tests.controller.alerting import cancel, propose, send
from tests.controller.commune import Commune
from tests.support.web import PASSWORD

DOCUMENT = re.compile(r'<a href="(/api/v1/cap/alerts/[0-9a-f]+(?:/cancel)?\.xml)"')
FEED = '<a href="/api/v1/cap/alerts.atom" type="application/atom+xml">'


@pytest.fixture
def web(commune: Commune) -> Iterator[TestClient]:
    """The app on the test commune, logged in as an admin."""
    with commune.db.session() as s:
        create_user(s, "quantri", PASSWORD, "admin")
    with TestClient(create_app(commune.config, start_dispatcher=False)) as client:
        form = client.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf
        done = client.post(
            "/login", data={"username": "quantri", "password": PASSWORD, "csrf": csrf[1]}
        )
        assert done.status_code in (200, 303), done.text
        yield client


def test_a_sent_alerts_page_links_to_its_cap_document_and_the_feed(
    commune: Commune, dispatcher: Dispatcher, web: TestClient
) -> None:
    alert_id = send(commune, dispatcher, ["thon-dong"])
    page = web.get(f"/emergency/{alert_id}").text
    assert "bản tin CAP của cảnh báo này" in page
    assert DOCUMENT.findall(page) == [f"/api/v1/cap/alerts/{alert_id}.xml"]
    assert FEED in page
    document = web.get(f"/api/v1/cap/alerts/{alert_id}.xml")
    assert document.status_code == 200
    assert parse_cap(document.content).identifier.endswith(f"/alert/{alert_id}")
    feed = web.get("/api/v1/cap/alerts.atom")
    assert feed.status_code == 200
    assert f"/api/v1/cap/alerts/{alert_id}.xml" in feed.text

    cancel(commune, dispatcher, alert_id, "báo nhầm")
    page = web.get(f"/emergency/{alert_id}").text
    links = DOCUMENT.findall(page)
    assert links == [
        f"/api/v1/cap/alerts/{alert_id}.xml",
        f"/api/v1/cap/alerts/{alert_id}/cancel.xml",
    ]
    cancelled = parse_cap(web.get(links[1]).content)
    assert cancelled.msg_type == "Cancel"


def test_an_alert_not_sent_has_no_cap_links(commune: Commune, web: TestClient) -> None:
    alert_id = propose(commune, ["thon-dong"])
    page = web.get(f"/emergency/{alert_id}").text
    assert web.get(f"/api/v1/cap/alerts/{alert_id}.xml").status_code == 404
    assert not DOCUMENT.findall(page)
    assert FEED not in page
