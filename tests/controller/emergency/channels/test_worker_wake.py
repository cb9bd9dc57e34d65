"""The channel worker is woken by the commit that queues an alert's messages, so an SMS leaves
at once; the one-second poll is only the fallback."""

from __future__ import annotations

from sqlalchemy import select

from controller.delivery.publisher import MemoryPublisher
from controller.emergency.channels import worker as channel_worker
from controller.emergency.channels.vault import load_vault
from controller.emergency.channels.worker import ChannelWorker
from controller.models import ChannelMessage, Node
from tests.controller.emergency.channels.test_outbox import (
    GATEWAY_OK,
    send_alert,
    settings_for,
    subscribe,
)
from tests.support import wait_for
from tests.support.recorder import recorder


def test_the_commit_that_queues_an_alerts_messages_wakes_every_channel(commune):
    subscribe(commune, "thon-dong", "0912345678")
    settings = settings_for("http://127.0.0.1:9")  # never reached: nothing is started
    worker = ChannelWorker(
        settings, commune.db, load_vault(commune.config.data_dir), MemoryPublisher()
    )
    worker.listen()
    try:
        with commune.db.session() as s:  # reading, or changing other rows, is no reason
            s.scalars(select(ChannelMessage)).all()
            s.scalars(select(Node).limit(1)).one().volume = 30
        assert not any(worker.woken(c) for c in ("sms", "zalo", "board"))

        send_alert(commune, settings, ["thon-dong"])
        assert all(worker.woken(c) for c in ("sms", "zalo", "board"))
    finally:
        worker.stop()


def test_a_started_worker_sends_the_sms_on_commit_not_on_its_poll(commune, monkeypatch):
    """The poll is stretched to an hour: only the commit's wake can send it before that."""
    monkeypatch.setattr(channel_worker, "POLL_S", 3600.0)
    subscribe(commune, "thon-dong", "0912345678")
    with recorder() as gateway:
        gateway.default = GATEWAY_OK
        settings = settings_for(gateway.url).model_copy(update={"zalo": None, "boards": None})
        vault = load_vault(commune.config.data_dir)
        worker = ChannelWorker(settings, commune.db, vault, MemoryPublisher())
        worker.start()
        try:
            with commune.db.session() as s:  # the worker's first pass found nothing to send
                assert not s.scalars(select(ChannelMessage)).all()
            send_alert(commune, settings, ["thon-dong"])
            wait_for(lambda: gateway.received, 10, "the SMS at the gateway")
        finally:
            worker.stop()
    (sms,) = gateway.received
    assert sms.json()["to"] == "84912345678"


def test_a_stopped_worker_is_no_longer_woken(commune):
    subscribe(commune, "thon-dong", "0912345678")
    settings = settings_for("http://127.0.0.1:9")
    worker = ChannelWorker(
        settings, commune.db, load_vault(commune.config.data_dir), MemoryPublisher()
    )
    worker.listen()
    worker.stop()
    for channel in ("sms", "zalo", "board"):
        worker._wakes[channel].clear()
    send_alert(commune, settings, ["thon-dong"])
    assert not any(worker.woken(c) for c in ("sms", "zalo", "board"))
