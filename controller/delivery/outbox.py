"""Commands to nodes: signed into the ``outbox`` table in the caller's transaction, sent once
it commits, and re-sent until the node acknowledges them or they expire, because the broker's
session queue is not a delivery guarantee we rely on.

A command to many points (a play, a cancel, a live stream's start and stop) is signed once per
group of targets (``groups``: one per shard of the points) and stored as one row per point, so
each point's acknowledgement, expiry and withdrawal stay its own; a play's rows go with their
deliveries in two bulk INSERTs (executemany), not as a thousand ORM objects each; the commit's
wake-up sees bulk inserts too. A group's first send is one publish on its shard's group topic
for all its rows (the broker fans it out); a re-send goes to each point on its own topic, where
the point's replay guard recognises the command it may already have. A point whose agent has
not said it reads its shard's topic (``Node.group_commands``: an agent older than the group
topics) gets even the first send on its own topic, at once, not at the re-send seconds later.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Select, bindparam, event, func, insert, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from controller import notifications
from controller.db import Database
from controller.delivery.groups import SignedGroup, sign_groups
from controller.delivery.publisher import Publisher
from controller.delivery.state import SETTLED, WAITING, expiry_reason
from controller.models import Bulletin, CommandEnvelope, Delivery, Node, OutboxCommand, now
from protocol.messages import AudioRef, CancelCommand, Command, CommandBody, PlayCommand
from protocol.signing import sign_command
from protocol.topics import group_shard, group_topic, node_topic

log = logging.getLogger(__name__)
CANCEL_TTL = timedelta(hours=1)


def queue_play(
    db: Session,
    key: Ed25519PrivateKey,
    bulletin: Bulletin,
    node_ids: list[str],
    *,
    play_id: str,
    play_at: datetime | None,
    valid_until: datetime | None = None,
    window_end: datetime | None = None,
) -> None:
    """One play command signed per group of nodes, stored with a delivery and an outbox row
    per node."""
    audio = bulletin.audio
    valid_until = valid_until or bulletin.valid_until
    command = PlayCommand(
        play_id=play_id,
        bulletin_id=bulletin.id,
        title=bulletin.title,
        audio=AudioRef(
            sha256=audio.sha256, size=audio.size, duration_s=audio.duration_s, mime=audio.mime
        ),
        play_at=play_at,
        valid_until=valid_until,
        window_end=window_end,
        priority=bulletin.priority,
    )
    if not node_ids:
        return
    deliveries = [
        {
            "play_id": play_id,
            "bulletin_id": bulletin.id,
            "node_id": node_id,
            "play_at": play_at,
            "valid_until": valid_until,
        }
        for node_id in dict.fromkeys(node_ids)
    ]
    db.execute(insert(Delivery), deliveries)
    _insert(db, sign_groups(key, command, node_ids, expires_at=valid_until), play_id)


def queue_group(
    db: Session,
    key: Ed25519PrivateKey,
    command: Command,
    node_ids: list[str],
    *,
    play_id: str | None,
    expires_at: datetime,
) -> list[SignedGroup]:
    """``command`` to every node of ``node_ids``, signed once per group of them."""
    groups = sign_groups(key, command, node_ids, expires_at=expires_at) if node_ids else []
    _insert(db, groups, play_id)
    return groups


def _insert(db: Session, groups: list[SignedGroup], play_id: str | None) -> None:
    """Each group's envelope once, and one outbox row per target."""
    if not groups:
        return
    envelopes = [{"command_id": g.body.command_id, "envelope": g.envelope} for g in groups]
    rows = [
        {
            "command_id": g.body.command_id,
            "node_id": node_id,
            "play_id": play_id,
            "expires_at": g.body.expires_at,
        }
        for g in groups
        for node_id in g.targets
    ]
    db.execute(insert(CommandEnvelope), envelopes)
    db.execute(insert(OutboxCommand), rows)


