"""The controller's data model (SQLAlchemy 2). Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controller.models.base import Base, UTCDateTime, now
from controller.models.newsroom import (
    BulletinReview,
    MessageTemplate,
    Notification,
    PushSubscription,
)
from controller.models.reach import ChannelMessage, FaultReport, SmsSubscription, SubscribeAttempt
from controller.models.relays import Relay, RelayRun

__all__ = [
    "Alert",
    "ApiToken",
    "AudioFile",
    "AuditEntry",
    "Base",
    "Bulletin",
    "BulletinReview",
    "CapMessage",
    "ChannelMessage",
    "CommandEnvelope",
    "Commune",
    "Delivery",
    "EnrolmentCode",
    "EnrolmentFailure",
    "FaultReport",
    "LoginFailure",
    "MessageTemplate",
    "Node",
    "NodeEvent",
    "NodeHealth",
    "NodeStatusLog",
    "NodeUpdate",
    "Notification",
    "OutboxCommand",
    "ProgrammeDocument",
    "PushSubscription",
    "Relay",
    "RelayRun",
    "Release",
    "SmsSubscription",
    "SubscribeAttempt",
    "UTCDateTime",
    "User",
    "WebSession",
    "Zone",
    "now",
]


class Commune(Base):
    __tablename__ = "communes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Zone(Base):
    """A village (thôn / xóm) that bulletins can target."""

    __tablename__ = "zones"
    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Where it is, for matching CAP alert areas: a centre point, official codes, an outline.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    geocodes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # e.g. {"VN-ward": "19804"}
    polygon: Mapped[list[Any] | None] = mapped_column(JSON)  # [[lat, lon], ...]


class Node(Base):
    __tablename__ = "nodes"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    accepts_tests: Mapped[bool] = mapped_column(default=False)  # plays CAP Test/Exercise
    status: Mapped[str] = mapped_column(String(16), default="offline")
    status_play_id: Mapped[str | None] = mapped_column(String(80))
    last_seen: Mapped[datetime | None]
    volume: Mapped[int | None]  # 0-100 as the node last reported it
    signal_dbm: Mapped[int | None]  # link signal as the node last reported it (None: wired)
    clock_offset_ms: Mapped[float | None]  # node clock minus controller clock, last state
    agent_version: Mapped[str] = mapped_column(String(40), default="")
    # It named protocol.messages.GROUP_COMMANDS in its last live state: a command to many
    # points reaches it on its shard's topic. False until it says so (an older agent never
    # does): its commands go to its own topic.
    group_commands: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=now)
    zone: Mapped[Zone] = relationship()


class NodeHealth(Base):
    """A node's latest health report (protocol ``Health``), replaced by every live state it
    sends; None where the node cannot tell. Kept beside ``nodes`` so a row of the list stays
    small and an agent without the report leaves no trace here."""

    __tablename__ = "node_health"
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), primary_key=True)
    reported_at: Mapped[datetime]
    uptime_s: Mapped[int | None] = mapped_column(BigInteger)
    cpu_temp_c: Mapped[float | None]
    disk_free_bytes: Mapped[int | None] = mapped_column(BigInteger)
    disk_total_bytes: Mapped[int | None] = mapped_column(BigInteger)
    memory_available_bytes: Mapped[int | None] = mapped_column(BigInteger)
    memory_total_bytes: Mapped[int | None] = mapped_column(BigInteger)
    clock_synced: Mapped[bool | None]
    clock_offset_ms: Mapped[float | None]  # node clock minus its time server's (chrony)
    clock_source: Mapped[str | None] = mapped_column(String(16))
    cell_signal_pct: Mapped[int | None]  # 4G signal quality, 0-100
    cell_technology: Mapped[str | None] = mapped_column(String(40))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # admin | broadcaster | approver
    display_name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str] = mapped_column(String(8), default="vi")


class WebSession(Base):
    """A browser login: the cookie holds a random token, the table only its sha256."""

    __tablename__ = "web_sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """Failed logins, counted per user name and per address to slow down guessing."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    user: Mapped[User] = relationship()


