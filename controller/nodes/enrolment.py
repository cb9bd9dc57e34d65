"""One-time enrolment codes: a new Pi fetches its bundle with a code instead of a USB stick.

A code is issued by ``loa node provision ... --enrol``, read off a screen or a phone, and typed
on the Pi (``loa node enrol``). It is valid for 24 hours and once; only its sha256 is stored
(it carries 78 random bits, so a fast hash does not make guessing cheaper than the rate limit
below). Refused attempts are counted per source address and overall, and past either limit every
attempt is refused until the window has passed, so a code cannot be guessed from the internet in
its lifetime. The code is spent in the same transaction that records the enrolment, and only once
the bundle (with the node's new broker password) has been made.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from controller import audit
from controller.config import ControllerConfig
from controller.db import Database
from controller.errors import ForbiddenError
from controller.models import EnrolmentCode, EnrolmentFailure, Node, now
from controller.nodes.bundle import Bundle, BundleOptions, make
from controller.nodes.provision import ProvisionError

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L or U/V pairs to misread
GROUPS, GROUP_LENGTH = 4, 4  # XXXX-XXXX-XXXX-XXXX: 16 characters, about 78 bits
VALID_FOR = timedelta(hours=24)
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 10
MAX_FAILURES_OVERALL = 100  # many addresses guessing at once (a botnet) are stopped too


@dataclass(frozen=True)
class Issued:
    node_id: str
    code: str
    expires_at: datetime


class CodeRefusedError(ForbiddenError):
    """The code is unknown, expired or already used; nothing was changed."""


@dataclass(frozen=True)
class ThrottledError(Exception):
    """Too many refused attempts lately: ``retry_after_s`` seconds to wait."""

    retry_after_s: int


def new_code() -> str:
    chars = [secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH)]
    return "-".join(
        "".join(chars[i : i + GROUP_LENGTH]) for i in range(0, len(chars), GROUP_LENGTH)
    )


def digest(code: str) -> str:
    """The stored form of ``code``: case, spaces and dashes do not matter when typed."""
    typed = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(typed.encode()).hexdigest()


def issue(
    config: ControllerConfig, node_id: str, options: BundleOptions, *, issued_by: str
) -> Issued:
    """A new code for ``node_id``; an earlier code of the node not yet used lapses now, so only
    the newest one handed out works."""
    code = new_code()
    at = now()
    db = Database(config.db_url)
    try:
        with db.session() as s:
            if s.get(Node, node_id) is None:
                raise ProvisionError(f"unknown node {node_id!r}")
            s.execute(
                update(EnrolmentCode)
                .where(EnrolmentCode.node_id == node_id, EnrolmentCode.used_at.is_(None))
                .where(EnrolmentCode.expires_at > at)
                .values(expires_at=at)
            )
            s.add(
                EnrolmentCode(
                    code_sha256=digest(code),
                    node_id=node_id,
                    options=options.dump(),
                    issued_by=issued_by[:64],
                    created_at=at,
                    expires_at=at + VALID_FOR,
                )
            )
            audit.record(s, issued_by[:64], "enrol.code_issued", node_id)
    finally:
        db.engine.dispose()
    return Issued(node_id, code, at + VALID_FOR)


def retry_after(s: Session, address: str) -> int:
    """Seconds until ``address`` may try again (0: now)."""
    since = now() - WINDOW
    recent = select(EnrolmentFailure).where(EnrolmentFailure.at >= since)
    waits: list[datetime] = []
    for query, limit in (
        (recent.where(EnrolmentFailure.address == address), MAX_FAILURES_PER_ADDRESS),
        (recent, MAX_FAILURES_OVERALL),
    ):
        count = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        if count >= limit:
            # the oldest failure that still counts towards the limit leaves the window first
            nth = s.scalar(
                query.with_only_columns(EnrolmentFailure.at)
                .order_by(EnrolmentFailure.at.desc())
                .offset(limit - 1)
                .limit(1)
            )
            if nth is not None:
                waits.append(nth + WINDOW)
    if not waits:
        return 0
    return max(1, int((max(waits) - now()).total_seconds()) + 1)


def redeem(config: ControllerConfig, db: Database, code: str, address: str) -> Bundle:
    """The bundle for a valid ``code`` from ``address``, which spends the code; refusals raise
    ``ThrottledError`` or ``CodeRefusedError`` and are counted and audited."""
    address = address[:64]
    refusal: Exception
    with db.session() as s:
        if wait := retry_after(s, address):
            audit.record(s, "enrol", "enrol.throttled", "", address=address)
            refusal = ThrottledError(wait)
        else:
            at = now()
            row = s.get(EnrolmentCode, digest(code))
            refused = _refusal(row, at)
            if refused is None and row is not None and _spend(s, row, at, address):
                options = BundleOptions.load(row.options)
                bundle = make(config, row.node_id, options, list(s.scalars(select(Node.id))))
                audit.record(s, "enrol", "node.enrolled", row.node_id, address=address)
                return bundle
            refusal = refused or _used()
            s.add(EnrolmentFailure(address=address, at=at))
            audit.record(s, "enrol", "enrol.refused", "", address=address, reason=refusal.code)
    raise refusal


def _spend(s: Session, row: EnrolmentCode, at: datetime, address: str) -> bool:
    """Mark ``row`` used unless another request did meanwhile. Done before the bundle is made,
    so a second request with the same code finds it spent; an error after rolls it back."""
    spent = s.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.code_sha256 == row.code_sha256, EnrolmentCode.used_at.is_(None))
        .values(used_at=at, used_from=address)
        .execution_options(synchronize_session=False)
    )
    return getattr(spent, "rowcount", 0) == 1


def prune(s: Session) -> None:
    """Housekeeping: forget failures that no longer count."""
    s.execute(delete(EnrolmentFailure).where(EnrolmentFailure.at < now() - WINDOW))


def _refusal(row: EnrolmentCode | None, at: datetime) -> CodeRefusedError | None:
    if row is None:
        return CodeRefusedError(
            "enrol.unknown_code",
            "unknown enrolment code: check it, or issue a new one with `loa node provision "
            "NODE_ID --enrol`",
            "Mã đăng ký không đúng: kiểm tra lại, hoặc tạo mã mới",
        )
    if row.used_at is not None:
        return _used()
    if row.expires_at <= at:
        return CodeRefusedError(
            "enrol.expired_code",
            f"this enrolment code expired at {row.expires_at:%Y-%m-%d %H:%M} UTC: issue a new one",
            "Mã đăng ký đã hết hạn: tạo mã mới",
        )
    return None


def _used() -> CodeRefusedError:
    return CodeRefusedError(
        "enrol.used_code",
        "this enrolment code was already used: issue a new one to enrol another Pi",
        "Mã đăng ký đã được dùng: tạo mã mới",
    )
