"""Who gets an alert by SMS: phone numbers subscribed to a village.

A villager subscribes from the public page (number → a code by SMS → the code back), or the
commune enters a number with the villager's consent recorded (who entered it, when, how: a
paper form or verbally). Anyone unsubscribes with the link in each SMS or by answering "HUY"
("TU CHOI"). Numbers are sealed at rest (channels/vault.py); only admins see them whole;
every change is in the audit log, with the number masked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from controller import audit
from controller.emergency.channels import phones
from controller.emergency.channels.sms_text import unaccented
from controller.emergency.channels.vault import Vault
from controller.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    TooManyRequestsError,
)
from controller.models import ChannelMessage, SmsSubscription, SubscribeAttempt, User, Zone, now

CODE_VALID = timedelta(minutes=15)
CODE_TRIES = 5  # wrong codes before the code is void (a new one must be asked for)
WINDOW = timedelta(hours=1)
PER_ADDRESS = 5  # codes asked for from one address in WINDOW
PER_NUMBER = 3  # codes sent to one number in WINDOW: the page cannot be used to pester anyone
CONSENT_METHODS = ("paper", "verbal")
STOP_WORDS = frozenset({"HUY", "TU CHOI", "TUCHOI", "STOP"})


@dataclass(frozen=True)
class Listed:
    id: int
    zone: str
    number: str  # whole for admins, masked for anyone else
    status: str
    consent_method: str
    consent_by: str
    consent_at: str


def zone_by_code(s: Session, zone_code: str) -> Zone:
    zone = s.scalar(select(Zone).where(Zone.code == zone_code))
    if zone is None:
        raise NotFoundError(
            "zone.unknown", f"no village {zone_code!r}", "Không có thôn/xóm này.", field="zone"
        )
    return zone


def find(s: Session, zone: Zone, number_hash: str) -> SmsSubscription | None:
    return s.scalar(
        select(SmsSubscription).where(
            SmsSubscription.zone_id == zone.id, SmsSubscription.number_hash == number_hash
        )
    )


def request_code(
    s: Session, vault: Vault, zone_code: str, raw_number: str, address: str
) -> SmsSubscription:
    """A villager asks to subscribe: a pending subscription and a code queued for SMS."""
    zone = zone_by_code(s, zone_code)
    number = phones.normalise(raw_number)
    lookup = vault.lookup(number)
    since = now() - WINDOW
    recent = select(func.count()).select_from(SubscribeAttempt).where(SubscribeAttempt.at >= since)
    if (s.scalar(recent.where(SubscribeAttempt.address == address)) or 0) >= PER_ADDRESS or (
        s.scalar(recent.where(SubscribeAttempt.number_hash == lookup)) or 0
    ) >= PER_NUMBER:
        raise TooManyRequestsError(
            "subscribe.too_many",
            "too many subscription requests lately; try again in an hour",
            "Đã có quá nhiều yêu cầu đăng ký, vui lòng thử lại sau một giờ.",
        )
    s.add(SubscribeAttempt(address=address, number_hash=lookup))
    row = _not_yet_subscribed(s, zone, lookup, number, vault)
    code = f"{secrets.randbelow(10**6):06d}"
    row.status = "pending"
    row.code_hash = vault.lookup(f"code:{row.number_hash}:{code}")
    row.code_expires_at = now() + CODE_VALID
    row.code_attempts = 0
    s.flush()
    s.add(
        ChannelMessage(
            alert_id=None,
            channel="sms",
            recipient=str(row.id),
            body=f"Ma xac nhan dang ky nhan canh bao {unaccented(zone.name)}: {code}",
        )
    )
    audit.record(
        s, "villager", "subscription.requested", str(row.id), zone=zone.code, number=masked(number)
    )
    return row


def confirm_code(
    s: Session, vault: Vault, zone_code: str, raw_number: str, code: str
) -> SmsSubscription:
    """The code sent by SMS, entered back: the subscription is active (consent by the code);
    a wrong code is counted and the subscription returned still pending."""
    zone = zone_by_code(s, zone_code)
    number = phones.normalise(raw_number)
    row = find(s, zone, vault.lookup(number))
    if row is None or row.status != "pending" or not row.code_hash:
        raise wrong_code()
    expires = row.code_expires_at
    if expires is None or expires < now() or row.code_attempts >= CODE_TRIES:
        raise wrong_code()
    if not secrets.compare_digest(
        vault.lookup(f"code:{row.number_hash}:{code.strip()}"), row.code_hash
    ):
        # returned, not raised: the caller commits the count, then refuses with wrong_code()
        row.code_attempts += 1
        audit.record(s, "villager", "subscription.wrong_code", str(row.id), zone=zone.code)
        return row
    row.status = "active"
    row.code_hash = ""
    row.consent_method, row.consent_by, row.consent_at = "sms-code", "villager", now()
    row.ended_at, row.ended_how = None, ""
    audit.record(
        s, "villager", "subscription.confirmed", str(row.id), zone=zone.code, number=masked(number)
    )
    return row


def wrong_code() -> InvalidInputError:
    return InvalidInputError(
        "subscribe.wrong_code",
        "the code is wrong or has expired; ask for a new one",
        "Mã xác nhận sai hoặc đã hết hạn, vui lòng yêu cầu mã mới.",
        field="code",
    )


def add_with_consent(
    s: Session, vault: Vault, user: User, zone_code: str, raw_number: str, *, method: str
) -> SmsSubscription:
    """The commune enters a number whose owner agreed on paper or verbally."""
    if user.role != "admin":
        raise ForbiddenError(
            "subscription.admin_only",
            "only an admin may enter phone numbers",
            "Chỉ quản trị viên được nhập số điện thoại.",
        )
    if method not in CONSENT_METHODS:
        raise InvalidInputError(
            "subscription.consent",
            "say how the villager agreed: paper (a signed form) or verbal",
            "Cần ghi rõ cách người dân đồng ý: phiếu giấy hoặc bằng lời.",
            field="consent",
        )
    zone = zone_by_code(s, zone_code)
    number = phones.normalise(raw_number)
    lookup = vault.lookup(number)
    row = _not_yet_subscribed(s, zone, lookup, number, vault)
    row.status, row.code_hash, row.ended_at, row.ended_how = "active", "", None, ""
    row.consent_method, row.consent_by, row.consent_at = method, user.username, now()
    s.flush()
    audit.record(
        s,
        user.username,
        "subscription.added",
        str(row.id),
        zone=zone.code,
        number=masked(number),
        consent=method,
    )
    return row


def unsubscribe_token(vault: Vault, subscription_id: int) -> str:
    return f"{subscription_id}-{vault.tag('unsubscribe', str(subscription_id), 12)}"


def end(s: Session, row: SmsSubscription, actor: str, how: str) -> None:
    if row.status == "ended":
        return
    row.status, row.ended_at, row.ended_how, row.code_hash = "ended", now(), how, ""
    for message in s.scalars(
        select(ChannelMessage).where(
            ChannelMessage.channel == "sms",
            ChannelMessage.recipient == str(row.id),
            ChannelMessage.status == "pending",
        )
    ):
        message.status, message.reason = "cancelled", "unsubscribed"
    audit.record(s, actor, "subscription.ended", str(row.id), how=how)


def unsubscribe_by_token(s: Session, vault: Vault, token: str) -> SmsSubscription:
    ident, _, tag = token.partition("-")
    row = s.get(SmsSubscription, int(ident)) if ident.isdigit() else None
    if row is None or not tag or not vault.matches("unsubscribe", ident, tag):
        raise NotFoundError(
            "subscription.unknown_link",
            "this unsubscribe link is not valid",
            "Đường dẫn hủy đăng ký không hợp lệ.",
        )
    end(s, row, "villager", "link")
    return row


def is_stop_word(text: str) -> bool:
    return " ".join(unaccented(text).upper().split()) in STOP_WORDS


def unsubscribe_by_keyword(s: Session, vault: Vault, raw_number: str, text: str) -> int:
    """An SMS answer: "HUY" / "TU CHOI" (any case, with or without accents) ends every
    subscription of the sender's number; returns how many. Anything else is ignored."""
    if not is_stop_word(text):
        return 0
    try:
        number = phones.normalise(raw_number)
    except InvalidInputError:
        return 0
    rows = s.scalars(
        select(SmsSubscription).where(
            SmsSubscription.number_hash == vault.lookup(number), SmsSubscription.status != "ended"
        )
    ).all()
    for row in rows:
        end(s, row, "sms", "keyword")
    return len(rows)


