"""Subscriptions through the real app (TestClient, real SQLite) and a local SMS gateway: the
public subscribe flow with its SMS code, consent entered by the commune, unsubscribe by link
and by keyword, who sees numbers, and the audit log."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from controller.api.app import create_app
from controller.auth import create_user
from controller.channel_settings import ChannelSettings, HttpGateway, SmsSettings
from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery.publisher import MemoryPublisher
from controller.emergency import subscriptions
from controller.emergency.channels import outbox
from controller.emergency.channels.vault import load_vault
from controller.emergency.channels.worker import senders
from controller.models import AuditEntry, ChannelMessage, SmsSubscription
from controller.nodes import broker
from controller.ops import demo
from tests.support.recorder import Recorder, recorder

PASSWORD = "mat-khau-thu-nghiem"
SECRET = "inbound-secret-1"


@dataclass
class App:
    client: TestClient
    config: ControllerConfig
    db: Database
    gateway: Recorder

    def deliver_sms(self) -> list[str]:
        """Run the SMS channel once; the texts the gateway received in this run."""
        before = len(self.gateway.received)
        with httpx.Client(timeout=2) as client:
            sender = senders(self.config.channels, client, MemoryPublisher())["sms"]
            outbox.process_due(
                self.db,
                self.config.channels,
                load_vault(self.config.data_dir),
                "sms",
                sender,
                rng=random.Random(0),
            )
        return [r.json()["text"] for r in self.gateway.received[before:]]

    def log_in(self, username: str) -> str:
        """Logs the client in; returns the session's CSRF token for forms."""
        form = self.client.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf
        done = self.client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf": csrf[1]}
        )
        assert done.status_code in (200, 303), done.text
        page = self.client.get("/admin/subscriptions").text
        token = re.search(r'name="csrf" value="([^"]+)"', page) or re.search(
            r'name="csrf-token" content="([^"]+)"', page
        )
        assert token
        return token[1]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with recorder() as gateway:
        cluster = demo.prepare(tmp_path, nodes=2, http_port=broker.free_port(), mqtt_port=1)
        channels = ChannelSettings(
            sms=SmsSettings(
                provider="http", http=HttpGateway(url=gateway.url, inbound_secret=SECRET)
            )
        )
        config = cluster.config.model_copy(update={"channels": channels})
        db = Database(config.db_url)
        with db.session() as s:
            create_user(s, "quantri", PASSWORD, "admin")
            create_user(s, "phatthanh2", PASSWORD, "broadcaster")
        with TestClient(create_app(config, start_dispatcher=False)) as client:
            yield App(client, config, db, gateway)
        db.engine.dispose()


def rows(app: App) -> list[SmsSubscription]:
    with app.db.session() as s:
        found = s.scalars(select(SmsSubscription).order_by(SmsSubscription.id)).all()
        s.expunge_all()
        return list(found)


def audit_actions(app: App) -> list[str]:
    with app.db.session() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_villager_subscribes_with_the_code_sent_by_sms(app):
    page = app.client.get("/listen/thon-dong/subscribe")
    assert page.status_code == 200
    assert "Thôn Đông" in page.text
    assert "set-cookie" not in page.headers
    asked = app.client.post("/listen/thon-dong/subscribe", data={"phone": "0912 345 678"})
    assert asked.status_code == 200
    assert "set-cookie" not in asked.headers
    assert 'name="code"' in asked.text
    (sms,) = app.deliver_sms()
    code = re.search(r"(\d{6})$", sms)
    assert code
    assert "Thon Dong" in sms
    (gateway_call,) = app.gateway.received
    assert gateway_call.json()["to"] == "84912345678"
    with app.db.session() as s:  # the code does not stay in the database once sent
        assert s.scalars(select(ChannelMessage.body)).one() == ""
    wrong = "000000" if code[1] != "000000" else "111111"
    refused = app.client.post(
        "/listen/thon-dong/subscribe", data={"phone": "+84912345678", "code": wrong}
    )
    assert refused.status_code == 422
    assert "Mã xác nhận sai" in refused.text
    done = app.client.post(
        "/listen/thon-dong/subscribe", data={"phone": "84 912 345 678", "code": code[1]}
    )
    assert done.status_code == 200
    assert "Đã đăng ký" in done.text
    (row,) = rows(app)
    assert (row.status, row.consent_method, row.consent_by) == ("active", "sms-code", "villager")
    assert row.code_attempts == 1
    assert audit_actions(app)[-3:] == [
        "subscription.requested",
        "subscription.wrong_code",
        "subscription.confirmed",
    ]


