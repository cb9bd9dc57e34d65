"""The node's durable state in one SQLite file: event outbox, accepted nonces, its schedule,
the outcome of each control command, the technician's volume and the live sessions open.

Everything a restart must not lose is written here before it is acknowledged.

Each commit is a WAL fsync (``synchronous=FULL``), which on a Pi's SD card costs milliseconds,
so a command is one transaction (:meth:`NodeStore.transaction`): its nonce, the play it stores
and the events it makes commit together, and what the world should hear of it (its events'
publishes, the player, the download) waits for that commit (:meth:`NodeStore.after_commit`).
A crash before the commit leaves no trace of the command and nothing was said of it, so the
controller's resend is carried out as if it were the first; after it, the nonce is on disk.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from protocol.messages import CommandBody, LiveStartCommand, PlayCommand, utcnow
from protocol.signing import ReplayGuard

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    event_id TEXT PRIMARY KEY, payload BLOB NOT NULL, created_at TEXT NOT NULL,
    last_sent REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS nonces (
    nonce TEXT PRIMARY KEY, command_id TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plays (
    play_id TEXT PRIMARY KEY, command TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', reason TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT PRIMARY KEY, accepted INTEGER NOT NULL, reason TEXT NOT NULL,
    expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS live (
    session_id TEXT PRIMARY KEY, command TEXT NOT NULL, expires_at TEXT NOT NULL,
    stats TEXT NOT NULL DEFAULT '{}');
"""

# SQLite before 3.32 takes at most 999 parameters in one statement.
_IDS_PER_STATEMENT = 500


@dataclass
class PlayRow:
    command: PlayCommand
    state: str  # pending | ready | playing | done | failed | cancelled


class _Transaction:
    """:meth:`NodeStore.transaction`. A class, not a ``contextlib`` generator: one emergency's
    round opens some thirty, most of them nested, and the generator's machinery cost more CPU
    than most of the statements inside them."""

    __slots__ = ("_outermost", "_store")

    def __init__(self, store: NodeStore) -> None:
        self._store = store
        self._outermost = False

    def __enter__(self) -> sqlite3.Connection:
        store = self._store
        store._lock.acquire()
        if store._depth:
            store._depth += 1
            return store._db
        try:
            store._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            store._lock.release()
            raise
        store._depth = 1
        store._opened += 1
        self._outermost = True
        return store._db

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        store = self._store
        if not self._outermost:
            store._depth -= 1
            store._lock.release()
            return
        after: list[Callable[[], object]] = []
        try:
            store._depth = 0
            if exc_type is not None:
                store._after.clear()
                store._db.execute("ROLLBACK")
                return
            try:
                store._db.execute("COMMIT")
            except BaseException:  # not committed: nothing of it may be said or played
                store._after.clear()
                with suppress(sqlite3.Error):
                    store._db.execute("ROLLBACK")
                raise
            after, store._after = store._after, []
        finally:
            store._lock.release()
        for run in after:
            run()


class NodeStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # Re-entrant: the thread that opened a transaction may write more into it; others wait.
        self._lock = threading.RLock()
        self._depth = 0  # transactions open on the thread holding the lock
        self._after: list[Callable[[], object]] = []  # to run once the outermost one commits
        self._opened = 0  # outermost transactions begun: names the one open (open_transaction)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def transaction(self) -> _Transaction:
        """One commit for everything written inside, however many writes nest in it (a nested
        one joins the outermost: an error inside rolls back the whole, unless caught inside).
        On the outermost commit, what :meth:`after_commit` was given runs, in order, after the
        store's lock is released; on a rollback it is dropped."""
        return _Transaction(self)

    @contextmanager
    def _unsynced(self) -> Iterator[sqlite3.Connection]:
        """A transaction whose commit is not fsynced, for writes a power cut may undo harmlessly
        (the outbox forgetting an acknowledged event: it is re-sent, and the controller stores
        each event once by its id). WAL stays consistent; the next synced commit makes it
        durable too. Inside an open transaction it simply joins it."""
        with self._lock:
            if self._depth:
                with self.transaction() as db:
                    yield db
                return
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                with self.transaction() as db:
                    yield db
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def after_commit(self, run: Callable[[], object]) -> None:
        """Run ``run`` once what this thread is writing is committed: at once when no
        transaction is open, else after the outermost one commits (never if it rolls back)."""
        with self._lock:
            if self._depth:
                self._after.append(run)
                return
        run()

    def open_transaction(self) -> int | None:
        """A number for the outermost transaction this thread has open (another one, even
        after a rollback, has another number); None when it has none open."""
        with self._lock:
            return self._opened if self._depth else None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- outbox ---------------------------------------------------------------------------
    def add_event(self, event_id: str, payload: bytes, sent_at: float = 0.0) -> None:
        """``sent_at``: the time it is being published (0: not yet), so storing it and marking
        it sent are one write, not two commits."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO outbox(event_id, payload, created_at, last_sent) "
                "VALUES (?,?,?,?)",
                (event_id, payload, utcnow().isoformat(), sent_at),
            )

    def due_outbox(self, older_than: float, limit: int = 100) -> list[tuple[str, bytes, float]]:
        """The events last sent before ``older_than`` (or never: 0), in the order they were
        made, with when each was last sent."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, payload, last_sent FROM outbox WHERE last_sent <= ? "
                "ORDER BY created_at LIMIT ?",
                (older_than, limit),
            ).fetchall()
        return [(r[0], bytes(r[1]), float(r[2])) for r in rows]

    def mark_sent(self, event_ids: list[str], at: float) -> None:
        with self._unsynced() as db:  # lost, the events are only re-sent sooner
            db.executemany(
                "UPDATE outbox SET last_sent=? WHERE event_id=?", [(at, e) for e in event_ids]
            )

    def ack_events(self, event_ids: list[str]) -> None:
        with self._unsynced() as db:  # lost, the events are re-sent and stored once
            # one statement per page, not per event: a round's five acknowledged together
            for at in range(0, len(event_ids), _IDS_PER_STATEMENT):
                page = event_ids[at : at + _IDS_PER_STATEMENT]
                db.execute(
                    f"DELETE FROM outbox WHERE event_id IN ({','.join('?' * len(page))})", page
                )

    # --- schedule ----------------------------------------------------------------------------
    def add_play(self, command: PlayCommand) -> bool:
        """Store a play command; False when this bulletin is already known."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO plays(play_id, command) VALUES (?,?)",
                (command.play_id, command.model_dump_json()),
            )
            return cur.rowcount == 1

    def set_play_state(self, play_id: str, state: str, reason: str = "") -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE plays SET state=?, reason=? WHERE play_id=?",
                (state, reason, play_id),
            )

    def play(self, play_id: str) -> PlayRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT command, state FROM plays WHERE play_id=?", (play_id,)
            ).fetchone()
        return PlayRow(PlayCommand.model_validate_json(row[0]), row[1]) if row else None

    def open_plays(self) -> list[PlayRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT command, state FROM plays WHERE state IN ('pending','ready','playing')"
            ).fetchall()
        return [PlayRow(PlayCommand.model_validate_json(c), s) for c, s in rows]

    # --- live sessions -------------------------------------------------------------------------
    def add_live(self, command: LiveStartCommand, expires_at: datetime) -> None:
        """A session opened here: a restart restores it until its start command expires."""
        with self.transaction() as db:
            db.execute("DELETE FROM live WHERE expires_at <= ?", (_iso(utcnow()),))
            db.execute(
                "INSERT OR IGNORE INTO live(session_id, command, expires_at) VALUES (?,?,?)",
                (command.session_id, command.model_dump_json(), _iso(expires_at)),
            )

    def save_live(self, session_id: str, stats: str) -> None:
        """Where the session stood when the agent stopped (JSON, see LiveStats.saved)."""
        with self.transaction() as db:
            db.execute("UPDATE live SET stats=? WHERE session_id=?", (stats, session_id))

    def end_live(self, session_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM live WHERE session_id=?", (session_id,))

    def open_lives(self) -> list[tuple[LiveStartCommand, str]]:
        """The sessions to restore: each start command still valid, with its saved stats."""
        with self._lock:
            rows = self._db.execute(
                "SELECT command, stats FROM live WHERE expires_at > ? ORDER BY rowid",
                (_iso(utcnow()),),
            ).fetchall()
        return [(LiveStartCommand.model_validate_json(c), st) for c, st in rows]

    # --- control commands ----------------------------------------------------------------------
    def command_outcome(self, command_id: str) -> tuple[bool, str] | None:
        """How a control command was answered, if it was carried out before (a resend)."""
        with self._lock:
            row = self._db.execute(
                "SELECT accepted, reason FROM commands WHERE command_id=?", (command_id,)
            ).fetchone()
        return (bool(row[0]), row[1]) if row else None

    def remember_outcome(
        self, command_id: str, expires_at: datetime, accepted: bool, reason: str
    ) -> None:
        # Once a command has expired the replay guard refuses its resends, so its row can go.
        with self.transaction() as db:
            db.execute("DELETE FROM commands WHERE expires_at <= ?", (_iso(utcnow()),))
            db.execute(
                "INSERT OR REPLACE INTO commands VALUES (?,?,?,?)",
                (command_id, int(accepted), reason, _iso(expires_at)),
            )

    def volume(self) -> tuple[int, datetime] | None:
        """The volume last set (percent) and the signed issue time of the command that set it."""
        with self._lock:
            rows = dict(
                self._db.execute(
                    "SELECT key, value FROM meta WHERE key IN ('volume', 'volume_issued_at')"
                ).fetchall()
            )
        if "volume" not in rows:
            return None
        return int(rows["volume"]), datetime.fromisoformat(rows["volume_issued_at"])

    def set_volume(self, volume: int, issued_at: datetime) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [("volume", str(volume)), ("volume_issued_at", _iso(issued_at))],
            )


class PersistentReplayGuard(ReplayGuard):
    """The replay guard whose nonces and horizon survive a restart of the agent."""

    def __init__(self, store: NodeStore) -> None:
        super().__init__()
        self._store = store
        with store._lock:
            db = store._db
            row = db.execute("SELECT value FROM meta WHERE key='horizon'").fetchone()
            self.horizon = datetime.fromisoformat(row[0]) if row else None
            for nonce, command_id, expires in db.execute("SELECT * FROM nonces"):
                self.seen[nonce] = (datetime.fromisoformat(expires), command_id)

    def _persist(self, body: CommandBody, *, pruned: bool) -> None:
        with self._store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO nonces VALUES (?,?,?)",
                (body.nonce, body.command_id, _iso(body.expires_at)),
            )
            if self.horizon is None:
                return
            db.execute("INSERT OR REPLACE INTO meta VALUES ('horizon', ?)", (_iso(self.horizon),))
            if pruned:  # the rows go as the memory's do, in the commit that moves the horizon
                db.execute("DELETE FROM nonces WHERE expires_at <= ?", (_iso(self.horizon),))


def _iso(dt: datetime) -> str:
    """UTC ISO text, so SQLite's string comparison orders times correctly."""
    return dt.astimezone(UTC).isoformat()