def queue_cancel(
    db: Session, key: Ed25519PrivateKey, deliveries: list[Delivery], reason: str
) -> list[str]:
    """Cancel these plays on every node at once; returns the nodes told. Commands that never
    reached a node are withdrawn, so a node that comes back later never gets them."""
    open_plays: dict[str, list[str]] = {}
    for d in deliveries:
        if d.status not in SETTLED:
            open_plays.setdefault(d.node_id, []).append(d.play_id)
    if not open_plays:
        return []
    withdrawn = db.scalars(
        select(OutboxCommand).where(
            OutboxCommand.result == "pending",
            OutboxCommand.play_id.in_([p for ps in open_plays.values() for p in ps]),
        )
    )
    for cmd in withdrawn:
        cmd.result = "withdrawn"
    expires = now() + CANCEL_TTL
    alike: dict[tuple[str, ...], list[str]] = {}  # the nodes told to cancel the same plays
    for node_id, play_ids in open_plays.items():
        alike.setdefault(tuple(play_ids), []).append(node_id)
    for plays, nodes in alike.items():
        cancel = CancelCommand(play_ids=list(plays), reason=reason)
        queue_group(db, key, cancel, nodes, play_id=None, expires_at=expires)
    return sorted(open_plays)


def queue_command(
    db: Session,
    key: Ed25519PrivateKey,
    command: Command,
    node_id: str,
    *,
    play_id: str | None,
    expires_at: datetime,
) -> CommandBody:
    body, envelope = sign_command(key, command, [node_id], expires_at=expires_at)
    signed = CommandEnvelope(command_id=body.command_id, envelope=envelope.model_dump_json())
    db.add(
        OutboxCommand(
            command_id=body.command_id,
            node_id=node_id,
            play_id=play_id,
            signed=signed,
            expires_at=body.expires_at,
        )
    )
    return body


def send_due(
    db: Database,
    publisher: Publisher,
    resend_interval_s: float,
    *,
    node_ids: Collection[str] | None = None,
    force: bool = False,
) -> None:
    """Send pending commands not sent within ``resend_interval_s`` (all of them if ``force``)
    and mark the expired ones; only those of ``node_ids`` when given. An offline node gets
    each command once, not a queue of resends. A command counts as sent only when the
    publisher took it. Rows are read and marked in bulk (a thousand at once for an emergency
    to every point), without ORM objects.

    The rows of a group command never sent yet go in one publish on their group topic (unless
    only one of them is due); every other send goes to its node's own topic."""
    at = now()
    cutoff = at - timedelta(seconds=resend_interval_s)
    refused = 0
    sent: list[dict[str, Any]] = []
    expired: list[dict[str, Any]] = []
    first: dict[tuple[str, int], list[_Due]] = {}  # never-sent rows by command and shard
    with db.session() as s:
        offline = set(s.scalars(select(Node.id).where(Node.status == "offline")))
        # few once every agent is new: the points that do not read their shard's topic
        solo = set(s.scalars(select(Node.id).where(Node.group_commands.is_(False))))
        rows = s.execute(
            pending(node_ids).with_only_columns(
                OutboxCommand.command_id,
                OutboxCommand.node_id,
                OutboxCommand.expires_at,
                OutboxCommand.last_sent_at,
            )
        ).all()
        due_rows = []
        for command_id, node_id, expires_at, last_sent_at in rows:
            if expires_at <= at:
                expired.append({"cid": command_id, "nid": node_id})
                continue
            if not force and last_sent_at and last_sent_at > cutoff:
                continue
            if not force and last_sent_at and node_id in offline:
                continue  # sent once; the rest goes when it is back, not into broker queues
            due_rows.append((command_id, node_id, expires_at, last_sent_at))
        envelopes = _envelopes(s, {row[0] for row in due_rows})
        for command_id, node_id, expires_at, last_sent_at in due_rows:
            ttl = int((expires_at - at).total_seconds()) + 1
            due = _Due(command_id, node_id, envelopes[command_id], ttl)
            if last_sent_at is None and node_ids is None and node_id not in solo:
                first.setdefault((command_id, group_shard(node_id)), []).append(due)
            else:
                refused += _publish(publisher, node_topic(node_id, "cmd"), [due], sent)
        for (_command_id, shard), group in first.items():
            topic = group_topic(shard) if len(group) > 1 else node_topic(group[0].node_id, "cmd")
            refused += _publish(publisher, topic, group, sent)
        key = (OutboxCommand.command_id == bindparam("cid")) & (
            OutboxCommand.node_id == bindparam("nid")
        )
        if sent:
            s.connection().execute(
                update(OutboxCommand)
                .where(key)
                .values(attempts=OutboxCommand.attempts + 1, last_sent_at=bindparam("at")),
                sent,
            )
        if expired:
            s.connection().execute(
                update(OutboxCommand).where(key).values(result="expired"), expired
            )
    if refused:
        log.warning("%d commands not taken by the MQTT client; left for the next pass", refused)