def test_a_bad_number_is_refused_and_nothing_is_stored(app):
    answer = app.client.post("/listen/thon-dong/subscribe", data={"phone": "0212345678"})
    assert answer.status_code == 422
    assert "Số điện thoại không hợp lệ" in answer.text
    assert rows(app) == []
    assert app.client.get("/listen/khong-co/subscribe").status_code == 404


def test_codes_stop_after_five_tries(app):
    app.client.post("/listen/thon-dong/subscribe", data={"phone": "0912345678"})
    for _ in range(subscriptions.CODE_TRIES):
        app.client.post("/listen/thon-dong/subscribe", data={"phone": "0912345678", "code": "x"})
    (sms,) = app.deliver_sms()
    late = app.client.post(
        "/listen/thon-dong/subscribe", data={"phone": "0912345678", "code": sms[-6:]}
    )
    assert late.status_code == 422
    assert rows(app)[0].status == "pending"


def test_the_page_cannot_be_used_to_pester_a_number_or_from_one_address(app):
    for _ in range(subscriptions.PER_NUMBER):
        assert (
            app.client.post("/listen/thon-dong/subscribe", data={"phone": "0912345678"}).status_code
            == 200
        )
    again = app.client.post("/listen/thon-tay/subscribe", data={"phone": "0912345678"})
    assert again.status_code == 429
    assert "quá nhiều" in again.text
    others = [f"09876543{i:02d}" for i in range(subscriptions.PER_ADDRESS)]
    statuses = [
        app.client.post("/listen/thon-dong/subscribe", data={"phone": n}).status_code
        for n in others
    ]
    assert statuses[-1] == 429  # PER_ADDRESS reached, counting the three above
    assert len(app.deliver_sms()) == subscriptions.PER_ADDRESS  # refused ones sent nothing


def test_the_commune_enters_a_number_with_consent_and_only_admins_see_it(app):
    csrf = app.log_in("quantri")
    no_consent = app.client.post(
        "/admin/subscriptions", data={"zone": "thon-dong", "phone": "0912345678", "csrf": csrf}
    )
    assert no_consent.status_code == 422
    assert rows(app) == []
    added = app.client.post(
        "/admin/subscriptions",
        data={"zone": "thon-dong", "phone": "0912345678", "consent": "paper", "csrf": csrf},
    )
    assert added.status_code == 200  # followed the redirect to the list
    assert "+84912345678" in added.text
    (row,) = rows(app)
    assert (row.status, row.consent_method, row.consent_by) == ("active", "paper", "quantri")
    assert row.consent_at is not None
    twice = app.client.post(
        "/admin/subscriptions",
        data={"zone": "thon-dong", "phone": "+84 912 345 678", "consent": "verbal", "csrf": csrf},
    )
    assert twice.status_code == 422
    assert "đã đăng ký" in twice.text
    app.client.cookies.clear()
    csrf = app.log_in("phatthanh2")
    listed = app.client.get("/admin/subscriptions").text
    assert "+84912345678" not in listed
    assert "+8491*****78" in listed
    refused = app.client.post(
        "/admin/subscriptions",
        data={"zone": "thon-tay", "phone": "0987654321", "consent": "paper", "csrf": csrf},
    )
    assert refused.status_code == 403
    assert len(rows(app)) == 1
    assert "subscription.added" in audit_actions(app)
    with app.db.session() as s:
        details = [str(e.detail) for e in s.scalars(select(AuditEntry))]
    assert not any("912345678" in d for d in details)  # the audit log keeps it masked


