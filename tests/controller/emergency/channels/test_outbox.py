"""An alert on every channel, through the outbox, against local servers: what each received,
retries, final failures and the report inside the alert's report."""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from controller.channel_settings import (
    BoardSettings,
    ChannelSettings,
    HttpGateway,
    RetrySettings,
    SmsSettings,
    ZaloSettings,
)
from controller.delivery.dispatcher import Dispatcher
from controller.delivery.publisher import MemoryPublisher
from controller.emergency import alerts, subscriptions
from controller.emergency.channels import outbox
from controller.emergency.channels.report import channel_report
from controller.emergency.channels.vault import load_vault
from controller.emergency.channels.worker import senders
from controller.models import Alert, ChannelMessage, OutboxCommand, SmsSubscription, User, now
from tests.controller.emergency.test_alerts import propose
from tests.support.recorder import Answer, Received, recorder

GATEWAY_OK = Answer(body='{"code": "00"}')


def settings_for(url: str, **retry: float) -> ChannelSettings:
    return ChannelSettings(
        sms=SmsSettings(
            provider="http",
            http=HttpGateway(url=url + "/sms", success_field="code", success_value="00"),
            prefix="[Xa Mau] ",
        ),
        zalo=ZaloSettings(access_token="t", base_url=url + "/zalo", user_ids=["z1", "z2"]),
        boards=BoardSettings(urls=[url + "/board"], mqtt=True),
        retry=RetrySettings(**retry),
    )


def subscribe(commune, zone: str, number: str) -> int:
    vault = load_vault(commune.config.data_dir)
    with commune.db.session() as s:
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        return subscriptions.add_with_consent(s, vault, admin, zone, number, method="paper").id


def send_alert(commune, settings: ChannelSettings, zones: list[str]) -> tuple[str, MemoryPublisher]:
    config = commune.config.model_copy(update={"channels": settings})
    publisher = MemoryPublisher()
    dispatcher = Dispatcher(config, commune.db, commune.key, publisher=publisher)
    alert_id = propose(commune, zones)
    with commune.db.session() as s:
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        alerts.activate(s, dispatcher, admin, s.get_one(Alert, alert_id))
    return alert_id, publisher


def run_all(commune, settings, publisher, *, at=None) -> None:
    vault = load_vault(commune.config.data_dir)
    with httpx.Client(timeout=2) as client:
        for channel, sender in senders(settings, client, publisher).items():
            outbox.process_due(
                commune.db, settings, vault, channel, sender, at=at, rng=random.Random(0)
            )


def report(commune, alert_id: str) -> dict[str, dict[str, Any]]:
    with commune.db.session() as s:
        return {r.channel: r.model_dump() for r in channel_report(s, alert_id)}


def test_an_alert_reaches_every_channel_and_the_report_shows_each(commune):
    dong = subscribe(commune, "thon-dong", "0912345678")
    subscribe(commune, "thon-bac", "0912345678")  # one number in two villages: one SMS
    subscribe(commune, "thon-bac", "0987654321")
    subscribe(commune, "thon-tay", "0977000111")  # not targeted
    with recorder() as server:
        server.default = GATEWAY_OK
        settings = settings_for(server.url)
        alert_id, publisher = send_alert(commune, settings, ["thon-dong", "thon-bac"])
        with commune.db.session() as s:  # loudspeakers queued in the same commit, before any
            assert s.scalars(select(OutboxCommand)).all()
            assert {m.status for m in s.scalars(select(ChannelMessage))} == {"pending"}
        server.answers = []
        run_all(commune, settings, publisher)
    by_path: dict[str, list[Received]] = {}
    for got in server.received:
        by_path.setdefault(got.path, []).append(got)
    sms = by_path["/sms"]
    assert sorted(r.json()["to"] for r in sms) == ["84912345678", "84987654321"]
    vault = load_vault(commune.config.data_dir)
    token = subscriptions.unsubscribe_token(vault, dong)
    first = next(r.json()["text"] for r in sms if r.json()["to"] == "84912345678")
    assert first.startswith("[Xa Mau] Bão số 5")
    assert first.endswith(f"/listen/unsubscribe/{token}")
    assert [r.json()["recipient"]["user_id"] for r in by_path["/zalo/v3.0/oa/message/cs"]] == [
        "z1",
        "z2",
    ]
    (board,) = by_path["/board"]
    document = board.json()
    assert document["type"] == "alert"
    assert document["id"] == alert_id
    assert [z["code"] for z in document["zones"]] == ["thon-bac", "thon-dong"]
    assert document["text"].startswith("Bão số 5")
    (mqtt,) = [p for p in publisher.sent if p.topic == "loa/v1/boards/alert"]
    assert mqtt.payload == board.body.decode()
    counts = report(commune, alert_id)
    assert counts["sms"] | {"reasons": []} == {
        "channel": "sms",
        "total": 2,
        "sent": 2,
        "failed": 0,
        "pending": 0,
        "cancelled": 0,
        "sms_parts": 4,  # UCS-2 with the unsubscribe line: two parts each
        "shortened": 0,
        "reasons": [],
    }
    assert (counts["zalo"]["sent"], counts["board"]["sent"], counts["board"]["total"]) == (2, 2, 2)


