"""Typed messages of the wire contract (pydantic v2).

Every payload is a JSON object with a schema version ``v`` and a ``type`` discriminator, so a
receiver can reject what it does not understand with a reason instead of guessing.
Times are timezone-aware UTC datetimes on the wire; the UI shows them in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from protocol.limits import MAX_BATCH_EVENTS, MAX_CHUNK_BYTES

SCHEMA_VERSION: Literal[1] = 1
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
NodeId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
# What the controller stores from a node fits its columns (PostgreSQL refuses a longer string).
PlayId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")]
EventId = Annotated[str, Field(min_length=1, max_length=32)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = SCHEMA_VERSION

    @field_validator("*", mode="after")
    @classmethod
    def _aware(cls, value: object) -> object:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("datetimes on the wire must carry a timezone")
            try:  # 9999-12-31T23:59-01:00 is past the calendar's end once made UTC
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("datetime is outside the calendar once made UTC") from None
        return value


# --- commands: controller → node, always inside a SignedEnvelope ---------------------------


# The one priority scale of the system (emergency > priority > normal > filler; the first three
# are Thông tư 39/2020/TT-BTTTT's): the programme, the node's player and CAP all use this type.
Priority = Literal["emergency", "priority", "normal", "filler"]


class AudioRef(Message):
    """Content-addressed audio: the node fetches it by sha256 and checks the whole file."""

    sha256: Sha256Hex
    size: int = Field(gt=0, description="bytes of the encoded file")
    duration_s: float = Field(gt=0)
    mime: str = "audio/ogg"


class PlayCommand(Message):
    """Play one occurrence of a bulletin. ``play_id`` names the occurrence (a recurring item
    has one per airing) and is the key of everything the node reports about it."""

    type: Literal["play"] = "play"
    play_id: PlayId
    bulletin_id: str
    title: str = ""
    audio: AudioRef
    play_at: datetime | None = Field(None, description="absolute start time; None plays at once")
    valid_until: datetime = Field(description="not started by then means not played")
    window_end: datetime | None = Field(
        None, description="end of its slot: a pre-empted item resumes only if it fits before"
    )
    priority: Priority = "normal"


class CancelCommand(Message):
    type: Literal["cancel"] = "cancel"
    play_ids: list[str] = Field(min_length=1)
    reason: str = ""


Volume = Annotated[int, Field(ge=0, le=100, description="percent of the node's full volume")]


class SetVolumeCommand(Message):
    """The technician's volume for the normal programme; the emergency volume stays as
    provisioned, so a point turned down for a quiet street still sounds a storm alarm in full."""

    type: Literal["set_volume"] = "set_volume"
    volume: Volume


class TestToneCommand(Message):
    """A steady tone at the current volume, to check a loudspeaker from the foot of its pole."""

    __test__: ClassVar[bool] = False  # a message, not a pytest test class
    type: Literal["test_tone"] = "test_tone"
    seconds: int = Field(5, ge=1, le=30)


class StopCommand(Message):
    """Silence now: what is sounding (an attention signal too) is cut and reported cancelled
    with ``reason``; items not yet started stay in the node's programme."""

    type: Literal["stop"] = "stop"
    reason: str = Field("", max_length=300)


# A release's version as the wheel names it (PEP 440's public versions, no local part): it
# becomes a directory name on the node, so nothing else is allowed.
ReleaseVersion = Annotated[str, Field(pattern=r"^[0-9][0-9A-Za-z.]{0,39}$")]


class ReleaseRef(Message):
    """A signed release of ``loalang``: a wheel fetched by sha256 like audio. ``signature`` is
    the controller's Ed25519 signature over :func:`protocol.releases.manifest`, checked by the
    node before it uses a byte of the wheel, whatever carried the command."""

    version: ReleaseVersion
    filename: str = Field(pattern=r"^loalang-[0-9A-Za-z.]+-[0-9A-Za-z._-]+\.whl$", max_length=120)
    sha256: Sha256Hex
    size: int = Field(gt=0, le=200 * 1024 * 1024)
    signature: str = Field(max_length=200, description="base64 Ed25519 signature")


