"""Public audio made ahead: the renditions of a public bulletin are encoded in the background
as soon as it goes through (sent, or approved), so the first villager who opens it on a 2G
phone does not wait for an encode. Rendering on request (``renditions.rendition``) stays as the
fallback for anything this has not reached yet.

The commit that sends, approves or publishes a bulletin (or raises an alert) wakes the
preparer, whatever part of the app made it; a pass every ``FALLBACK_S`` catches the rest (a
wake lost to a restart, audio restored later).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from controller.config import ControllerConfig
from controller.db import Database
from controller.models import Alert, Bulletin
from controller.public import listing, renditions

log = logging.getLogger(__name__)
FALLBACK_S = 600.0
RECENT = 20  # as many as a page lists: older ones are rarely opened, and made on request
_TOUCHED = ("loa.public.prepare", object())  # session.info flag: a bulletin or alert changed


def missing(s: Session, config: ControllerConfig) -> list[str]:
    """Stored audio of the latest bulletins the public may hear, still lacking a rendition."""
    query = (
        select(Bulletin.audio_sha256)
        .where(listing.listed())
        .order_by(Bulletin.created_at.desc())
        .limit(RECENT)
    )
    return [
        sha
        for sha in dict.fromkeys(s.scalars(query))
        if any(not renditions.path(config, sha, kind).exists() for kind in renditions.FORMATS)
    ]


def prepare(config: ControllerConfig, db: Database) -> int:
    """Make what ``missing`` finds; returns the stored audios now fully rendered. Audio that
    cannot be read is logged and skipped (its page answers as it would without this)."""
    with db.session() as s:
        shas = missing(s, config)
    made = 0
    for sha in shas:
        try:
            for kind in renditions.FORMATS:
                renditions.rendition(config, sha, kind)
        except renditions.RenditionError as exc:
            log.warning("public audio not made ahead: %s", exc)
            continue
        made += 1
    return made


def wake_on_change(db: Database, wake: Callable[[], None]) -> Callable[[], None]:
    """Call ``wake`` after each commit that added or changed a bulletin or an alert (sent,
    approved, made public, ...); returns the function that stops it."""

    def flushed(session: Session, _context: Any) -> None:
        changed = (*session.new, *session.dirty)
        if any(isinstance(obj, (Bulletin, Alert)) for obj in changed):
            session.info[_TOUCHED] = True

    def committed(session: Session) -> None:
        if session.info.pop(_TOUCHED, False):
            wake()

    def rolled_back(session: Session) -> None:
        session.info.pop(_TOUCHED, None)

    hooks = (("after_flush", flushed), ("after_commit", committed), ("after_rollback", rolled_back))
    for name, fn in hooks:
        event.listen(db.sessions, name, fn)

    def stop() -> None:
        for name, fn in hooks:
            event.remove(db.sessions, name, fn)

    return stop


class Preparer:
    """One background thread running ``prepare`` when woken, and every ``FALLBACK_S``."""

    def __init__(self, config: ControllerConfig, db: Database) -> None:
        self.config = config
        self.db = db
        self.woken = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unhook: Callable[[], None] | None = None

    def listen(self) -> None:
        if self._unhook is None:
            self._unhook = wake_on_change(self.db, self.woken.set)

    def start(self) -> None:
        self.listen()
        self._thread = threading.Thread(target=self._run, name="public-audio", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._unhook is not None:
            self._unhook()
            self._unhook = None
        self._stop.set()
        self.woken.set()
        if self._thread is not None:
            self._thread.join()  # an encode in progress finishes: its file stays whole
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.woken.clear()
            try:
                prepare(self.config, self.db)
            except Exception:  # the database busy for a moment: the next wake tries again
                log.exception("public audio: pass failed")
            self.woken.wait(FALLBACK_S)