def test_a_failing_channel_is_retried_with_back_off_then_reported_failed(commune):
    subscribe(commune, "thon-dong", "0912345678")
    with recorder() as server:
        settings = settings_for(server.url, max_attempts=3, base_delay_s=10, max_delay_s=100)
        settings = settings.model_copy(update={"zalo": None, "boards": None})
        alert_id, publisher = send_alert(commune, settings, ["thon-dong"])
        server.default = Answer(503, "maintenance")
        start = now()
        run_all(commune, settings, publisher, at=start)
        pending = report(commune, alert_id)["sms"]
        assert (pending["pending"], pending["reasons"]) == (
            1,
            [{"reason": "HTTP 503: maintenance", "count": 1}],
        )
        with commune.db.session() as s:
            row = s.scalars(select(ChannelMessage)).one()
            wait = (row.due_at - start).total_seconds()
        assert 5 <= wait <= 10  # the first wait: base_delay_s with jitter
        run_all(commune, settings, publisher, at=start + timedelta(seconds=1))
        assert len(server.received) == 1  # not due yet: not tried again
        run_all(commune, settings, publisher, at=start + timedelta(seconds=11))
        run_all(commune, settings, publisher, at=start + timedelta(seconds=40))
        assert len(server.received) == 3
        run_all(commune, settings, publisher, at=start + timedelta(hours=1))
        assert len(server.received) == 3  # bounded: max_attempts
    failed = report(commune, alert_id)["sms"]
    assert (failed["failed"], failed["pending"]) == (1, 0)
    assert failed["reasons"] == [{"reason": "HTTP 503: maintenance (after 3 tries)", "count": 1}]


def test_a_rate_limited_channel_waits_as_long_as_the_server_asks(commune):
    with recorder() as server:
        settings = settings_for(server.url).model_copy(update={"sms": None, "boards": None})
        settings.zalo.user_ids[:] = ["z1"]  # type: ignore[union-attr]
        alert_id, publisher = send_alert(commune, settings, ["thon-dong"])
        server.answers = [Answer(429, "", {"Retry-After": "120"})]
        server.default = Answer(body='{"error": 0}')
        start = now()
        run_all(commune, settings, publisher, at=start)
        run_all(commune, settings, publisher, at=start + timedelta(seconds=119))
        assert len(server.received) == 1
        run_all(commune, settings, publisher, at=start + timedelta(seconds=121))
    assert len(server.received) == 2
    assert report(commune, alert_id)["zalo"]["sent"] == 1


def test_a_final_refusal_is_not_retried(commune):
    subscribe(commune, "thon-dong", "0912345678")
    with recorder() as server:
        settings = settings_for(server.url).model_copy(update={"zalo": None, "boards": None})
        alert_id, publisher = send_alert(commune, settings, ["thon-dong"])
        server.default = Answer(401, "wrong api key")
        run_all(commune, settings, publisher)
        run_all(commune, settings, publisher, at=now() + timedelta(hours=1))
    assert len(server.received) == 1
    assert report(commune, alert_id)["sms"]["reasons"] == [
        {"reason": "HTTP 401: wrong api key", "count": 1}
    ]


def test_cancelling_the_alert_cancels_what_has_not_gone(commune, dispatcher):
    subscribe(commune, "thon-dong", "0912345678")
    with recorder() as server:
        settings = settings_for(server.url)
        alert_id, publisher = send_alert(commune, settings, ["thon-dong"])
        with commune.db.session() as s:
            admin = s.scalars(select(User).where(User.username == "admin")).one()
            alerts.cancel(s, dispatcher, admin, s.get_one(Alert, alert_id), "báo nhầm")
        run_all(commune, settings, publisher)
    assert server.received == []
    assert {r["channel"]: r["cancelled"] for r in report(commune, alert_id).values()} == {
        "sms": 1,
        "zalo": 2,
        "board": 2,
    }