def test_the_link_in_an_sms_unsubscribes_after_asking(app):
    vault = load_vault(app.config.data_dir)
    with app.db.session() as s:
        admin = create_user(s, "admin2", PASSWORD, "admin")
        sub = subscriptions.add_with_consent(
            s, vault, admin, "thon-dong", "0912345678", method="verbal"
        )
        token = subscriptions.unsubscribe_token(vault, sub.id)
    asked = app.client.get(f"/listen/unsubscribe/{token}")
    assert asked.status_code == 200
    assert rows(app)[0].status == "active"  # a link preview changes nothing
    done = app.client.post(f"/listen/unsubscribe/{token}")
    assert "Đã huỷ đăng ký" in done.text
    assert (rows(app)[0].status, rows(app)[0].ended_how) == ("ended", "link")
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert app.client.post(f"/listen/unsubscribe/{forged}").status_code == 404
    assert app.client.post("/listen/unsubscribe/99-abc").status_code == 404


def test_huy_by_sms_through_the_gateway_ends_every_subscription_of_the_number(app):
    vault = load_vault(app.config.data_dir)
    with app.db.session() as s:
        admin = create_user(s, "admin2", PASSWORD, "admin")
        for zone in ("thon-dong", "thon-tay"):
            subscriptions.add_with_consent(s, vault, admin, zone, "0912345678", method="paper")
        subscriptions.add_with_consent(s, vault, admin, "thon-dong", "0987654321", method="paper")
    url = "/api/v1/sms/inbound"
    assert app.client.post(url, data={"from": "84912345678", "text": "HUY"}).status_code == 403
    other = app.client.post(f"{url}?secret={SECRET}", json={"phone": "0912345678", "text": "ok"})
    assert other.json() == {"ended": 0}
    ended = app.client.post(
        f"{url}?secret={SECRET}", data={"from": "84912345678", "message": " từ  chối "}
    )
    assert ended.json() == {"ended": 2}
    assert [r.status for r in rows(app)] == ["ended", "ended", "active"]
    assert {r.ended_how for r in rows(app)[:2]} == {"keyword"}


def test_the_alert_page_and_the_api_show_each_channel(app):
    from controller.nodes.keys import load_or_create_key
    from tests.controller.commune import Commune
    from tests.controller.emergency.test_alerts import propose

    token = demo.credentials(app.config)["api_token"]  # also the demo's accounts
    commune = Commune(app.config, app.db, load_or_create_key(app.config.key_file))
    alert_id = propose(commune, ["thon-dong"])
    with app.db.session() as s:
        for channel, status, reason in [
            ("sms", "sent", ""),
            ("sms", "failed", "HTTP 401: wrong key"),
            ("zalo", "pending", "no answer from openapi.zalo.me in time"),
            ("board", "sent", ""),
        ]:
            s.add(
                ChannelMessage(
                    alert_id=alert_id,
                    channel=channel,
                    recipient="x",
                    body="b",
                    status=status,
                    reason=reason,
                    parts=2,
                )
            )
    app.log_in("quantri")
    page = app.client.get(f"/emergency/{alert_id}").text
    assert "Các kênh khác" in page
    sms_row = re.search(r'<tr data-channel="sms">(.*?)</tr>', page, re.S)
    assert sms_row
    assert re.search(r'class="sent">1/2', sms_row[1])
    assert re.search(r'class="failed">1<', sms_row[1])
    assert "1 × HTTP 401: wrong key" in page
    assert "1 × no answer from openapi.zalo.me in time" in page
    api = app.client.get(
        f"/api/v1/alerts/{alert_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    by = {c["channel"]: c for c in api["channels"]}
    assert (by["sms"]["sent"], by["sms"]["failed"], by["sms"]["sms_parts"]) == (1, 1, 2)
    assert (by["zalo"]["pending"], by["board"]["sent"]) == (1, 1)


def test_an_inbound_call_without_a_sender_or_with_a_json_list_is_refused(app):
    url = f"/api/v1/sms/inbound?secret={SECRET}"
    assert app.client.post(url, data={"text": "HUY"}).status_code == 422
    assert app.client.post(url, json=["HUY"]).status_code == 422
    assert (
        app.client.post("/api/v1/sms/inbound?secret=wrong", data={"from": "1"}).status_code == 403
    )
