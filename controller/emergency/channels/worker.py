"""The channel worker: one thread per configured channel, so a provider that hangs delays only
its own messages, never another channel's and never the loudspeakers (whose commands are
queued before any of this runs)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx

from controller.channel_settings import ChannelSettings
from controller.db import Database
from controller.delivery.outbox import wake_on_commit
from controller.delivery.publisher import Publisher
from controller.emergency.channels import inbound, outbox
from controller.emergency.channels.boards import HttpBoard, MqttBoard
from controller.emergency.channels.modem import ModemSms
from controller.emergency.channels.outcome import Outcome
from controller.emergency.channels.sms_gateway import GatewaySms
from controller.emergency.channels.vault import Vault
from controller.emergency.channels.zalo import ZaloOa
from controller.models import ChannelMessage

log = logging.getLogger(__name__)
POLL_S = 1.0  # the fallback: how soon a queued message goes if no commit woke the worker
MODEM_INBOX_S = 30.0  # how often the modem's received messages are read (HUY answers)


class Boards:
    """A board is a URL (HTTP POST) or "mqtt" (the boards' topic)."""

    def __init__(self, http: HttpBoard, mqtt: MqttBoard) -> None:
        self.http = http
        self.mqtt = mqtt

    def deliver(self, address: str, text: str) -> Outcome:
        return (self.mqtt if address == "mqtt" else self.http).deliver(address, text)


def senders(
    settings: ChannelSettings, client: httpx.Client, publisher: Publisher
) -> dict[str, outbox.Sender]:
    """A sender for each configured channel."""
    made: dict[str, outbox.Sender] = {}
    if (sms := settings.sms) is not None:
        if sms.provider == "http" and sms.http is not None:
            made["sms"] = GatewaySms(sms.http, client)
        else:
            made["sms"] = ModemSms(sms.modem, settings.retry.timeout_s)
    if settings.zalo is not None:
        made["zalo"] = ZaloOa(settings.zalo, client)
    if settings.boards is not None:
        made["board"] = Boards(HttpBoard(settings.boards.headers, client), MqttBoard(publisher))
    return made


class ChannelWorker:
    def __init__(
        self, settings: ChannelSettings, db: Database, vault: Vault, publisher: Publisher
    ) -> None:
        self.settings = settings
        self.db = db
        self.vault = vault
        self.client = httpx.Client(timeout=settings.retry.timeout_s)
        self.senders = senders(settings, self.client, publisher)
        self._stop = threading.Event()
        # one per channel: a thread that clears its own cannot eat another channel's wake
        self._wakes = {channel: threading.Event() for channel in self.senders}
        self._threads: list[threading.Thread] = []
        self._unhook: Callable[[], None] | None = None

    def listen(self) -> None:
        """Wake every channel after each commit that queued a message (an alert's, or a
        subscription's confirmation), so it leaves at once; the poll stays as the fallback."""
        if self._unhook is None:
            self._unhook = wake_on_commit(self.db.sessions, self.wake, (ChannelMessage,))

    def woken(self, channel: str) -> bool:
        """Whether ``channel`` has a wake its thread has not taken yet (for tests)."""
        return self._wakes[channel].is_set()

    def start(self) -> None:
        self.listen()
        for channel, sender in self.senders.items():
            thread = threading.Thread(
                target=self._run, args=(channel, sender), name=f"channel-{channel}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        if self._unhook is not None:
            self._unhook()
            self._unhook = None
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout=self.settings.retry.timeout_s + 5)
        self.client.close()

    def wake(self) -> None:
        for wake in self._wakes.values():
            wake.set()

    def _run(self, channel: str, sender: outbox.Sender) -> None:
        inbox_read = 0.0
        while not self._stop.is_set():
            if isinstance(sender, ModemSms) and time.monotonic() - inbox_read > MODEM_INBOX_S:
                inbox_read = time.monotonic()
                try:
                    inbound.poll_modem(self.db, self.vault, sender)
                except Exception:
                    log.exception("SMS: reading the modem's messages failed")
            try:
                tried = outbox.process_due(self.db, self.settings, self.vault, channel, sender)
            except Exception:  # the database was busy or gone for a moment: try again later
                log.exception("channel %s: pass failed", channel)
                tried = 0
            if not tried:
                self._wakes[channel].wait(POLL_S)
                self._wakes[channel].clear()
