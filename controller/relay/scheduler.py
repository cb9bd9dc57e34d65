"""Starts each relay at its window's start and lets it run to the window's end.

A thread of its own looks once a second for relay windows running now that have no run yet in
this process and no finished run in the database, and starts each in a thread; the MQTT
dispatcher never waits on a station. A controller that comes back mid-window joins the window
for what is left of it.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.broadcast.targets import resolve_targets
from controller.config import ControllerConfig
from controller.db import Database
from controller.errors import DomainError
from controller.live import Live, LiveRequest
from controller.models import RelayRun, User
from controller.relay.runner import relay_window
from controller.relay.store import all_relays, to_item
from schedules import RelayItem, Window

log = logging.getLogger(__name__)
TICK_S = 1.0


def due(
    s: Session, when: datetime, running: set[tuple[str, datetime]]
) -> list[tuple[User, RelayItem, Window, list[str]]]:
    """The relay windows to start at ``when``: running now, not running here yet, not already
    aired to the end, made by an account that is still active (the session goes live as it)."""
    out = []
    for row in all_relays(s):
        item = to_item(row)
        window = item.window_at(when)
        if window is None or (item.id, window.start) in running:
            continue
        done = s.scalar(
            select(RelayRun.id).where(
                RelayRun.relay_id == item.id,
                RelayRun.window_start == window.start,
                RelayRun.status.in_(("finished", "failed")),
            )
        )
        user = s.get(User, row.created_by)
        if done is not None or user is None or not user.active:
            continue
        try:
            targets = resolve_targets(s, False, item.zones, item.nodes)
        except DomainError as exc:  # a village removed since: the others still relay
            log.warning("relay %s has no targets: %s", item.id, exc)
            continue
        s.expunge(user)
        out.append((user, item, window, targets))
    return out


def limits_of(config: ControllerConfig) -> dict[str, Any]:
    return {
        "allowed_hosts": list(config.relay_allowed_hosts),
        "timeout_s": config.relay_timeout_s,
        "max_kbps": config.relay_max_kbps,
    }


class RelayScheduler:
    def __init__(self, config: ControllerConfig, db: Database, live: Live) -> None:
        self._config, self._db, self._live = config, db, live
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running: dict[tuple[str, datetime], threading.Thread] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="relay-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop starting windows and end the running ones cleanly (their last packets, the
        points' stop command, the record), so a restart does not leave the points hanging."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for thread in list(self._running.values()):
            thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                self.tick(datetime.now(UTC))
            except Exception:  # one bad row must not stop every relay
                log.exception("relay scheduler")

    def tick(self, when: datetime) -> list[tuple[str, Window]]:
        """Start what is due at ``when``; what it started."""
        self._running = {k: t for k, t in self._running.items() if t.is_alive()}
        started = []
        with self._db.session() as s:
            for user, item, window, targets in due(s, when, set(self._running)):
                thread = threading.Thread(
                    target=self._run,
                    args=(user, item, window, targets),
                    name=f"relay-{item.id}",
                    daemon=True,
                )
                self._running[(item.id, window.start)] = thread
                thread.start()
                started.append((item.id, window))
        return started

    def _run(self, user: User, item: RelayItem, window: Window, targets: list[str]) -> None:
        request = LiveRequest(
            targets=targets,
            title=f"Tiếp âm / relay: {item.title}",
            reason=f"relay {item.id}",
            source="relay",
        )
        relay_window(
            self._live,
            self._db,
            user=user,
            relay_id=item.id,
            request=request,
            url=item.url,
            window=window,
            limits=limits_of(self._config),
            shutdown=self._stop,
        )