def test_a_number_unsubscribed_before_its_turn_gets_nothing(commune):
    sub = subscribe(commune, "thon-dong", "0912345678")
    with recorder() as server:
        settings = settings_for(server.url).model_copy(update={"zalo": None, "boards": None})
        alert_id, publisher = send_alert(commune, settings, ["thon-dong"])
        vault = load_vault(commune.config.data_dir)
        with commune.db.session() as s:
            subscriptions.unsubscribe_by_token(
                s, vault, subscriptions.unsubscribe_token(vault, sub)
            )
        run_all(commune, settings, publisher)
    assert server.received == []
    assert report(commune, alert_id)["sms"]["cancelled"] == 1


def test_unaccented_sms_fits_one_part(commune):
    subscribe(commune, "thon-dong", "0912345678")
    with recorder() as server:
        settings = settings_for(server.url).model_copy(update={"zalo": None, "boards": None})
        settings.sms.accents = False  # type: ignore[union-attr]
        alert_id, publisher = send_alert(commune, settings, ["thon-dong"])
        server.default = GATEWAY_OK
        run_all(commune, settings, publisher)
    text = server.received[0].json()["text"]
    assert text.startswith("[Xa Mau] Bao so 5 do bo, de nghi ba con vao noi tru an an toan")
    assert report(commune, alert_id)["sms"]["sms_parts"] == 1


def test_no_channel_configured_queues_nothing(commune):
    subscribe(commune, "thon-dong", "0912345678")
    alert_id, _publisher = send_alert(commune, ChannelSettings(), ["thon-dong"])
    assert report(commune, alert_id) == {}


@pytest.mark.parametrize("number", ["0912345678"])
def test_the_numbers_digits_are_not_in_the_database_file(commune, number):
    subscribe(commune, "thon-dong", number)
    with recorder() as server:
        settings = settings_for(server.url)
        server.default = GATEWAY_OK
        alert_id, publisher = send_alert(commune, settings, ["thon-dong"])
        run_all(commune, settings, publisher)
    assert report(commune, alert_id)["sms"]["sent"] == 1
    commune.db.engine.dispose()
    path = commune.config.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:  # fold the WAL in, then read every byte
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = open(path, "rb").read()  # noqa: SIM115 -- read once
    for digits in ("912345678", "84912345678", "0912345678", "912 345 678"):
        assert digits.encode() not in raw
        assert digits.encode("utf-16-le") not in raw


def test_huy_received_by_the_modem_ends_the_subscription(commune, tmp_path):
    from controller.channel_settings import ModemSettings
    from controller.emergency.channels import inbound
    from controller.emergency.channels.modem import ModemSms
    from tests.controller.emergency.channels.test_senders import fake_mmcli

    subscribe(commune, "thon-dong", "0912345678")
    kept = subscribe(commune, "thon-tay", "0987654321")
    script, _log = fake_mmcli(tmp_path)  # it holds "Huy" from +84912345678
    modem = ModemSms(ModemSettings(mmcli=str(script)), 5)
    assert inbound.poll_modem(commune.db, load_vault(commune.config.data_dir), modem) == 1
    with commune.db.session() as s:
        statuses = {row.id: row.status for row in s.scalars(select(SmsSubscription))}
    assert statuses[kept] == "active"
    assert sorted(statuses.values()) == ["active", "ended"]


def test_an_alert_too_long_for_the_sms_limit_is_cut_and_the_report_says_so(commune):
    subscribe(commune, "thon-dong", "0912345678")
    with recorder() as server:
        settings = settings_for(server.url).model_copy(update={"zalo": None, "boards": None})
        settings.sms.max_parts = 1  # type: ignore[union-attr]
        alert_id, publisher = send_alert(commune, settings, ["thon-dong"])
        server.default = GATEWAY_OK
        run_all(commune, settings, publisher)
    text = server.received[0].json()["text"]
    assert "…\nHuy: " in text  # cut at a word, the unsubscribe line kept
    counts = report(commune, alert_id)["sms"]
    assert (counts["sent"], counts["shortened"], counts["sms_parts"]) == (1, 1, 1)


def test_old_subscription_requests_are_forgotten(commune):
    from controller.models import SubscribeAttempt

    with commune.db.session() as s:
        s.add(SubscribeAttempt(address="a", number_hash="h", at=now() - timedelta(hours=2)))
        s.add(SubscribeAttempt(address="b", number_hash="h"))
    with commune.db.session() as s:
        subscriptions.prune(s)
    with commune.db.session() as s:
        assert list(s.scalars(select(SubscribeAttempt.address))) == ["b"]