class UpdateCommand(Message):
    """Run this release: fetch, check, install beside the running one, switch, restart, and
    roll back by itself if it does not come online. Deferred while an emergency is on."""

    type: Literal["update"] = "update"
    release: ReleaseRef


HexId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
LIVE_RATE: Literal[48000] = 48000
LiveFrameMs = Literal[20, 40, 60]


class LiveStartCommand(Message):
    """Open a live session on this node: read ``stream/<stream_id>`` and play its packets.

    Packets are signed with the session's own Ed25519 key, whose public half is here, inside
    the controller's signature. Each packet carries (signed) when its audio was spoken on the
    controller's clock, always ``t0 + seq · frame_ms`` for one ``t0`` per session; it sounds at
    that time plus ``delay_ms`` on every point (see protocol/live.py). The command goes out
    when the session opens, before anyone speaks, so the points are listening by then.
    ``play_id`` is what the node reports about the session.
    """

    type: Literal["live_start"] = "live_start"
    session_id: HexId
    stream_id: HexId
    play_id: PlayId
    title: str = Field("", max_length=300)
    packet_key: str = Field(max_length=100, description="base64 Ed25519 public key of packets")
    frame_ms: LiveFrameMs = 40
    sample_rate: Literal[48000] = LIVE_RATE
    delay_ms: int = Field(1000, ge=100, le=10_000, description="source time to sound time")
    max_seq: int = Field(ge=1, le=2**31, description="the session never runs past this packet")
    quiet_s: float = Field(4.0, ge=1, le=60, description="no packets this long ends it")


class LiveStopCommand(Message):
    """The session is over: play up to packet ``last_seq`` (None: stop now), then end."""

    type: Literal["live_stop"] = "live_stop"
    session_id: HexId
    last_seq: int | None = Field(None, ge=-1)
    reason: str = Field("", max_length=300)


Command = Annotated[
    PlayCommand
    | CancelCommand
    | SetVolumeCommand
    | TestToneCommand
    | StopCommand
    | UpdateCommand
    | LiveStartCommand
    | LiveStopCommand,
    Field(discriminator="type"),
]
ControlCommand = SetVolumeCommand | TestToneCommand | StopCommand


class CommandBody(Message):
    """What the controller signs. ``nonce`` is unique per command; resends reuse the bytes."""

    type: Literal["command"] = "command"
    command_id: str = Field(default_factory=new_id)
    nonce: str = Field(default_factory=new_id)
    issued_at: datetime
    expires_at: datetime
    targets: list[NodeId] = Field(min_length=1)
    command: Command


class SignedEnvelope(Message):
    type: Literal["signed"] = "signed"
    key_id: str
    body: str = Field(description="base64 of the exact signed JSON bytes of a CommandBody")
    sig: str = Field(description="base64 Ed25519 signature over the body bytes")


# --- events: node → controller, through the node's persistent outbox ------------------------


class EventBase(Message):
    event_id: EventId = Field(default_factory=new_id)
    node_id: NodeId
    at: datetime = Field(default_factory=utcnow)


class CommandAck(EventBase):
    type: Literal["ack"] = "ack"
    command_id: str
    accepted: bool
    reason: str = ""


PlayEventKind = Literal[
    "received", "ready", "started", "interrupted", "finished", "failed", "cancelled"
]


class PlayEvent(EventBase):
    """Progress of one play on one node; ``reason`` says why for failed/cancelled."""

    type: PlayEventKind
    play_id: str
    reason: str = ""
    interrupted: bool = False


class RejectedPayload(EventBase):
    """A payload the node refused (malformed, unsigned, forged, foreign, expired, replayed)."""

    type: Literal["rejected"] = "rejected"
    topic: str
    reason: str


UpdateOutcome = Literal["updated", "rolled_back", "failed"]


class UpdateEvent(EventBase):
    """How an update ended on a node: ``updated`` (``version`` is running and online),
    ``rolled_back`` (it did not come online; ``from_version`` runs again) or ``failed`` (refused
    or not installed: the old version never stopped). ``reason`` says why for the last two."""

    type: Literal["update"] = "update"
    outcome: UpdateOutcome
    version: str = Field(max_length=40)
    from_version: str = Field("", max_length=40)
    reason: str = Field("", max_length=500)


