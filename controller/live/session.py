"""One live session on the controller: PCM in; chain, Opus, signed packets out, once each.

:func:`open_session` checks the caller may go live, takes the points (refusing a point already
live in another session) and writes the audit line. The first :meth:`LiveSession.feed` fixes
the session clock (``t0``: when its first sample was spoken) and queues the signed start
command to each point through the outbox (re-sent until acknowledged, so a point that comes
back mid-session joins it). Each feed then runs the live chain, encodes, signs with the
session's own key and publishes every packet once on the stream topic at QoS 0.
:meth:`LiveSession.close` sends the rest (the last packet flagged), tells each point to stop
after it, and keeps the session as a bulletin of kind ``live`` (controller/live/record.py).

The session paces itself: a source faster than real time (a file) waits, a source that
stalls skips packet numbers so the points conceal the gap and stay in time.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller import audit
from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery import outbox
from controller.errors import ConflictError, ForbiddenError, InvalidInputError
from controller.models import User
from controller.permissions import may
from protocol.limits import fits_packet
from protocol.live import LivePacket, encode_packet
from protocol.messages import LiveStartCommand, LiveStopCommand
from protocol.signing import public_key_b64
from protocol.topics import stream_topic

if TYPE_CHECKING:
    from audio.live_chain import LiveChain
    from audio.live_opus import LiveEncoder

log = logging.getLogger(__name__)
RATE = 48000
MAX_SESSION = timedelta(hours=6)  # the start command's life: a point joins until then
AHEAD_S = 0.3  # a source may run this far ahead of the clock before it is made to wait
LATE_S = 0.5  # a source this far behind has stalled: skip ahead, the points conceal the gap
STOP_TTL = timedelta(minutes=10)


class StreamPublisher(Protocol):
    def publish_packet(self, topic: str, data: bytes) -> bool:
        """Send one live packet (QoS 0, no retain); False when it was not taken."""


class MqttStreamPublisher:
    def __init__(self, client: object) -> None:
        self._client = client

    def publish_packet(self, topic: str, data: bytes) -> bool:
        if not fits_packet(topic, data, qos=0, expiry=False):
            return False
        info = self._client.publish(topic, data, qos=0)  # type: ignore[attr-defined]
        return bool(info.rc == 0)


@dataclass(frozen=True)
class LiveRequest:
    """What a live session asks for. ``targets`` are node ids (resolved from zones by the
    caller: controller.broadcast.targets); ``source`` says what speaks (cli, web, relay)."""

    targets: list[str]
    title: str = ""
    reason: str = ""
    source: str = "cli"
    frame_ms: int = 40
    delay_ms: int = 1000
    quiet_s: float = 4.0


@dataclass
class LiveCounters:
    packets_sent: int = 0
    packets_refused: int = 0  # the broker link did not take them
    source_gaps: int = 0  # the source stalled and packet numbers were skipped
    samples_in: int = 0


@dataclass
class LiveSession:
    id: str
    stream_id: str
    play_id: str
    user: User
    request: LiveRequest
    opened_at: datetime
    key: Ed25519PrivateKey
    recording: Path
    chain: LiveChain
    encoder: LiveEncoder
    counters: LiveCounters = field(default_factory=LiveCounters)
    stopping: threading.Event = field(default_factory=threading.Event)
    stop_reason: str = ""
    t0: float | None = None  # controller time of packet 0's first sample (s)
    seq: int = 0

    @property
    def title(self) -> str:
        when = self.opened_at.astimezone().strftime("%d/%m/%Y %H:%M")
        return self.request.title or f"Phát trực tiếp / live {when}"

    @property
    def seconds_sent(self) -> float:
        return self.counters.packets_sent * self.request.frame_ms / 1000


class LiveHost(Protocol):
    """What a session needs of the running controller (the app's dispatcher gives it all)."""

    config: ControllerConfig
    db: Database
    key: Ed25519PrivateKey

    def wake(self) -> None: ...


def check_request(request: LiveRequest) -> None:
    if not request.targets:
        raise InvalidInputError(
            "live.no_targets", "choose where to go live", "Hãy chọn nơi phát trực tiếp"
        )
    if request.frame_ms not in (20, 40, 60):
        raise InvalidInputError(
            "live.frame", "frame_ms must be 20, 40 or 60", "Khung Opus phải là 20, 40 hoặc 60 ms"
        )
    if not 100 <= request.delay_ms <= 10_000:
        raise InvalidInputError(
            "live.delay", "delay_ms must be 100-10000", "Độ trễ phải từ 100 đến 10000 ms"
        )


def new_session(host: LiveHost, user: User, request: LiveRequest, busy: set[str]) -> LiveSession:
    """Check and audit a new session; ``busy`` are the points already live elsewhere."""
    if not may(user.role, "live"):
        raise ForbiddenError(
            "live.forbidden",
            f"a {user.role} account may not go live",
            "Tài khoản của bạn không được phát trực tiếp",
        )
    check_request(request)
    if taken := sorted(set(request.targets) & busy):
        raise ConflictError(
            "live.busy",
            f"already live in another session: {', '.join(taken)}",
            f"Đang có phiên trực tiếp khác tại: {', '.join(taken)}",
        )
    session_id = uuid.uuid4().hex
    tmp = host.config.data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    from audio.live_chain import LiveChain
    from audio.live_opus import LiveEncoder

    # PyAV's muxer writes the recording as the session goes; kept as a bulletin at the end
    fd, name = tempfile.mkstemp(prefix="live-", suffix=".ogg", dir=tmp)
    os.close(fd)
    session = LiveSession(
        id=session_id,
        stream_id=uuid.uuid4().hex,
        play_id=f"live-{session_id[:16]}",
        user=user,
        request=request,
        opened_at=datetime.now(UTC),
        key=Ed25519PrivateKey.generate(),
        recording=Path(name),
        chain=LiveChain(
            target_lufs=host.config.target_lufs,
            # a voice, not music: the denoiser would smear a relayed station
            denoise=host.config.live_denoise and request.source != "relay",
        ),
        encoder=LiveEncoder(request.frame_ms, record=Path(name)),
    )
    with host.db.session() as s:
        audit.record(
            s,
            user.username,
            "live.start",
            session.play_id,
            session_id=session_id,
            title=session.title,
            reason=request.reason,
            targets=request.targets,
            source=request.source,
        )
    return session


def start_commands(host: LiveHost, session: LiveSession) -> None:
    """The start command, signed once per group of points and sent now (before anyone
    speaks), re-sent to each point until acknowledged: a point that comes back mid-session
    joins it."""
    request = session.request
    frames_per_s = 1000 / request.frame_ms
    command = LiveStartCommand(
        session_id=session.id,
        stream_id=session.stream_id,
        play_id=session.play_id,
        title=session.title[:300],
        packet_key=public_key_b64(session.key),
        frame_ms=request.frame_ms,
        delay_ms=request.delay_ms,
        max_seq=math.ceil(MAX_SESSION.total_seconds() * frames_per_s),
        quiet_s=request.quiet_s,
    )
    expires = session.opened_at + MAX_SESSION
    with host.db.session() as s:
        outbox.queue_group(
            s, host.key, command, request.targets, play_id=session.play_id, expires_at=expires
        )
    host.wake()


def feed(
    host: LiveHost,
    publisher: StreamPublisher,
    session: LiveSession,
    samples: np.ndarray,
    source_time: float | None = None,
) -> None:
    """Put one block of 48 kHz mono float32 through the session. ``source_time``: when its
    first sample was spoken (controller clock, epoch s); default: it has just arrived."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return
    if not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    chain, encoder = session.chain, session.encoder
    if session.t0 is None:
        spoken = source_time if source_time is not None else time.time() - x.size / RATE
        # packet k holds input from k·frame - (look-ahead + encoder delay) samples
        session.t0 = spoken - (chain.latency + encoder.delay) / RATE
    session.counters.samples_in += x.size
    _send(publisher, session, encoder.encode(chain.process(x)), last=False)


def _send(
    publisher: StreamPublisher, session: LiveSession, packets: list[bytes], *, last: bool
) -> None:
    assert session.t0 is not None
    frame_s = session.request.frame_ms / 1000
    topic = stream_topic(session.stream_id)
    for i, opus in enumerate(packets):
        due = session.t0 + session.seq * frame_s
        ahead = due - time.time()
        if ahead > AHEAD_S and session.stopping.wait(ahead - AHEAD_S):
            pass  # stopping: send what is left at once, the points play it in time anyway
        elif -ahead > LATE_S:
            skip = math.ceil((-ahead - frame_s) / frame_s)
            session.seq += skip
            session.counters.source_gaps += 1
        packet = LivePacket(
            session_id=session.id,
            seq=session.seq,
            source_us=round(session.t0 * 1e6) + session.seq * session.request.frame_ms * 1000,
            opus=opus,
            last=last and i == len(packets) - 1,
        )
        if publisher.publish_packet(topic, encode_packet(session.key, packet)):
            session.counters.packets_sent += 1
        else:
            session.counters.packets_refused += 1
        session.seq += 1


def finish_stream(
    host: LiveHost, publisher: StreamPublisher, session: LiveSession, reason: str
) -> int | None:
    """Send the rest and the stop commands; the last seq sent (None: no audio at all)."""
    chain, encoder = session.chain, session.encoder
    last_seq: int | None = None
    if session.t0 is None:  # nobody spoke: the points that opened it end it at once
        encoder.close()
    else:
        rest = encoder.encode(chain.flush()) + encoder.flush()
        _send(publisher, session, rest, last=True)
        last_seq = session.seq - 1
    stop = LiveStopCommand(session_id=session.id, last_seq=last_seq, reason=reason[:300])
    expires = datetime.now(UTC) + STOP_TTL
    with host.db.session() as s:
        outbox.queue_group(
            s, host.key, stop, session.request.targets, play_id=None, expires_at=expires
        )
    host.wake()
    return last_seq
