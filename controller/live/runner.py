"""The entry point of the live path, and the registry of what is live now.

``Live`` is made once per controller (the app keeps it in ``app.state.live``). Everything that
speaks live goes through it: ``loa live`` (via the HTTP API), the web page, a relayed station::

    summary = live.run(user, LiveRequest(targets=[...], title=..., reason=...), blocks)
    summary = await live.run_async(user, request, async_blocks)

``blocks`` yields 48 kHz mono float32 arrays, or ``(source_time, array)`` pairs when the
caller knows when each block's first sample was spoken (controller clock, epoch seconds).
``run`` returns when the source ends or someone calls ``live.stop(session_id, user)``;
``live.current()`` says what is live now. For a loop of its own, ``open``/``feed``/``close``
are the same steps one by one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select

from controller import audit
from controller.errors import ForbiddenError, NotFoundError
from controller.live import record
from controller.live.session import (
    LiveHost,
    LiveRequest,
    LiveSession,
    StreamPublisher,
    feed,
    finish_stream,
    new_session,
    start_commands,
)
from controller.models import Node, OutboxCommand, User
from controller.permissions import may

log = logging.getLogger(__name__)
Block = np.ndarray | tuple[float | None, np.ndarray]
READY_S = 3.0  # how long a source that starts at once waits for the points to listen


@dataclass(frozen=True)
class LiveInfo:
    """What is live now, for a page or the API."""

    session_id: str
    play_id: str
    title: str
    user: str
    targets: list[str]
    source: str
    opened_at: datetime
    seconds_sent: float


@dataclass(frozen=True)
class LiveSummary:
    session_id: str
    play_id: str
    bulletin_id: str | None  # the recording kept as a bulletin of kind "live"
    seconds: float
    packets_sent: int
    source_gaps: int
    reason: str


class Live:
    def __init__(self, host: LiveHost, publisher: StreamPublisher) -> None:
        self._host, self._publisher = host, publisher
        self._lock = threading.Lock()
        self._sessions: dict[str, LiveSession] = {}

    # --- what is live ---------------------------------------------------------------------
    def current(self) -> list[LiveInfo]:
        with self._lock:
            sessions = list(self._sessions.values())
        return [
            LiveInfo(
                session_id=x.id,
                play_id=x.play_id,
                title=x.title,
                user=x.user.username,
                targets=list(x.request.targets),
                source=x.request.source,
                opened_at=x.opened_at,
                seconds_sent=x.seconds_sent,
            )
            for x in sessions
        ]

    def stop(self, session_id: str, user: User, reason: str = "") -> None:
        """Ask a session to end (its loop closes it: the last packets and the record)."""
        if not may(user.role, "live"):
            raise ForbiddenError(
                "live.forbidden",
                f"a {user.role} account may not end a live session",
                "Tài khoản của bạn không được kết thúc phiên trực tiếp",
            )
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise NotFoundError(
                "live.unknown", f"no live session {session_id}", "Không có phiên trực tiếp này"
            )
        session.stop_reason = reason or f"ended by {user.username}"
        session.stopping.set()
        with self._host.db.session() as s:
            audit.record(s, user.username, "live.stop", session.play_id, reason=reason)

    # --- one session, step by step --------------------------------------------------------
    def open(self, user: User, request: LiveRequest) -> LiveSession:
        with self._lock:
            busy = {t for x in self._sessions.values() for t in x.request.targets}
            session = new_session(self._host, user, request, busy)
            self._sessions[session.id] = session
        start_commands(self._host, session)
        return session

    def ready(self, session: LiveSession) -> tuple[int, int]:
        """(points listening, points online among the targets): a point listens once it
        acknowledged the start command."""
        with self._host.db.session() as s:
            acked = s.scalar(
                select(func.count())
                .select_from(OutboxCommand)
                .where(OutboxCommand.play_id == session.play_id, OutboxCommand.result == "acked")
            )
            online = s.scalar(
                select(func.count())
                .select_from(Node)
                .where(Node.id.in_(session.request.targets), Node.status != "offline")
            )
        return int(acked or 0), int(online or 0)

    def wait_ready(self, session: LiveSession, timeout: float = READY_S) -> int:
        """Wait until every online point listens (or ``timeout``); how many listen. Audio
        sent before a point listens is lost to it, so a source that starts at once (a file,
        a relay) waits for this; a person waits for the page to say "on air"."""
        deadline = time.monotonic() + timeout
        while True:
            acked, online = self.ready(session)
            if acked >= online or time.monotonic() >= deadline:
                return acked
            if session.stopping.wait(0.05):
                return acked

    def feed(self, session: LiveSession, block: Block) -> None:
        source_time, samples = block if isinstance(block, tuple) else (None, block)
        feed(self._host, self._publisher, session, samples, source_time)

    def close(self, session: LiveSession, reason: str = "") -> LiveSummary:
        reason = session.stop_reason or reason or "source ended"
        try:
            last_seq = finish_stream(self._host, self._publisher, session, reason)
            bulletin_id = record.keep(self._host, session, datetime.now(UTC))
        finally:
            with self._lock:
                self._sessions.pop(session.id, None)
        summary = LiveSummary(
            session_id=session.id,
            play_id=session.play_id,
            bulletin_id=bulletin_id,
            seconds=round(session.counters.samples_in / 48000, 3),
            packets_sent=session.counters.packets_sent,
            source_gaps=session.counters.source_gaps,
            reason=reason,
        )
        with self._host.db.session() as s:
            audit.record(
                s,
                session.user.username,
                "live.end",
                session.play_id,
                bulletin_id=bulletin_id,
                seconds=summary.seconds,
                last_seq=last_seq,
                reason=reason,
            )
        log.info("live %s ended: %s", session.play_id, summary)
        return summary

    # --- the whole loop -------------------------------------------------------------------
    def run(self, user: User, request: LiveRequest, blocks: Iterable[Block]) -> LiveSummary:
        session = self.open(user, request)
        reason = ""
        try:
            self.wait_ready(session)
            for block in blocks:
                if session.stopping.is_set():
                    break
                self.feed(session, block)
        except Exception as exc:
            reason = f"the live source failed: {exc}"
            log.exception("live %s: source failed", session.play_id)
        return self.close(session, reason)

    async def run_async(
        self, user: User, request: LiveRequest, blocks: AsyncIterable[Block]
    ) -> LiveSummary:
        """``run`` for an async source (a WebSocket, a request body): the work runs in
        threads, the event loop only waits."""
        session = await asyncio.to_thread(self.open, user, request)
        reason = ""
        try:
            await asyncio.to_thread(self.wait_ready, session)
            async for block in blocks:
                if session.stopping.is_set():
                    break
                await asyncio.to_thread(self.feed, session, block)
        except Exception as exc:
            reason = f"the live source failed: {exc}"
            log.exception("live %s: source failed", session.play_id)
        return await asyncio.to_thread(self.close, session, reason)