LiveOutcome = Literal["finished", "quiet", "interrupted", "failed"]
# Why a point stopped sounding a session it then came back to: its agent restarted (the
# session was restored from its store) or an emergency cut in (the session resumed after it).
LiveBreakReason = Literal["restart", "emergency"]
MAX_LIVE_BREAKS = 50


class LiveBreak(Message):
    """A stretch of a live session this point did not sound, then rejoined (or never did:
    ``rejoined`` False when the session ended during it). ``seconds`` is None when the point
    cannot tell when it stopped (its agent was killed without saving where it was)."""

    reason: LiveBreakReason
    detail: str = Field("", max_length=300)
    since: datetime | None = None
    seconds: float | None = Field(None, ge=0, le=10 * 24 * 3600)
    rejoined: bool = True


class LiveReport(EventBase):
    """How a live session went on one node, sent once when it ended there: when it sounded,
    seconds carried (audio heard, concealed gaps included), packets lost and concealed, and
    the gaps (runs of lost packets), and each ``break`` (a restart or an emergency) after which
    it rejoined the session at the shared playout time. ``outcome``: ``finished`` (the
    controller ended it), ``quiet`` (no packets for ``quiet_s``: faded out), ``interrupted``
    (an emergency or a stop cut in and it did not return), ``failed`` (it never sounded;
    ``reason`` says why)."""

    type: Literal["live_report"] = "live_report"
    play_id: PlayId
    session_id: HexId
    outcome: LiveOutcome
    started_at: datetime | None = None
    ended_at: datetime | None = None
    seconds: float = Field(0.0, ge=0, le=10 * 24 * 3600)
    packets_played: int = Field(0, ge=0, le=2**31)
    packets_lost: int = Field(0, ge=0, le=2**31)
    gaps: int = Field(0, ge=0, le=2**31)
    rejected_packets: int = Field(0, ge=0, le=2**31)
    reason: str = Field("", max_length=500)
    breaks: list[LiveBreak] = Field(default_factory=list, max_length=MAX_LIVE_BREAKS)


