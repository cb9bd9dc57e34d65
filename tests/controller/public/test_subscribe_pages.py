"""The subscribe pages as the other villager pages: linked from the village page (only where SMS
can be sent), linking back, in the language asked for, no cookie, and a post from another site
refused with nothing queued."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from controller.api.app import create_app
from controller.channel_settings import ChannelSettings, HttpGateway, SmsSettings
from controller.models import ChannelMessage, SmsSubscription
from tests.controller.commune import Commune

SMS = ChannelSettings(sms=SmsSettings(provider="http", http=HttpGateway(url="http://127.0.0.1:9")))


def client_for(commune: Commune, channels: ChannelSettings) -> Iterator[TestClient]:
    config = commune.config.model_copy(update={"channels": channels})
    with TestClient(create_app(config, start_dispatcher=False), follow_redirects=False) as made:
        yield made


@pytest.fixture
def client(commune: Commune) -> Iterator[TestClient]:
    yield from client_for(commune, SMS)


@pytest.fixture
def without_sms(commune: Commune) -> Iterator[TestClient]:
    yield from client_for(commune, ChannelSettings())


def queued(commune: Commune) -> tuple[int, int]:
    with commune.db.session() as s:
        messages = s.scalar(select(func.count()).select_from(ChannelMessage)) or 0
        rows = s.scalar(select(func.count()).select_from(SmsSubscription)) or 0
    return messages, rows


def test_the_village_page_links_to_subscribe_and_report_and_they_link_back(client):
    village = client.get("/listen/thon-dong").text
    assert '<a class="report" href="/listen/thon-dong/subscribe">Nhận tin cảnh báo qua SMS</a>' in (
        village
    )
    assert 'href="/listen/thon-dong/report"' in village
    commune_page = client.get("/listen").text
    assert 'href="/listen/thon-dong"' in commune_page
    for path in ("/listen/thon-dong/subscribe", "/listen/thon-dong/report"):
        assert 'href="/listen/thon-dong"' in client.get(path).text, path
    english = client.get("/listen/thon-dong?lang=en").text
    assert 'href="/listen/thon-dong/subscribe?lang=en">Get alerts by SMS</a>' in english
    assert (
        'href="/listen/thon-dong?lang=en"' in client.get("/listen/thon-dong/subscribe?lang=en").text
    )


def test_no_subscribe_link_where_no_sms_can_be_sent(without_sms):
    village = without_sms.get("/listen/thon-dong").text
    assert "/subscribe" not in village
    assert 'href="/listen/thon-dong/report"' in village


def test_the_language_chosen_stays_through_the_post_and_no_cookie_is_set(client, commune):
    page = client.get("/listen/thon-dong/subscribe?lang=en")
    assert 'name="lang" value="en"' in page.text
    asked = client.post("/listen/thon-dong/subscribe", data={"phone": "0912345678", "lang": "en"})
    assert asked.status_code == 200
    assert "Confirmation code" in asked.text
    assert '<html lang="en">' in asked.text
    bad = client.post("/listen/thon-dong/subscribe", data={"phone": "12", "lang": "en"})
    assert bad.status_code == 422
    assert '<html lang="en">' in bad.text
    for answer in (page, asked, bad):
        assert "set-cookie" not in answer.headers
    assert queued(commune) == (1, 1)


def test_a_post_from_another_site_is_refused_and_sends_nothing(client, commune):
    answer = client.post(
        "/listen/thon-dong/subscribe",
        data={"phone": "0912345678"},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert "Phải đăng ký từ trang của xã" in answer.text
    assert 'href="/listen/thon-dong"' in answer.text
    assert queued(commune) == (0, 0)
    same_site = client.post(
        "/listen/thon-dong/subscribe",
        data={"phone": "0912345678"},
        headers={"Origin": "http://testserver"},
    )
    assert same_site.status_code == 200
    assert queued(commune) == (1, 1)


def test_an_unknown_village_or_link_is_a_plain_public_404(client):
    for answer in (
        client.get("/listen/khong-co/subscribe"),
        client.post("/listen/khong-co/subscribe", data={"phone": "0912345678"}),
        client.post("/listen/unsubscribe/99-abc"),
    ):
        assert answer.status_code == 404
        assert "set-cookie" not in answer.headers
        assert re.search(r'<a href="/listen">', answer.text)
