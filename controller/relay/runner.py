"""One relay window on the air: the station's stream through the live path, gaps filled.

A reader thread pulls the stream (controller/relay/source.py) into a queue and, when the
source fails to start or drops, tries again with back-off (1, 2, 4, 8, then every 15 s: a
station that comes back is on the air again within 15 s). The relay's own
thread feeds the live session from that queue; whenever the queue runs dry it feeds silence, so
the session (and the points' amplifiers) stay up through a gap and the station comes back on
the same session, in step everywhere. Silence rather than a filler recording: the station
comes back mid-sentence at any moment, and a recording cut off there sounds worse than a
short quiet. Each gap is kept with its reason (the source was unreachable, its stream ended,
it did not decode, it sent too much, its URL was refused) in the run's row.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from controller.db import Database
from controller.live import Live, LiveRequest
from controller.models import RelayRun, User
from controller.relay.fetch import Limits, SourceError
from controller.relay.source import pull
from schedules import Window

log = logging.getLogger(__name__)
RATE = 48000
FILL_S = 0.1  # silence fed at a time while the source is away
LOW_WATER_S = 0.15  # feed silence when less than this is queued ahead of the clock
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0)
STALL_S = 1.0  # silence this long with no failure reported is a gap of its own
QUEUE_BLOCKS = 2000  # about 50 s of MP3 frames: a reader this far ahead waits


@dataclass(frozen=True)
class SourceFailed:
    kind: str
    detail: str


class Reader(threading.Thread):
    """Pulls ``url`` into ``out`` until ``stop``; a failure is put in the queue, then retried."""

    def __init__(self, url: str, limits: dict[str, Any], out: queue.Queue[Any]) -> None:
        super().__init__(name="relay-reader", daemon=True)
        self.url, self.limits, self.out = url, limits, out
        self.stop = threading.Event()

    def run(self) -> None:
        attempt = 0
        while not self.stop.is_set():
            got = False
            try:
                for block in pull(self.url, Limits(**self.limits)):
                    got = True
                    while not self.stop.is_set():
                        try:
                            self.out.put(block, timeout=0.2)
                            break
                        except queue.Full:
                            continue
                    if self.stop.is_set():
                        return
            except SourceError as exc:
                self.out.put(SourceFailed(exc.kind, str(exc)))
            except Exception as exc:  # a source must never take the relay down with it
                log.exception("relay reader failed")
                self.out.put(SourceFailed("decode", str(exc)))
            attempt = 0 if got else attempt + 1
            self.stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])


@dataclass
class Tally:
    """What a run relayed and where it had to fill. A gap is silence on the air: from the first
    sample of silence to the station's return, with the first reason the reader gave; silence
    of a second or more with no reason is a stall (the station sent nothing); a failure the
    queue covered (no silence at all) was not heard and is no gap."""

    relayed: int = 0  # samples from the station
    filled: int = 0  # samples of silence
    gaps: list[dict[str, str]] = field(default_factory=list)
    open_gap: dict[str, str] | None = None
    filling_since: datetime | None = None
    filled_run: int = 0  # samples of silence since the station was last heard

    def fill(self, n: int) -> None:
        self.filled += n
        self.filled_run += n
        if self.filling_since is None:
            self.filling_since = datetime.now(UTC)

    def source_back(self, n: int) -> None:
        self.relayed += n
        now = datetime.now(UTC).isoformat()
        if self.open_gap is not None and self.filled_run:
            self.gaps.append({**self.open_gap, "end": now})
        elif self.open_gap is None and self.filled_run >= STALL_S * RATE:
            assert self.filling_since is not None
            self.gaps.append(
                {
                    "start": self.filling_since.isoformat(),
                    "reason": "stalled",
                    "detail": f"the station sent nothing for {self.filled_run / RATE:.1f} s",
                    "end": now,
                }
            )
        self.open_gap, self.filling_since, self.filled_run = None, None, 0

    def failed(self, what: SourceFailed) -> None:
        if self.open_gap is not None:
            return  # one gap lasts until the station is back, whatever the retries said
        start = self.filling_since or datetime.now(UTC)
        self.open_gap = {"start": start.isoformat(), "reason": what.kind, "detail": what.detail}

    def end(self, at: datetime) -> None:
        if self.open_gap is not None:
            self.gaps.append({**self.open_gap, "end": at.isoformat()})
            self.open_gap = None


def relay_window(
    live: Live,
    db: Database,
    *,
    user: User,
    relay_id: str,
    request: LiveRequest,
    url: str,
    window: Window,
    limits: dict[str, Any],
    shutdown: threading.Event | None = None,
) -> int:
    """Air ``url`` on ``request.targets`` until ``window.end``; the id of the run's row."""
    with db.session() as s:
        run = RelayRun(relay_id=relay_id, window_start=window.start, window_end=window.end)
        s.add(run)
        s.flush()
        run_id = run.id
    try:
        session = live.open(user, request)
    except Exception as exc:
        log.warning("relay %s could not go live: %s", relay_id, exc)
        _finish(db, run_id, status="failed", reason=str(exc))
        return run_id
    blocks: queue.Queue[Any] = queue.Queue(QUEUE_BLOCKS)
    reader = Reader(url, limits, blocks)
    reader.start()
    tally = Tally()
    end = window.end.timestamp()
    reason = "the relay window ended"
    try:
        live.wait_ready(session)
        while not session.stopping.is_set():
            if shutdown is not None and shutdown.is_set():
                reason = "the controller stopped"
                break
            fed_until = (
                session.t0 + session.counters.samples_in / RATE if session.t0 else time.time()
            )
            left = round((end - fed_until) * RATE)
            if left <= 0:
                break
            try:
                item = blocks.get(timeout=0.05)
            except queue.Empty:
                item = None
            if isinstance(item, SourceFailed):
                tally.failed(item)
            elif item is not None:
                block = item[:left]
                tally.source_back(block.size)
                live.feed(session, block)
            elif fed_until < time.time() + LOW_WATER_S:
                n = min(round(FILL_S * RATE), left)
                tally.fill(n)
                live.feed(session, np.zeros(n, np.float32))
    except Exception as exc:
        reason = f"the relay failed: {exc}"
        log.exception("relay %s failed", relay_id)
    finally:
        reader.stop.set()
    tally.end(min(datetime.now(UTC), window.end))
    summary = live.close(session, reason)
    _finish(
        db,
        run_id,
        # interrupted: the scheduler joins the rest of the window when the controller is back
        status="interrupted" if shutdown is not None and shutdown.is_set() else "finished",
        reason=summary.reason,
        play_id=summary.play_id,
        bulletin_id=summary.bulletin_id,
        seconds_relayed=round(tally.relayed / RATE, 3),
        seconds_filled=round(tally.filled / RATE, 3),
        gaps=tally.gaps,
    )
    return run_id


def _finish(db: Database, run_id: int, **values: Any) -> None:
    with db.session() as s:
        run = s.get(RelayRun, run_id)
        assert run is not None
        for key, value in values.items():
            setattr(run, key, value)
        run.ended_at = datetime.now(UTC)