Event = Annotated[
    CommandAck | PlayEvent | RejectedPayload | UpdateEvent | LiveReport,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[CommandAck | PlayEvent | RejectedPayload | UpdateEvent | LiveReport] = (
    TypeAdapter(Event)
)


class EventBatch(Message):
    """Node → controller, on its ``events`` topic: several of its events in one message
    (protocol/event_batch.py says when a node may send one). Each entry is checked on its own
    as an ``Event``, so a malformed one costs only itself; the list itself is bounded."""

    type: Literal["events"] = "events"
    # each entry as JSON parsed it (Any: checked once, as an Event, where it is taken)
    events: list[Any] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


# What a node's ``events`` topic carries: one event, as every agent sends, or a batch.
EVENTS_TOPIC_ADAPTER: TypeAdapter[
    CommandAck | PlayEvent | RejectedPayload | UpdateEvent | LiveReport | EventBatch
] = TypeAdapter(
    Annotated[
        CommandAck | PlayEvent | RejectedPayload | UpdateEvent | LiveReport | EventBatch,
        Field(discriminator="type"),
    ]
)


class EventAck(Message):
    """Controller → node: these events are stored, drop them from the outbox.

    ``batches``: True when this controller reads an ``EventBatch`` from this node. It is left
    out (None) for a node that did not name ``EVENT_BATCHES``: an agent from before batches
    refuses a field it does not know. A node without it from its controller sends its events
    one by one (protocol/event_batch.py)."""

    type: Literal["event_ack"] = "event_ack"
    event_ids: list[str]
    batches: bool | None = None


# --- state: retained, replaced by the Last Will when the link dies --------------------------

# A wireless level in dBm beyond these is no reading (radios report about -120 to +30).
MIN_SIGNAL_DBM, MAX_SIGNAL_DBM = -200, 100
# Bounds of what a node says about itself: generous for any real machine, but a stolen node's
# account cannot make the controller store a number its columns (64-bit) or pages choke on.
MAX_HEALTH_BYTES = 2**50  # a petabyte of disk or memory
MAX_UPTIME_S = 100 * 365 * 24 * 3600
MIN_TEMP_C, MAX_TEMP_C = -60.0, 200.0
MAX_CLOCK_OFFSET_MS = 10 * 365 * 24 * 3600 * 1000.0  # a clock reset to 1970 is still a reading
HealthBytes = Annotated[int, Field(ge=0, le=MAX_HEALTH_BYTES)]


class Health(Message):
    """What a node measures about itself, for the technician's point page. Every field is None
    when the node cannot tell (no sensor, no chrony, no modem): unknown, never a guess."""

    uptime_s: int | None = Field(None, ge=0, le=MAX_UPTIME_S, description="since boot")
    cpu_temp_c: float | None = Field(None, ge=MIN_TEMP_C, le=MAX_TEMP_C, allow_inf_nan=False)
    disk_free_bytes: HealthBytes | None = Field(None, description="free in the data directory")
    disk_total_bytes: HealthBytes | None = None
    memory_available_bytes: HealthBytes | None = None
    memory_total_bytes: HealthBytes | None = None
    clock_synced: bool | None = Field(None, description="the node's clock follows a time server")
    clock_offset_ms: float | None = Field(
        None,
        ge=-MAX_CLOCK_OFFSET_MS,
        le=MAX_CLOCK_OFFSET_MS,
        allow_inf_nan=False,
        description="node clock minus the time server's, as chrony estimates it",
    )
    clock_source: Literal["chrony", "timedatectl", "adjtimex"] | None = None
    cell_signal_pct: int | None = Field(
        None, ge=0, le=100, description="4G signal quality from ModemManager"
    )
    cell_technology: str | None = Field(None, pattern=r"^[a-z0-9, +-]{1,40}$", description="lte")


# Capabilities a node names in its state (``NodeState.capabilities``).
Capability = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
# It reads its shard's group topic (``protocol.topics.group_topic``): a command to many points
# reaches it there first. Agents from before the group topics read their own topic only.
GROUP_COMMANDS: Final = "group-cmd"
# It understands ``EventAck.batches`` and sends ``EventBatch`` when its controller says so.
EVENT_BATCHES: Final = "event-batch"
# What this release's agent does.
AGENT_CAPABILITIES: Final[tuple[str, ...]] = (GROUP_COMMANDS, EVENT_BATCHES)


class NodeState(Message):
    type: Literal["state"] = "state"
    node_id: NodeId
    status: Literal["online", "offline", "playing"]
    at: datetime = Field(default_factory=utcnow)
    play_id: PlayId | None = None  # a play's id, or the test tone's label
    agent_version: str = Field("", max_length=40)
    cache_bytes: int = 0
    free_bytes: int | None = None
    volume: Volume | None = None  # None: an agent older than the volume control
    # bounded: it is stored (a 64-bit column) and a node's account can send any number
    signal_dbm: int | None = Field(
        None,
        ge=MIN_SIGNAL_DBM,
        le=MAX_SIGNAL_DBM,
        description="wireless link level; None when wired",
    )
    health: Health | None = None  # None: an agent older than the health report
    # What this agent does beyond the first protocol, named rather than read from its version
    # (a fork or a backport has its own numbering). An agent that does not name
    # ``GROUP_COMMANDS`` gets its commands on its own topic only. Unknown names are kept to
    # themselves: a newer agent may name what this controller does not know yet.
    capabilities: list[Capability] = Field(default_factory=list, max_length=16)


# --- content transfer ------------------------------------------------------------------------


class ChunkRequest(Message):
    type: Literal["chunk_request"] = "chunk_request"
    sha256: Sha256Hex
    offset: int = Field(ge=0)
    length: int = Field(gt=0, le=MAX_CHUNK_BYTES, description="its reply must fit one packet")


class Chunk(Message):
    type: Literal["chunk"] = "chunk"
    sha256: Sha256Hex
    offset: int = Field(ge=0)
    total_size: int = Field(ge=0)
    chunk_sha256: Sha256Hex
    data: str = Field(description="base64")


class ChunkUnavailable(Message):
    type: Literal["chunk_unavailable"] = "chunk_unavailable"
    sha256: Sha256Hex
    reason: str


ContentMessage = Annotated[Chunk | ChunkUnavailable, Field(discriminator="type")]
CONTENT_ADAPTER: TypeAdapter[Chunk | ChunkUnavailable] = TypeAdapter(ContentMessage)