class AudioFile(Base):
    """Processed, encoded audio stored once by sha256 under ``data_dir/audio``."""

    __tablename__ = "audio_files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    duration_s: Mapped[float]
    mime: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)


class Bulletin(Base):
    __tablename__ = "bulletins"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    audio_sha256: Mapped[str] = mapped_column(ForeignKey("audio_files.sha256"))
    original_filename: Mapped[str] = mapped_column(String(300), default="")
    processing_report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    play_at: Mapped[datetime | None]
    valid_until: Mapped[datetime]
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    # The web app's approval workflow; API bulletins are sent at once ("sent").
    # draft | pending | approved | rejected | sent | held
    status: Mapped[str] = mapped_column(String(16), default="sent", server_default="sent")
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)  # where/when as asked
    original_path: Mapped[str] = mapped_column(String(300), default="")  # before processing
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str] = mapped_column(Text, default="")
    # On the listen-again pages and feeds once aired (controller.public.listing): news is
    # public unless the broadcaster unticks it (an internal notice); an alert always is. Rows
    # from before the choice existed stay off: nobody chose to publish them.
    public: Mapped[bool] = mapped_column(default=True, server_default=false())
    # The text as the broadcaster typed it, for text-to-speech (the report keeps it normalised):
    # an edited or rejected text bulletin is changed, never typed again.
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # "bulletin" (recorded, spoken or an alert's message) or "live" (a live session kept:
    # what the points were sent, controller/live/record.py)
    kind: Mapped[str] = mapped_column(String(16), default="bulletin", server_default="bulletin")
    audio: Mapped[AudioFile] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="bulletin")


class Delivery(Base):
    """One play (an airing of a bulletin) on one node: its progress and, if it did not play, why."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("play_id", "node_id"),)
    # indexed: the periodic pass looks for deliveries still waiting (``expire_deliveries``)
    id: Mapped[int] = mapped_column(primary_key=True)
    play_id: Mapped[str] = mapped_column(String(80), index=True)
    bulletin_id: Mapped[str] = mapped_column(ForeignKey("bulletins.id"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    # queued → acknowledged → received → ready → started → finished; or failed / expired /
    # cancelled / rejected, with ``reason``.
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    play_at: Mapped[datetime | None]  # when this airing is due (None: as soon as it arrives)
    valid_until: Mapped[datetime | None]  # this airing's own deadline (None: the bulletin's)
    acknowledged_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=now)
    # A live session's proof of play at this point (protocol LiveReport); None otherwise:
    # seconds heard (concealed gaps included), runs of lost packets, packets lost
    live_seconds: Mapped[float | None]
    live_gaps: Mapped[int | None]
    live_lost: Mapped[int | None]
    # and each break after which it rejoined the session (protocol LiveBreak, as JSON): an
    # agent restart or an emergency, with how long it was not heard
    live_breaks: Mapped[list[Any] | None] = mapped_column(JSON)
    bulletin: Mapped[Bulletin] = relationship(back_populates="deliveries")
    node: Mapped[Node] = relationship()


class CommandEnvelope(Base):
    """A signed command as published, kept once however many points it names: a group's
    envelope lists all its targets, so one copy per row would grow with the square of the
    points (70 MB per emergency to 10,000 points)."""

    __tablename__ = "command_envelopes"
    command_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    envelope: Mapped[str] = mapped_column(Text)


class OutboxCommand(Base):
    """A signed command to one node, re-sent until the node acknowledges it or it expires.

    A command to many points is signed once for a group of them (``delivery.groups``): its
    rows share the command id and its one ``CommandEnvelope``, one row per node, so each
    point's delivery, acknowledgement, expiry and withdrawal stay its own."""

    __tablename__ = "outbox"
    # What is scanned: the pending commands, every few seconds and soonest expiry first; one
    # node's pending ones when it comes back; a play's when it is withdrawn; the settled ones
    # past their retention (``history.prune``).
    __table_args__ = (
        Index("ix_outbox_result_expires_at", "result", "expires_at"),
        Index("ix_outbox_node_id_result", "node_id", "result"),
    )
    command_id: Mapped[str] = mapped_column(
        ForeignKey("command_envelopes.command_id"), primary_key=True
    )
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), primary_key=True)
    play_id: Mapped[str | None] = mapped_column(String(80), index=True)  # for play commands
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending|acked|nacked|expired
    signed: Mapped[CommandEnvelope] = relationship()

    @property
    def envelope(self) -> str:
        """The signed command as published (shared with the group's other rows)."""
        return self.signed.envelope


