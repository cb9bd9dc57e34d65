"""A villager reports a loudspeaker that does not work; the technician sees it and marks it done.

Anyone may report, without an account, so what one sender can do is bounded here: a few plain
choices, a short note, a phone number that looks like one, and at most ``PER_SENDER`` reports an
hour from one address and ``PER_ZONE`` an hour for one village (a flood cannot bury the
technician's list). The sender's address is kept only as a keyed hash, enough to count.

The report form carries a token signed for the village and the address it was served to, valid
for ``FORM_LIFETIME``: a page elsewhere cannot make visitors' browsers post reports here (it
cannot read a token, and one fetched by its own server is bound to that server's address).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controller import audit
from controller.config import ControllerConfig
from controller.errors import ConflictError, DomainError, InvalidInputError, NotFoundError
from controller.models import FaultReport, Node, Zone
from controller.private_files import write_private

# What a villager can tell from the ground (their words are in the UI text, faults.problem.*).
PROBLEMS = ("silent", "noisy", "odd_time", "stuck_on")
UNKNOWN_POINT = "unknown"  # the villager does not know which loudspeaker it is
NOTE_MAX = 300  # characters: a sentence or two
PHONE_MAX = 20
PHONE = re.compile(r"\+?\d{8,15}")  # after spaces, dots and dashes are taken out
PER_SENDER = 5  # reports an hour from one address
PER_ZONE = 20  # reports an hour for one village, from everyone
WINDOW = timedelta(hours=1)
FORM_LIFETIME = timedelta(hours=2)
SECRET_FILE = "keys/public_forms.key"


class TooManyReportsError(DomainError):
    """Over a rate limit: nothing stored; ``retry_after_s`` says when one may be accepted."""

    def __init__(self, en: str, vi: str, retry_after_s: int) -> None:
        super().__init__("faults.rate_limited", en, vi)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Report:
    """What a villager sent, as typed (checked by ``submit``)."""

    zone_code: str
    point: str
    problem: str
    note: str = ""
    phone: str = ""


def secret(config: ControllerConfig) -> bytes:
    """The key that signs the forms and hashes the senders' addresses, made on first use."""
    path = config.data_dir / SECRET_FILE
    if not path.exists():
        write_private(path, secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def sender_key(key: bytes, address: str) -> str:
    return hmac.new(key, f"sender:{address}".encode(), hashlib.sha256).hexdigest()


def form_token(key: bytes, zone_code: str, address: str, at: datetime) -> str:
    issued = str(int(at.timestamp()))
    return f"{issued}.{_signature(key, zone_code, address, issued)}"


def token_valid(key: bytes, token: str, zone_code: str, address: str, at: datetime) -> bool:
    """Whether ``token`` was issued by ``form_token`` for this village and address, at most
    ``FORM_LIFETIME`` ago (and not in the future)."""
    issued, _, signature = token.partition(".")
    if not issued.isdigit() or len(issued) > 12:
        return False
    expected = _signature(key, zone_code, address, issued)
    age = at.timestamp() - int(issued)
    return hmac.compare_digest(signature, expected) and -60 <= age <= FORM_LIFETIME.total_seconds()


def _signature(key: bytes, zone_code: str, address: str, issued: str) -> str:
    message = f"fault-form:{zone_code}:{address}:{issued}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def zone_of(s: Session, zone_code: str) -> Zone:
    zone = s.scalar(select(Zone).where(Zone.code == zone_code))
    if zone is None:
        raise NotFoundError(
            "targets.unknown_zone",
            f"no village with the code {zone_code!r}",
            "Không có thôn này",
            field="zone",
        )
    return zone


def points_of(s: Session, zone: Zone) -> list[tuple[str, str]]:
    """The village's loudspeakers as (id, name), by name: the form's choices."""
    rows = s.execute(select(Node.id, Node.name).where(Node.zone_id == zone.id).order_by(Node.name))
    return [(node_id, name) for node_id, name in rows]


def submit(s: Session, report: Report, sender: str, at: datetime) -> FaultReport:
    """Store ``report`` from ``sender`` (a ``sender_key``); a refusal stores nothing."""
    zone = zone_of(s, report.zone_code)
    node_id = _point(s, zone, report.point)
    problem = report.problem
    if problem not in PROBLEMS:
        raise InvalidInputError(
            "faults.problem", "choose what is wrong", "Hãy chọn loa bị làm sao", field="problem"
        )
    note = " ".join(report.note.split())
    if len(note) > NOTE_MAX:
        raise InvalidInputError(
            "faults.note_long",
            f"the note is longer than {NOTE_MAX} characters",
            f"Ghi chú dài quá {NOTE_MAX} ký tự, hãy viết ngắn lại",
            field="note",
        )
    phone = _phone(report.phone)
    _check_rates(s, zone, sender, at)
    row = FaultReport(
        zone_id=zone.id,
        node_id=node_id,
        problem=problem,
        note=note,
        phone=phone,
        sender=sender,
        created_at=at,
    )
    s.add(row)
    s.flush()
    return row


def _point(s: Session, zone: Zone, point: str) -> str | None:
    if point == UNKNOWN_POINT:
        return None
    if point and any(node_id == point for node_id, _ in points_of(s, zone)):
        return point
    raise InvalidInputError(
        "faults.point",
        "choose a loudspeaker of this village, or that you do not know which",
        "Hãy chọn một loa của thôn, hoặc chọn “Không rõ loa nào”",
        field="point",
    )


def _phone(typed: str) -> str:
    phone = re.sub(r"[\s.\-()]", "", typed)
    if not phone:
        return ""
    if len(typed) > PHONE_MAX * 2 or not PHONE.fullmatch(phone):
        raise InvalidInputError(
            "faults.phone",
            "the phone number is not one (8 to 15 digits), or leave it empty",
            "Số điện thoại không đúng (8 đến 15 chữ số); có thể để trống",
            field="phone",
        )
    return phone


def _check_rates(s: Session, zone: Zone, sender: str, at: datetime) -> None:
    since = at - WINDOW
    recent = select(FaultReport.created_at).where(FaultReport.created_at > since)
    mine = list(s.scalars(recent.where(FaultReport.sender == sender)))
    if len(mine) >= PER_SENDER:
        raise TooManyReportsError(
            f"at most {PER_SENDER} reports an hour from one phone; thank you, we have yours",
            f"Mỗi máy chỉ gửi được {PER_SENDER} báo cáo trong một giờ. Cảm ơn bạn, "
            "chúng tôi đã nhận các báo cáo trước.",
            _retry_after(min(mine), at),
        )
    village = s.scalar(
        select(func.count())
        .select_from(FaultReport)
        .where(FaultReport.zone_id == zone.id, FaultReport.created_at > since)
    )
    if (village or 0) >= PER_ZONE:
        oldest = s.scalar(
            select(func.min(FaultReport.created_at)).where(
                FaultReport.zone_id == zone.id, FaultReport.created_at > since
            )
        )
        raise TooManyReportsError(
            "this village's loudspeakers were reported many times this hour; the technician "
            "has been told",
            "Loa của thôn đã được báo nhiều lần trong giờ này; kỹ thuật viên đã được báo",
            _retry_after(oldest or at, at),
        )


def _retry_after(oldest: datetime, at: datetime) -> int:
    return max(1, int((oldest + WINDOW - at).total_seconds()) + 1)


def open_reports(s: Session, *, node: Node | None = None) -> list[FaultReport]:
    """Reports not yet done, newest first; for ``node``, its own and its village's unsure ones."""
    query = select(FaultReport).where(FaultReport.resolved_at.is_(None))
    if node is not None:
        query = query.where(
            (FaultReport.node_id == node.id)
            | ((FaultReport.node_id.is_(None)) & (FaultReport.zone_id == node.zone_id))
        )
    return list(s.scalars(query.order_by(FaultReport.created_at.desc(), FaultReport.id.desc())))


def open_count(s: Session) -> int:
    query = select(func.count()).select_from(FaultReport).where(FaultReport.resolved_at.is_(None))
    return s.scalar(query) or 0


def resolve(s: Session, report_id: int, actor: str, at: datetime) -> FaultReport:
    """Mark a report done, in the audit log; one already done is a conflict, nothing changes."""
    row = s.get(FaultReport, report_id)
    if row is None:
        raise NotFoundError(
            "faults.unknown", "no such fault report", "Không có báo cáo này", field="report"
        )
    if row.resolved_at is not None:
        raise ConflictError(
            "faults.done",
            f"this report was already marked done by {row.resolved_by}",
            f"Báo cáo này đã được {row.resolved_by} đánh dấu xử lý xong",
        )
    row.resolved_at, row.resolved_by = at, actor
    audit.record(
        s,
        actor,
        "fault.resolve",
        str(row.id),
        zone=row.zone.code,
        node=row.node_id,
        problem=row.problem,
    )
    return row
