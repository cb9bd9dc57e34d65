"""An alert's messages on every channel: one row each, queued in the alert's own transaction
and sent after its commit by the channel worker, so the loudspeakers never wait on a channel.

A message is tried until it is sent, fails for good (an answer that another try would not
change, or ``max_attempts`` tries) or is cancelled (its alert cancelled, its number
unsubscribed). Each outcome stays on its row: the alert's report counts them.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.channel_settings import ChannelSettings
from controller.db import Database
from controller.emergency import subscriptions
from controller.emergency.channels import boards, sms_text, zalo
from controller.emergency.channels.outcome import Outcome, delay_s
from controller.emergency.channels.vault import Vault
from controller.models import Alert, ChannelMessage, Commune, Node, SmsSubscription, Zone, now

log = logging.getLogger(__name__)
CHANNELS = ("sms", "zalo", "board")


class Sender(Protocol):
    def deliver(self, address: str, text: str) -> Outcome: ...


def target_zones(s: Session, alert: Alert) -> list[Zone]:
    query = select(Zone).join(Node, Node.zone_id == Zone.id).where(Node.id.in_(alert.targets))
    return list(s.scalars(query.distinct().order_by(Zone.code)))


def enqueue(s: Session, settings: ChannelSettings, vault: Vault, alert: Alert, web_url: str) -> int:
    """Queue ``alert`` on every configured channel; returns the messages queued."""
    zones = target_zones(s, alert)
    rows: list[ChannelMessage] = []
    text = alert.text.strip() or alert.bulletin.title
    if settings.sms is not None:
        sms = settings.sms
        seen: set[str] = set()  # a number subscribed in two targeted villages gets one SMS
        query = select(SmsSubscription).where(
            SmsSubscription.zone_id.in_([z.id for z in zones]), SmsSubscription.status == "active"
        )
        for sub in s.scalars(query.order_by(SmsSubscription.id)):
            if sub.number_hash in seen:
                continue
            seen.add(sub.number_hash)
            token = subscriptions.unsubscribe_token(vault, sub.id)
            body, cut = sms_text.fit(
                sms.prefix + text,
                sms.max_parts,
                accents=sms.accents,
                suffix=f"\nHuy: {web_url}/listen/unsubscribe/{token}",
            )
            parts = len(sms_text.split(body).parts)
            row = ChannelMessage(
                channel="sms", recipient=str(sub.id), body=body, parts=parts, shortened=cut
            )
            rows.append(row)
    if settings.zalo is not None:
        message = f"{alert.bulletin.title}\n{text}" if alert.text.strip() else text
        cut = len(message) > zalo.MAX_TEXT
        message = message[: zalo.MAX_TEXT - 1] + "…" if cut else message
        rows += [
            ChannelMessage(channel="zalo", recipient=user_id, body=message, shortened=cut)
            for user_id in settings.zalo.user_ids
        ]
    if settings.boards is not None:
        commune = s.scalar(select(Commune.name).order_by(Commune.id)) or ""
        document = boards.board_document(
            alert, commune, [{"code": z.code, "name": z.name} for z in zones]
        )
        body = json.dumps(document, ensure_ascii=False)
        addresses = [*settings.boards.urls, *(["mqtt"] if settings.boards.mqtt else [])]
        rows += [ChannelMessage(channel="board", recipient=a, body=body) for a in addresses]
    for row in rows:
        row.alert_id = alert.id
        s.add(row)
    return len(rows)


def cancel_pending(s: Session, alert_id: str) -> None:
    """The alert was cancelled: what has not gone yet never goes."""
    for row in s.scalars(
        select(ChannelMessage).where(
            ChannelMessage.alert_id == alert_id, ChannelMessage.status == "pending"
        )
    ):
        row.status, row.reason = "cancelled", "alert cancelled"


def address_of(s: Session, vault: Vault, row: ChannelMessage) -> str | None:
    """Where the message goes; None if its SMS subscription has ended meanwhile."""
    if row.channel != "sms":
        return row.recipient
    sub = s.get(SmsSubscription, int(row.recipient))
    if sub is None or (sub.status == "ended" and row.alert_id is not None):
        return None
    return vault.open(sub.number_sealed)


def process_due(
    db: Database,
    settings: ChannelSettings,
    vault: Vault,
    channel: str,
    sender: Sender,
    *,
    at: datetime | None = None,
    rng: random.Random | None = None,
    limit: int = 50,
) -> int:
    """Try every message of ``channel`` due at ``at`` (now); returns how many were tried."""
    moment = at or now()
    with db.session() as s:
        due = s.scalars(
            select(ChannelMessage)
            .where(
                ChannelMessage.channel == channel,
                ChannelMessage.status == "pending",
                ChannelMessage.due_at <= moment,
            )
            .order_by(ChannelMessage.due_at, ChannelMessage.id)
            .limit(limit)
        ).all()
        work = [(row.id, address_of(s, vault, row), row.body) for row in due]
    for message_id, address, body in work:
        # sent outside any transaction: a slow provider must not hold the database
        outcome = (
            Outcome(ok=False, reason="unsubscribed")
            if address is None
            else safely(sender, address, body)
        )
        with db.session() as s:
            settle(s.get_one(ChannelMessage, message_id), outcome, settings, moment, rng)
    return len(work)


def safely(sender: Sender, address: str, body: str) -> Outcome:
    try:
        return sender.deliver(address, body)
    except Exception as exc:  # a channel's bug is that message's failure, not the worker's end
        log.exception("channel sender failed")
        return Outcome(ok=False, reason=f"internal error: {exc.__class__.__name__}")


def settle(
    row: ChannelMessage,
    outcome: Outcome,
    settings: ChannelSettings,
    at: datetime,
    rng: random.Random | None,
) -> None:
    if row.status != "pending":  # cancelled while it was being sent: the send is on record
        if outcome.ok:
            row.reason += "; sent before the cancel reached it"
        return
    row.attempts += 1
    retry = settings.retry
    if outcome.ok:
        row.status, row.sent_at, row.reason = "sent", now(), ""
    elif outcome.retryable and row.attempts < retry.max_attempts:
        row.reason = outcome.reason
        row.due_at = at + timedelta(seconds=delay_s(row.attempts, retry, outcome, rng))
    else:
        row.status = "failed" if outcome.reason != "unsubscribed" else "cancelled"
        tries = f" (after {row.attempts} tries)" if row.attempts > 1 else ""
        row.reason = outcome.reason + tries
    if row.alert_id is None and row.status != "pending":
        row.body = ""  # a confirmation code is not kept once it has gone (or cannot)
