"""A technician's controls of one loudspeaker point: volume, test tone, stop.

Shared by the JSON API and the web UI. Each checks its input, writes the audit entry and queues
the signed command in the caller's transaction; it goes out once that commits.
Refusals are DomainErrors whose message says what to change; a refused request queues nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.delivery.dispatcher import Dispatcher
from controller.errors import InvalidInputError, NotFoundError
from controller.models import Node, NodeEvent, OutboxCommand, User
from controller.reports.bulletin import local
from controller.schemas import CommandStatusOut, ControlOut
from protocol.messages import ControlCommand, SetVolumeCommand, StopCommand, TestToneCommand
from schedules import LOCAL

# A point that is offline for the day still takes its new volume when it is back; a tone or a
# stop that arrived minutes late would only startle whoever is standing under the horn.
VOLUME_TTL = timedelta(hours=24)
MOMENT_TTL = timedelta(seconds=60)
MAX_REASON = 200
_ACKS_SEARCHED = 500


def set_volume(
    s: Session, dispatcher: Dispatcher, user: User, node_id: str, volume: object
) -> ControlOut:
    """Set the normal-programme volume (0-100) of a point; its emergency volume is unchanged."""
    level = parse_int(volume, "volume", 0, 100, vi="âm lượng")
    command = SetVolumeCommand(volume=level)
    return _queue(s, dispatcher, user, node_id, command=command, ttl=VOLUME_TTL)


def play_test_tone(
    s: Session, dispatcher: Dispatcher, user: User, node_id: str, seconds: object = None
) -> ControlOut:
    """A 1 kHz tone at the point's current volume, for ``seconds`` (1-30, default 5)."""
    length = 5 if seconds in (None, "") else parse_int(seconds, "seconds", 1, 30, vi="thời lượng")
    command = TestToneCommand(seconds=length)
    return _queue(s, dispatcher, user, node_id, command=command, ttl=MOMENT_TTL)


def stop(
    s: Session, dispatcher: Dispatcher, user: User, node_id: str, reason: str = ""
) -> ControlOut:
    """Silence a point now: what is sounding, an emergency included, is cut and reported
    cancelled with "stopped by operator <user>"; items not yet started stay scheduled."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidInputError(
            "node.reason_long",
            f"reason is longer than {MAX_REASON} characters",
            f"Lý do dài quá {MAX_REASON} ký tự",
            field="reason",
        )
    said = f"stopped by operator {user.username}" + (f": {reason}" if reason else "")
    command = StopCommand(reason=said)
    return _queue(s, dispatcher, user, node_id, command=command, ttl=MOMENT_TTL)


def command_status(s: Session, node_id: str, command_id: str) -> CommandStatusOut:
    """Whether the node has carried out a control command, and if it refused, why."""
    cmd = s.get(OutboxCommand, (command_id, node_id))
    if cmd is None:
        raise NotFoundError(
            "node.unknown_command",
            f"no command {command_id} for node {node_id}",
            f"Điểm loa {node_id} không có lệnh {command_id}",
        )
    return CommandStatusOut(
        command_id=cmd.command_id,
        node_id=cmd.node_id,
        result=cmd.result,
        reason=_refusal(s, cmd) if cmd.result == "nacked" else "",
        attempts=cmd.attempts,
        acked_at=local(cmd.acked_at),
    )


def node_or_404(s: Session, node_id: str) -> Node:
    node = s.get(Node, node_id)
    if node is None:
        raise NotFoundError(
            "node.unknown", f"no loudspeaker point {node_id}", f"Không có điểm loa {node_id}"
        )
    return node


def parse_int(value: object, name: str, low: int, high: int, *, vi: str) -> int:
    """A whole number in [low, high] from a form field (text) or a JSON number."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if value is None:
        raise InvalidInputError(
            "node.value_required",
            f"{name} is required ({vi}: bắt buộc)",
            f"Hãy nhập {vi} (bắt buộc)",
            field=name,
        )
    if number is None or not low <= number <= high:
        raise InvalidInputError(
            "node.value_range",
            f"{name} must be a whole number from {low} to {high}, got {value!r} "
            f"({vi} phải là số nguyên từ {low} đến {high})",
            f"{vi.capitalize()} phải là số nguyên từ {low} đến {high}, không phải {value!r}",
            field=name,
        )
    return number


def _queue(
    s: Session,
    dispatcher: Dispatcher,
    user: User,
    node_id: str,
    *,
    command: ControlCommand,
    ttl: timedelta,
) -> ControlOut:
    node = node_or_404(s, node_id)
    body = dispatcher.queue_control(s, command, node.id, ttl)
    detail = command.model_dump(exclude={"v", "type"})
    audit.record(
        s, user.username, f"node.{command.type}", node.id, command_id=body.command_id, **detail
    )
    return ControlOut(
        command_id=body.command_id,
        node_id=node.id,
        command=command.type,
        expires_at=body.expires_at.astimezone(LOCAL),
    )


def _refusal(s: Session, cmd: OutboxCommand) -> str:
    # The reason lives only in the node's ack event; the newest acks of the node hold it.
    acks = s.scalars(
        select(NodeEvent)
        .where(NodeEvent.node_id == cmd.node_id, NodeEvent.type == "ack")
        .order_by(NodeEvent.received_at.desc())
        .limit(_ACKS_SEARCHED)
    )
    for ack in acks:
        if ack.payload.get("command_id") == cmd.command_id:
            return str(ack.payload.get("reason", ""))
    return ""
