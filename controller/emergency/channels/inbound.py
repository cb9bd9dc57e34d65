"""SMS answers from villagers: "HUY" / "TU CHOI" ends the sender's subscriptions. They arrive
from the HTTP gateway's inbound call (``POST /api/v1/sms/inbound``) or from the modem, whose
received messages the SMS worker reads."""

from __future__ import annotations

import logging

from controller.db import Database
from controller.emergency import subscriptions
from controller.emergency.channels.modem import ModemSms
from controller.emergency.channels.vault import Vault

log = logging.getLogger(__name__)


def handle(db: Database, vault: Vault, number: str, text: str) -> int:
    """Returns how many subscriptions the message ended (0 for anything but a stop word)."""
    with db.session() as s:
        return subscriptions.unsubscribe_by_keyword(s, vault, number, text)


def poll_modem(db: Database, vault: Vault, modem: ModemSms) -> int:
    ended = 0
    for message in modem.received():
        ended += handle(db, vault, message.number, message.text)
    if ended:
        log.info("SMS: %d subscriptions ended by keyword", ended)
    return ended
