"""CAP out over HTTP as a poller sees it, without a login: the Atom feed read by feedparser and
by our own CAP feed reader, each document valid CAP 1.2, cheap polling with ETags, and nothing
that was not sent (real app, real SQLite, no broker)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import feedparser
import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.emergency.cap import extract_alerts, parse_cap
from controller.models import Alert
from tests.controller.alerting import TEXT, cancel, propose, send
from tests.controller.commune import Commune
from tests.support.cap import assert_valid_cap

FEED = "/api/v1/cap/alerts.atom"


@pytest.fixture
def client(commune: Commune) -> Iterator[TestClient]:
    """No credentials at all: what a provincial poller or an e-board has."""
    with TestClient(create_app(commune.config, start_dispatcher=False)) as made:
        yield made


def path(url: str) -> str:
    return urlsplit(url).path


def test_the_feed_and_its_documents_need_no_login_and_set_no_cookie(commune, dispatcher, client):
    alert_id = send(commune, dispatcher, ["thon-dong", "thon-tay"])
    cancel(commune, dispatcher, alert_id, "báo nhầm")

    answer = client.get(FEED)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert "set-cookie" not in answer.headers
    assert answer.headers["access-control-allow-origin"] == "*"  # a web e-board elsewhere
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == f"Cảnh báo khẩn cấp – {commune.config.commune_name}"
    assert [e.title for e in feed.entries] == [
        f"Đã hủy: Cảnh báo khẩn cấp – {commune.config.commune_name}",
        f"Cảnh báo khẩn cấp – {commune.config.commune_name}",
    ]
    assert feed.entries[1].summary == TEXT
    kinds = []
    for entry in feed.entries:
        (link,) = entry.links
        assert link.type == "application/cap+xml"
        assert entry.id == link.href
        assert link.href.startswith(commune.config.web_url + "/api/v1/cap/alerts/")
        document = client.get(path(link.href))
        assert document.status_code == 200, document.text
        assert document.headers["content-type"] == "application/cap+xml; charset=utf-8"
        assert "set-cookie" not in document.headers
        assert_valid_cap(document.content)
        kinds.append(parse_cap(document.content).msg_type)
    assert kinds == ["Cancel", "Alert"]


def test_our_own_cap_feed_reader_finds_every_document(commune, dispatcher, client):
    """Another Loa Làng (or any CAP poller following the Atom convention) can poll this feed."""
    ids = [send(commune, dispatcher, ["thon-dong"]) for _ in range(2)]
    answer = client.get(FEED)
    items = extract_alerts(
        answer.content, answer.headers["content-type"], base_url=commune.config.web_url + FEED
    )
    assert items.alerts == []
    base = commune.config.web_url + "/api/v1/cap/alerts/"
    assert items.links == [f"{base}{ids[1]}.xml", f"{base}{ids[0]}.xml"]


def test_a_poller_that_has_the_newest_feed_gets_304_and_no_body(commune, dispatcher, client):
    send(commune, dispatcher, ["thon-dong"])
    first = client.get(FEED)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    assert "last-modified" in first.headers

    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(FEED, headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.content == b""
        assert again.headers["etag"] == etag

    alert_id = send(commune, dispatcher, ["thon-tay"])
    changed = client.get(FEED, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert alert_id in changed.text


def test_if_modified_since_alone_never_hides_an_alert(commune, dispatcher, client):
    """Whole seconds cannot tell two alerts sent in one second apart, so only the ETag says
    "unchanged"."""
    first = send(commune, dispatcher, ["thon-dong"])
    since = client.get(FEED).headers["last-modified"]
    later = send(commune, dispatcher, ["thon-tay"])
    with commune.db.session() as s:  # in the same second as the first, whatever the machine
        sent = s.get_one(Alert, first).sent_at
        assert sent is not None
        s.get_one(Alert, later).sent_at = sent.replace(microsecond=999_999)
    answer = client.get(FEED, headers={"If-Modified-Since": since})
    assert answer.status_code == 200
    assert later in answer.text


def test_a_document_is_cached_by_etag_too(commune, dispatcher, client):
    alert_id = send(commune, dispatcher, ["thon-dong"])
    document = client.get(f"/api/v1/cap/alerts/{alert_id}.xml")
    assert document.headers["cache-control"] == "public, max-age=300"
    again = client.get(
        f"/api/v1/cap/alerts/{alert_id}.xml", headers={"If-None-Match": document.headers["etag"]}
    )
    assert again.status_code == 304


def test_nothing_that_was_not_sent_is_public(commune, dispatcher, client):
    waiting = propose(commune, ["thon-dong"])  # awaiting a second account
    active = send(commune, dispatcher, ["thon-tay"])
    feed = feedparser.parse(client.get(FEED).content)
    assert [e.id.rsplit("/", 1)[-1] for e in feed.entries] == [f"{active}.xml"]
    assert waiting not in client.get(FEED).text
    for url in (
        f"/api/v1/cap/alerts/{waiting}.xml",
        f"/api/v1/cap/alerts/{waiting}/cancel.xml",
        f"/api/v1/cap/alerts/{active}/cancel.xml",  # sent, never cancelled
        "/api/v1/cap/alerts/no-such-alert.xml",
    ):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert "detail" in answer.json()


def test_an_empty_feed_is_still_a_valid_feed(client):
    answer = client.get(FEED)
    feed = feedparser.parse(answer.content)
    assert not feed.bozo
    assert feed.entries == []
    assert "last-modified" not in answer.headers


def test_no_account_name_or_typed_reason_reaches_the_public(commune, dispatcher, client):
    """The web page stops an alert with the reason "stopped by <user name>"; an API caller may
    type anything. The public sees only the alert's own words."""
    alert_id = send(commune, dispatcher, ["thon-dong"])
    cancel(commune, dispatcher, alert_id, "Dừng trên trang web bởi phatthanh: nội bộ")
    published = [client.get(FEED).text]
    published += [
        client.get(f"/api/v1/cap/alerts/{alert_id}{tail}.xml").text for tail in ("", "/cancel")
    ]
    for text in published:
        for secret in ("phatthanh", "admin", "nội bộ"):
            assert secret not in text
    assert TEXT in published[1]