class NodeEvent(Base):
    """Every event a node reported, kept once (nodes re-send until acknowledged)."""

    __tablename__ = "node_events"
    # A node's newest events of a kind (its rejections kept, a refused command's reason), and
    # the old ones past their retention.
    __table_args__ = (
        Index("ix_node_events_node_id_type_received_at", "node_id", "type", "received_at"),
    )
    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(63))
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=now, index=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Alert(Base):
    """An emergency: one bulletin aired ``repeat`` times at once everywhere it targets."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bulletin_id: Mapped[str] = mapped_column(ForeignKey("bulletins.id"))
    # proposed → active → cancelled | expired; "superseded" when a CAP Update replaced it
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | cap
    cap_key: Mapped[str | None] = mapped_column(String(400), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    repeat: Mapped[int] = mapped_column(Integer, default=1)
    interval_s: Mapped[int] = mapped_column(Integer, default=300)
    expires_at: Mapped[datetime]
    proposed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replaces: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=now)
    sent_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    bulletin: Mapped[Bulletin] = relationship()


class CapMessage(Base):
    """Every CAP message received, aired or not, and what was decided about it."""

    __tablename__ = "cap_messages"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)  # sender,identifier,sent
    status: Mapped[str] = mapped_column(String(16))
    msg_type: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    alert_id: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(500), default="api")  # "api" or the feed URL
    # the document's own URL when the feed linked to it: the poller fetches only unknown links
    link: Mapped[str | None] = mapped_column(String(500), index=True)
    xml: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=now)


class ProgrammeDocument(Base):
    """The commune's programme (slots, items, quiet hours) as one ``schedules.Programme`` JSON
    document: it is validated and checked for conflicts as a whole."""

    __tablename__ = "programme"
    id: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=now)


class NodeStatusLog(Base):
    """Every change of a node's status (online | playing | offline), for its availability."""

    __tablename__ = "node_status_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=now, index=True)


class EnrolmentCode(Base):
    """A one-time code a new Pi exchanges for its bundle (``loa node enrol``); only its sha256
    is stored, and it is spent when the bundle is served."""

    __tablename__ = "enrolment_codes"
    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    # what the bundle is made with when served: sink, relay, broker host, the node's data dir
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    issued_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_from: Mapped[str | None] = mapped_column(String(64))


class EnrolmentFailure(Base):
    """A refused enrolment attempt, counted per address and overall to stop code guessing."""

    __tablename__ = "enrolment_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)


class Release(Base):
    """A signed ``loalang`` wheel the points can run; the file is ``releases/<sha256>.whl``."""

    __tablename__ = "releases"
    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    filename: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int]
    signature: Mapped[str] = mapped_column(String(200))  # over protocol.releases.manifest
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=now)


class NodeUpdate(Base):
    """The version a point should run and how its last update went:
    pending | updated | rolled_back | failed (``reason`` says why for the last two)."""

    __tablename__ = "node_updates"
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), primary_key=True)
    version: Mapped[str] = mapped_column(ForeignKey("releases.version"))
    command_id: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=now)
