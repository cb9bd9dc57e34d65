"""Relays in the database: make, change, remove, list, each checked and audited.

Input arrives as a :class:`schedules.RelayItem` (the pure model checks its shape); here the URL
passes the guard (controller/relay/url.py) and the zones and points must exist. A refusal
changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.broadcast.targets import resolve_targets
from controller.config import ControllerConfig
from controller.errors import ForbiddenError, InvalidInputError, NotFoundError
from controller.models import Relay, RelayRun, User
from controller.permissions import may
from controller.relay.url import Resolver, check_url, resolve
from schedules import LOCAL, RelayItem, first_clash


def parse(data: dict[str, object]) -> RelayItem:
    try:
        return RelayItem.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "relay"
        raise InvalidInputError(
            "relay.invalid",
            f"{where}: {first['msg']}",
            f"Thông tin tiếp âm chưa đúng ({where}): {first['msg']}",
            field=where,
        ) from None


def _allowed(user: User) -> None:
    if not may(user.role, "relay"):
        raise ForbiddenError(
            "relay.forbidden",
            f"a {user.role} account may not schedule a relay",
            "Tài khoản của bạn không được đặt lịch tiếp âm",
        )


def _check(s: Session, config: ControllerConfig, item: RelayItem, resolver: Resolver) -> None:
    check_url(item.url, config.relay_allowed_hosts, resolver)
    _no_clash(s, item, set(resolve_targets(s, False, item.zones, item.nodes)))


def _no_clash(s: Session, item: RelayItem, points: set[str]) -> None:
    """Refuse a relay whose window meets another relay's on a point they share, from now on:
    a point plays one station at a time, and the second would be refused on the air."""
    for row in all_relays(s):
        if row.id == item.id:
            continue
        other = to_item(row)
        try:
            theirs = set(resolve_targets(s, False, other.zones, other.nodes))
        except InvalidInputError:  # its villages were removed since: it airs nowhere
            continue
        if not points & theirs:
            continue
        clash = first_clash(item, other, datetime.now(UTC))
        if clash is None:
            continue
        window = clash[1]
        start, end = window.start.astimezone(LOCAL), window.end.astimezone(LOCAL)
        hours, day = f"{start:%H:%M}–{end:%H:%M}", f"{start:%d/%m/%Y}"
        raise InvalidInputError(
            "relay.overlap",
            f"this window overlaps the relay {other.title!r} ({hours} on {day}) on the same points",
            f"Trùng giờ với tiếp âm «{other.title}» ({hours} ngày {day}) ở cùng cụm loa: "
            "mỗi cụm loa chỉ tiếp âm một đài một lúc",
            field="start",
        )


def to_item(row: Relay) -> RelayItem:
    return RelayItem.model_validate(
        {
            "id": row.id,
            "title": row.title,
            "url": row.url,
            "duration_s": row.duration_s,
            "recurrence": row.recurrence,
            "zones": row.zones,
            "nodes": row.nodes,
        }
    )


def save(
    s: Session,
    config: ControllerConfig,
    user: User,
    item: RelayItem,
    *,
    new: bool,
    resolver: Resolver = resolve,
) -> Relay:
    """Make (``new``) or change the relay ``item.id``."""
    _allowed(user)
    row = s.get(Relay, item.id)
    if new and row is not None:
        raise InvalidInputError(
            "relay.exists", f"a relay {item.id} exists already", "Mã tiếp âm này đã có", field="id"
        )
    if not new and row is None:
        raise NotFoundError("relay.unknown", f"no relay {item.id}", "Không có lịch tiếp âm này")
    _check(s, config, item, resolver)
    if row is None:
        row = Relay(id=item.id, created_by=user.id)
        s.add(row)
    row.title, row.url, row.duration_s = item.title, item.url, item.duration_s
    row.recurrence = item.recurrence.model_dump(mode="json")
    row.zones, row.nodes = list(item.zones), list(item.nodes)
    row.updated_at = datetime.now(UTC)
    s.flush()
    audit.record(
        s,
        user.username,
        "relay.add" if new else "relay.change",
        item.id,
        title=item.title,
        url=item.url,
        recurrence=row.recurrence,
        duration_s=item.duration_s,
        zones=item.zones,
        nodes=item.nodes,
    )
    return row


def remove(s: Session, user: User, relay_id: str) -> None:
    _allowed(user)
    row = s.get(Relay, relay_id)
    if row is None:
        raise NotFoundError("relay.unknown", f"no relay {relay_id}", "Không có lịch tiếp âm này")
    s.delete(row)
    audit.record(s, user.username, "relay.remove", relay_id, title=row.title, url=row.url)


def all_relays(s: Session) -> list[Relay]:
    return list(s.scalars(select(Relay).order_by(Relay.title)))


def runs(s: Session, relay_id: str, limit: int = 50) -> list[RelayRun]:
    return list(
        s.scalars(
            select(RelayRun)
            .where(RelayRun.relay_id == relay_id)
            .order_by(RelayRun.window_start.desc())
            .limit(limit)
        )
    )