def _envelopes(s: Session, command_ids: set[str]) -> dict[str, str]:
    """The envelopes of ``command_ids``, each read once (a group's is shared by its rows)."""
    found: dict[str, str] = {}
    ids = sorted(command_ids)
    for i in range(0, len(ids), _IN_PART):  # under every database's bound-parameter limit
        part = select(CommandEnvelope.command_id, CommandEnvelope.envelope).where(
            CommandEnvelope.command_id.in_(ids[i : i + _IN_PART])
        )
        found.update({command_id: envelope for command_id, envelope in s.execute(part)})
    return found


_IN_PART = 5_000


@dataclass(frozen=True)
class _Due:
    command_id: str
    node_id: str
    envelope: str
    ttl_s: int


def _publish(publisher: Publisher, topic: str, due: list[_Due], sent: list[dict[str, Any]]) -> int:
    """Publish ``due``'s command (one envelope) once on ``topic``; its rows count as sent only
    when the publisher took it. Returns the rows refused (left due for the next pass)."""
    if not publisher.publish(topic, due[0].envelope, expiry_s=due[0].ttl_s):
        return len(due)  # not taken: still due, so the next pass tries it again
    at = now()
    sent += [{"cid": d.command_id, "nid": d.node_id, "at": at} for d in due]
    return 0


def pending(node_ids: Collection[str] | None = None) -> Select[OutboxCommand]:
    """The pending commands (of ``node_ids`` only, when given), soonest expiry first: what
    every pass scans, so it runs on an index (``ix_outbox_result_expires_at``)."""
    q = select(OutboxCommand).where(OutboxCommand.result == "pending")
    if node_ids is not None:
        q = q.where(OutboxCommand.node_id.in_(node_ids))
    return q.order_by(OutboxCommand.expires_at)


def waiting() -> Select[Delivery, datetime, Node]:
    """Deliveries not started yet, with their deadline and node."""
    deadline = func.coalesce(Delivery.valid_until, Bulletin.valid_until)
    return (
        select(Delivery, deadline, Node)
        .join(Bulletin, Delivery.bulletin_id == Bulletin.id)
        .join(Node, Delivery.node_id == Node.id)
        .where(Delivery.status.in_(WAITING))
    )


def expire_deliveries(db: Database, grace_s: float) -> None:
    """Deliveries not started by their deadline (plus ``grace_s``) did not play; say why."""
    deadline = func.coalesce(Delivery.valid_until, Bulletin.valid_until)
    with db.session() as s:
        rows = s.execute(waiting().where(deadline < now() - timedelta(seconds=grace_s))).all()
        missed: Counter[str] = Counter()
        for delivery, valid_until, node in rows:
            delivery.status = "expired"
            delivery.reason = expiry_reason(delivery, node, valid_until)
            delivery.updated_at = now()
            missed[delivery.bulletin_id] += 1
        for bulletin_id, points in missed.items():
            notifications.not_played(s, s.get_one(Bulletin, bulletin_id), points)


_QUEUED = "loa.delivery.queued"  # session.info flag: this transaction queued rows to send


def wake_on_commit(
    sessions: sessionmaker[Session],
    wake: Callable[[], None],
    kinds: tuple[type, ...] = (OutboxCommand,),
) -> Callable[[], None]:
    """Call ``wake`` after every commit of a session from ``sessions`` that added rows of
    ``kinds`` (queued commands by default), so no caller has to remember to; returns the
    function that stops it. Sessions that only read or update never wake it, so the sender's
    own passes cannot wake it in a loop."""
    flag = (_QUEUED, object())  # each hook its own: another hook's commit must not eat it

    def flushed(session: Session, _context: Any) -> None:
        # after_flush still sees what was new before the flush
        if any(isinstance(obj, kinds) for obj in session.new):
            session.info[flag] = True

    def executed(state: ORMExecuteState) -> None:
        # a bulk INSERT (``queue_play``) adds rows without objects: no flush sees them
        if state.is_insert and any(m.class_ in kinds for m in state.all_mappers):
            state.session.info[flag] = True

    def committed(session: Session) -> None:
        if session.info.pop(flag, False):
            wake()

    def rolled_back(session: Session) -> None:
        session.info.pop(flag, None)

    hooks = (
        ("after_flush", flushed),
        ("do_orm_execute", executed),
        ("after_commit", committed),
        ("after_rollback", rolled_back),
    )
    for name, fn in hooks:
        event.listen(sessions, name, fn)

    def stop() -> None:
        for name, fn in hooks:
            event.remove(sessions, name, fn)

    return stop
