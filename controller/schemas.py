"""Response models of the HTTP API (times in Asia/Ho_Chi_Minh)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from protocol.messages import LiveBreak


class HealthOut(BaseModel):
    """A point's last health report; a figure is None when the point cannot measure it."""

    model_config = ConfigDict(from_attributes=True)
    reported_at: datetime
    uptime_s: int | None
    cpu_temp_c: float | None
    disk_free_bytes: int | None = Field(description="free in the node's data directory")
    disk_total_bytes: int | None
    memory_available_bytes: int | None
    memory_total_bytes: int | None
    clock_synced: bool | None = Field(description="the node's clock follows a time server")
    clock_offset_ms: float | None = Field(description="node clock minus its time server's")
    clock_source: str | None = Field(description="chrony | timedatectl | adjtimex")
    cell_signal_pct: int | None = Field(description="4G signal quality 0-100 (ModemManager)")
    cell_technology: str | None


class NodeOut(BaseModel):
    id: str
    name: str
    zone: str = Field(description="zone code")
    zone_name: str
    latitude: float | None
    longitude: float | None
    status: str = Field(description="online | offline | playing")
    playing: str | None = Field(description="play id on air")
    last_seen: datetime | None
    volume: int | None = Field(description="0-100 as the node last reported it")
    signal_dbm: int | None = Field(description="wireless link level; None when wired or unknown")
    clock_offset_ms: float | None = Field(
        description="node clock minus controller clock at its last fresh state"
    )
    agent_version: str
    health: HealthOut | None = Field(description="its last health report; None if it sent none")
    warnings: list[str] = Field(
        description="what needs a technician: clock_ahead, clock_behind (off the controller's "
        "clock), hot, disk, memory, clock_unsynced, clock_far, old_version, weak_wifi, weak_cell"
    )


class ControlOut(BaseModel):
    """A control command queued for a node; follow it at .../commands/{command_id}."""

    command_id: str
    node_id: str
    command: str = Field(description="set_volume | test_tone | stop")
    expires_at: datetime = Field(description="not carried out if the node has not got it by then")


class CommandStatusOut(BaseModel):
    command_id: str
    node_id: str
    result: str = Field(description="pending | acked | nacked | expired | withdrawn")
    reason: str = Field(description="why the node refused it (nacked)")
    attempts: int
    acked_at: datetime | None


class ZoneOut(BaseModel):
    code: str
    name: str
    nodes: int


class BulletinOut(BaseModel):
    id: str
    title: str
    audio_sha256: str
    duration_s: float
    priority: str
    play_at: datetime | None
    valid_until: datetime
    created_at: datetime
    created_by: str
    targets: int
    public: bool = Field(description="on the listen-again pages and feeds once aired")
    kind: str = Field("bulletin", description="bulletin, or live (a live session kept)")
    processing_report: dict[str, Any]
    status: str = Field(
        "sent", description="draft | pending | approved | rejected | sent | held (web workflow)"
    )
    text: str = Field("", description="the text as typed, for a text-for-speech bulletin")


class NodeReport(BaseModel):
    node_id: str
    name: str
    zone: str
    play_id: str = Field(description="the airing (a repeated alert has several)")
    play_at: datetime | None = Field(None, description="when this airing is due; none: at once")
    valid_until: datetime | None = Field(None, description="this airing's deadline")
    played: bool
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    reason: str
    live_seconds: float | None = Field(
        None, description="a live session: seconds this point carried (gaps concealed included)"
    )
    live_gaps: int | None = Field(None, description="a live session: runs of lost packets")
    live_lost: int | None = Field(None, description="a live session: packets lost")
    live_breaks: list[LiveBreak] | None = Field(
        None,
        description="a live session: each stretch this point was cut off (its agent restarted,"
        " an emergency cut in) and whether it rejoined",
    )


class ReportSummary(BaseModel):
    """Counted by loudspeaker point: a point played if any of its airings started."""

    targets: int
    played: int
    completed: int
    not_played: int
    pending: int
    text: str


class BulletinReport(BaseModel):
    bulletin: BulletinOut
    summary: ReportSummary
    nodes: list[NodeReport]


class Problem(BaseModel):
    detail: str = Field(description="Why the request was refused, in words for people.")
    code: str | None = Field(
        None, description="A stable code for programs (e.g. targets.unknown_zone), when known."
    )
    field: str | None = Field(None, description="The input the refusal is about, if any.")


class ReasonCount(BaseModel):
    reason: str
    count: int


class ChannelReport(BaseModel):
    channel: str = Field(description="sms | zalo | board")
    total: int
    sent: int
    failed: int
    pending: int = Field(description="not sent yet: queued, or waiting to be tried again")
    cancelled: int = Field(description="not sent: the alert was cancelled or the number left")
    sms_parts: int = Field(0, description="SMS parts of the messages sent (what is billed)")
    shortened: int = Field(
        0, description="messages whose text was cut at a word to fit (SMS max_parts, Zalo 2000)"
    )
    reasons: list[ReasonCount] = Field(
        default_factory=list, description="why messages failed, or why the pending were retried"
    )


class AlertOut(BaseModel):
    id: str
    bulletin_id: str
    state: str = Field(description="proposed | active | cancelled | expired | superseded")
    source: str
    text: str
    targets: list[str]
    repeat: int
    interval_s: int
    expires_at: datetime
    proposed_by: str
    confirmed_by: str | None
    created_at: datetime
    sent_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    replaces: str | None
    report: BulletinReport | None = None
    channels: list[ChannelReport] = Field(
        default_factory=list, description="the alert on SMS, Zalo and notice boards"
    )


class RolloutOut(BaseModel):
    """A target version and how many points run it, wait for it, or failed (or rolled back)."""

    version: str
    on_target: int
    pending: int
    failed: int
    total: int


class RolloutStartedOut(BaseModel):
    version: str
    targets: list[str] = Field(description="the points named")
    told: list[str] = Field(description="those sent an update (the rest already run it)")