def remove(s: Session, user: User, subscription_id: int) -> None:
    row = s.get(SmsSubscription, subscription_id)
    if row is None:
        raise NotFoundError("subscription.unknown", "no such subscription", "Không có đăng ký này.")
    end(s, row, user.username, "admin")


def listing(s: Session, vault: Vault, viewer: User) -> list[Listed]:
    """Every subscription; the numbers whole for an admin only (and that viewing is audited)."""
    reveal = viewer.role == "admin"
    rows = s.scalars(select(SmsSubscription).order_by(SmsSubscription.id)).all()
    if reveal and rows:
        audit.record(s, viewer.username, "subscription.viewed", "", count=len(rows))
    return [
        Listed(
            id=row.id,
            zone=row.zone.code,
            number=shown(vault.open(row.number_sealed), reveal),
            status=row.status,
            consent_method=row.consent_method,
            consent_by=row.consent_by,
            consent_at=row.consent_at.isoformat() if row.consent_at else "",
        )
        for row in rows
    ]


def shown(number: str, reveal: bool) -> str:
    return number if reveal else masked(number)


def masked(number: str) -> str:
    return phones.masked(number)


def prune(s: Session) -> None:
    """Forget public subscription requests once they no longer count towards a limit."""
    s.execute(delete(SubscribeAttempt).where(SubscribeAttempt.at < now() - WINDOW))


def _not_yet_subscribed(
    s: Session, zone: Zone, lookup: str, number: str, vault: Vault
) -> SmsSubscription:
    """The number's row for ``zone`` (made if new); a number already active there is refused."""
    row = find(s, zone, lookup)
    if row is not None and row.status == "active":
        raise ConflictError(
            "subscribe.already",
            "this number already receives this village's alerts",
            "Số này đã đăng ký nhận cảnh báo của thôn/xóm này.",
            field="phone",
        )
    if row is None:
        row = SmsSubscription(zone_id=zone.id, number_hash=lookup, number_sealed=vault.seal(number))
        s.add(row)
    return row
