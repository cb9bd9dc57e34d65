"""Which version each point should run, the signed update commands that say so, and how the
rollout is going.

A rollout takes the path of every command: the account's permission (admin only), the audit
log, and a signed command per point in the durable outbox (re-sent until the point answers).
It is refused while an emergency alert is active: a restart must never cut one, and the
operators have other things to do then. Points report how it ended (``UpdateEvent``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.delivery import outbox
from controller.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from controller.models import Alert, Node, NodeUpdate, OutboxCommand, Release, User, Zone, now
from controller.permissions import may
from controller.releases.wheels import release_ref
from protocol.messages import CommandAck, UpdateCommand, UpdateEvent

# A point offline for days still gets its update when it is back (the signed maximum is 7 days).
UPDATE_TTL = timedelta(days=3)
FAILED = ("failed", "rolled_back")


def start_rollout(
    s: Session, key: Ed25519PrivateKey, user: User, version: str, node_ids: Sequence[str]
) -> list[str]:
    """Tell ``node_ids`` to run ``version``; returns the points told (those already on it are
    recorded as updated and not told)."""
    if not may(user.role, "admin"):
        raise ForbiddenError(
            "release.admin_only",
            f"only an admin may roll out a release, not {user.username} ({user.role})",
            f"Chỉ quản trị viên được cập nhật phần mềm, {user.username} ({user.role}) thì không",
        )
    release = s.get(Release, version)
    if release is None:
        raise NotFoundError(
            "release.unknown",
            f"no release {version}: add its wheel first (loa release add)",
            f"Không có bản {version}: hãy thêm tệp wheel trước (loa release add)",
        )
    active = s.scalar(select(Alert.id).where(Alert.state == "active", Alert.expires_at > now()))
    if active is not None:
        raise ConflictError(
            "release.emergency",
            f"emergency alert {active} is active: start the rollout once it is over",
            f"Đang có cảnh báo khẩn cấp {active}: hãy cập nhật khi cảnh báo kết thúc",
        )
    if not node_ids:
        raise InvalidInputError(
            "release.no_targets",
            "name the points to update (--all, --zone or --node)",
            "Hãy chọn điểm loa cần cập nhật",
            field="targets",
        )
    nodes = [_node(s, node_id) for node_id in dict.fromkeys(node_ids)]
    command = UpdateCommand(release=release_ref(release))
    told = []
    for node in nodes:
        _withdraw_older(s, node.id)
        row = s.get(NodeUpdate, node.id) or NodeUpdate(node_id=node.id)
        s.add(row)
        row.version, row.reason, row.updated_at = version, "", now()
        if node.agent_version == version:
            row.status, row.command_id = "updated", ""
            continue
        body = outbox.queue_command(
            s, key, command, node.id, play_id=None, expires_at=now() + UPDATE_TTL
        )
        row.status, row.command_id = "pending", body.command_id
        told.append(node.id)
    audit.record(s, user.username, "release.rollout", version, nodes=[n.id for n in nodes])
    return told


def target_nodes(
    s: Session, *, every: bool, zones: Sequence[str], nodes: Sequence[str]
) -> list[str]:
    """The points a rollout names: all of them, those of ``zones`` (codes), and ``nodes``."""
    if every:
        return list(s.scalars(select(Node.id).order_by(Node.id)))
    found = list(nodes)
    for code in zones:
        zone = s.scalar(select(Zone).where(Zone.code == code))
        if zone is None:
            raise NotFoundError(
                "release.unknown_zone", f"no zone {code}", f"Không có thôn/xóm {code}"
            )
        found += s.scalars(select(Node.id).where(Node.zone_id == zone.id).order_by(Node.id))
    return found


def take_ack(s: Session, ack: CommandAck) -> None:
    """A point refused its update command (bad signature, updates off): the rollout failed
    there, with its words."""
    if ack.accepted:
        return
    row = s.get(NodeUpdate, ack.node_id)
    if row is not None and row.command_id == ack.command_id:
        row.status, row.reason, row.updated_at = "failed", ack.reason, now()


def take_event(s: Session, event: UpdateEvent) -> None:
    row = s.get(NodeUpdate, event.node_id)
    if row is None or row.version != event.version:
        return  # an outcome of an older rollout: its events stay in node_events
    row.status, row.reason, row.updated_at = event.outcome, event.reason, now()


@dataclass(frozen=True)
class Progress:
    version: str
    on_target: int  # points reporting this version now
    pending: int
    failed: int  # failed or rolled back
    total: int


def progress(s: Session) -> list[Progress]:
    """Per target version, newest release first: how many points run it, wait, or failed."""
    rows = s.execute(
        select(NodeUpdate, Node.agent_version, Release.added_at)
        .join(Node, Node.id == NodeUpdate.node_id)
        .join(Release, Release.version == NodeUpdate.version)
    ).all()
    counts: dict[str, list[int]] = {}
    order: dict[str, object] = {}
    for row, running, added_at in rows:
        c = counts.setdefault(row.version, [0, 0, 0, 0])
        order[row.version] = added_at
        c[3] += 1
        if row.status in FAILED:
            c[2] += 1
        elif running == row.version:
            c[0] += 1
        else:
            c[1] += 1
    newest_first = sorted(counts, key=lambda v: str(order[v]), reverse=True)
    return [Progress(v, *counts[v]) for v in newest_first]


def _node(s: Session, node_id: str) -> Node:
    node = s.get(Node, node_id)
    if node is None:
        raise NotFoundError(
            "release.unknown_node",
            f"no loudspeaker point {node_id}",
            f"Không có điểm loa {node_id}",
        )
    return node


def _withdraw_older(s: Session, node_id: str) -> None:
    """A point is told one version at a time: an older update it has not answered is dropped."""
    older = s.scalar(select(NodeUpdate.command_id).where(NodeUpdate.node_id == node_id))
    if not older:
        return
    cmd = s.get(OutboxCommand, (older, node_id))
    if cmd is not None and cmd.result == "pending":
        cmd.result = "withdrawn"
