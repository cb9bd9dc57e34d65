"""The node's side of a bulletin before it plays: stored, its audio fetched, handed to the player.

A play command is kept in the node's store; its audio comes from the cache or is pulled from the
controller, and the player gets the item once the audio is there. An emergency due now goes on
air with the attention signal while its audio is still loading.

A play whose audio has not come by the end of its validity is reported failed with how much of
it came (``check_deadlines``), instead of waiting silently for audio that could no longer air;
an announced emergency is the player's to report (its attention signal is on air). One whose
download fails is given up by the player at once, so it neither holds the programme back until
it lapses nor is reported twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import ValidationError

from node_agent.cache import AudioCache, CacheError
from node_agent.events import EventReporter
from node_agent.fetcher import Fetcher
from node_agent.player import Player
from node_agent.store import NodeStore, PlayRow
from protocol.messages import CONTENT_ADAPTER, CancelCommand, PlayCommand, utcnow
from protocol.topics import shared_content_piece

# How soon an emergency must be due for its attention signal to sound before its audio is here.
_ANNOUNCE_AHEAD = timedelta(seconds=5)
# The node died while this was on air (power cut, crash, SIGKILL): it kept no record of where
# it stopped, so it neither starts it again from the top (the village would hear it twice) nor
# guesses a place to resume; it reports the airing interrupted and the controller decides.
DIED_ON_AIR = "node restarted while playing; not aired again from the start"
# An alert is the exception: hearing a storm warning twice harms no one, missing its end might.
ALERT_AGAIN = "node restarted while playing an alert; aired again from the start"


class Bulletins:
    def __init__(
        self,
        store: NodeStore,
        cache: AudioCache,
        fetcher: Fetcher,
        player: Player,
        reporter: EventReporter,
        *,
        online: Callable[[], bool],
        fetched: Callable[[str], None] = lambda _sha: None,
        unfetchable: Callable[[str, str], None] = lambda _sha, _why: None,
    ) -> None:
        """``fetched`` and ``unfetchable`` hear of every download, for what is not audio (a
        release's wheel comes through the same fetcher and cache)."""
        self._store, self._cache, self._fetcher = store, cache, fetcher
        self._fetched, self._unfetchable = fetched, unfetchable
        self._player, self._reporter, self._online = player, reporter, online
        self._waiting: dict[str, set[str]] = {}  # sha256 -> play ids waiting for that audio
        self._announced: set[str] = set()  # emergencies on air while their audio loads
        self._deadline: dict[str, tuple[datetime, int]] = {}  # play id -> (valid until, size)

    def restore(self) -> None:
        """After a restart: every play not yet over goes back to the player (or its download),
        except one that was on air when the node died (see :data:`DIED_ON_AIR`); an alert on
        air then is aired again from the start while it is still valid (:data:`ALERT_AGAIN`)."""
        for row in self._store.open_plays():
            if row.state == "playing" and row.command.priority == "emergency":
                self._reporter.play("interrupted", row.command.play_id, reason=ALERT_AGAIN)
            elif row.state == "playing":
                self._reporter.play(
                    "failed", row.command.play_id, reason=DIED_ON_AIR, interrupted=True
                )
                continue
            self._prepare(row.command)

    def on_play(self, command: PlayCommand) -> None:
        # Idempotent: a play is stored once by its id, so a resend does nothing.
        with self._store.transaction():  # stored and reported in one commit
            if self._store.add_play(command):
                self._reporter.play("received", command.play_id)
                self._prepare(command, stored=PlayRow(command, "pending"))

    def on_cancel(self, command: CancelCommand) -> None:
        for play_id in command.play_ids:
            row = self._store.play(play_id)
            if row is None or row.state in ("done", "failed", "cancelled"):
                continue
            self.forget(play_id)
            if self._player.cancel(play_id) != "playing":  # a playing item reports itself
                self._reporter.play("cancelled", play_id, reason=command.reason or "cancelled")

    def refetch(self, command: PlayCommand) -> None:
        """The player found ``command``'s audio rotted as it went to air: fetch it again; it
        goes back to the player when it arrives (or is reported missed if too late)."""
        row = self._store.play(command.play_id)
        if row is not None and row.state in ("pending", "ready"):
            self._prepare(row.command)

    def forget(self, play_id: str) -> None:
        """``play_id`` is over: its audio arriving later must not bring it back."""
        for waiting in self._waiting.values():
            waiting.discard(play_id)
        self._announced.discard(play_id)
        self._deadline.pop(play_id, None)

    def check_deadlines(self, now: datetime) -> None:
        """Report failed, with the reason, every play still waiting for its audio once its
        validity is over: it can no longer air, and the controller must hear why."""
        for sha, play_ids in list(self._waiting.items()):
            for play_id in sorted(play_ids):
                valid_until, size = self._deadline[play_id]
                if valid_until > now or play_id in self._announced:
                    continue  # an alert on air: the player reports it when it expires
                play_ids.discard(play_id)
                del self._deadline[play_id]
                where = "" if self._online() else "; the node is offline"
                self._reporter.play(
                    "failed",
                    play_id,
                    # no UTC time: officials read reports in the commune's own time
                    reason="audio not received before the play's validity ended: "
                    f"{self._fetcher.progress(sha)} of {size} bytes{where}",
                )
            if not play_ids:
                del self._waiting[sha]
                self._fetcher.abandon(sha)  # its partial file stays for a later play of it

    def on_content(self, topic: str, payload: bytes) -> None:
        """A chunk of audio (or the controller's word that it cannot serve one)."""
        piece = shared_content_piece(topic)
        if piece is not None and not self._fetcher.listens(*piece):
            # Published again for a point that asked later, and here before this node's
            # unsubscribe reached the broker: a piece it has already, left unparsed (87 KB of
            # JSON for a 64 KiB piece, many times a download while a thousand points fetch).
            return
        try:
            msg = CONTENT_ADAPTER.validate_json(payload)
        except ValidationError as exc:
            self._reporter.reject(topic, f"malformed content message: {exc.errors()[0]['msg']}")
            return
        if msg.type == "chunk_unavailable":
            reason = self._fetcher.on_unavailable(msg)
            if reason is not None:
                self._fail_waiting(msg.sha256, f"controller cannot serve the audio: {reason}")
                self._unfetchable(msg.sha256, reason)
            return
        try:
            done = self._fetcher.on_chunk(msg)
        except CacheError as exc:
            self._fail_waiting(msg.sha256, str(exc))
            self._unfetchable(msg.sha256, str(exc))
            return
        if done:
            self._arrived(done)

    def _arrived(self, sha256: str) -> None:
        for play_id in sorted(self._waiting.pop(sha256, set())):
            self._deadline.pop(play_id, None)
            self._ready(play_id)
        self._fetched(sha256)

    def _prepare(self, command: PlayCommand, *, stored: PlayRow | None = None) -> None:
        """The player and the download act once the play is committed (the store's
        ``after_commit``): a crash before it leaves nothing half done to resume. ``stored``:
        the play as this transaction has just stored it, so it is not read back."""
        sha = command.audio.sha256
        if self._cache.has(sha):
            self._ready(command.play_id, stored)
            return
        self._waiting.setdefault(sha, set()).add(command.play_id)
        self._deadline[command.play_id] = (command.valid_until, command.audio.size)
        due_now = command.play_at is None or command.play_at <= utcnow() + _ANNOUNCE_AHEAD
        if command.priority == "emergency" and due_now:  # on air now, while the audio loads
            self._announced.add(command.play_id)
            self._store.after_commit(lambda: self._player.announce_emergency(command))
        self._store.after_commit(lambda: self._fetch(command))

    def _fetch(self, command: PlayCommand) -> None:
        sha = command.audio.sha256
        try:
            if self._fetcher.want(sha, command.audio.size, online=self._online()):
                self._arrived(sha)  # its partial file was whole: nothing to fetch
        except CacheError as exc:
            self._fail_waiting(sha, str(exc))

    def _ready(self, play_id: str, stored: PlayRow | None = None) -> None:
        with self._store.transaction():  # its state and its event: one commit
            row = stored or self._store.play(play_id)
            if row is None or row.state not in ("pending", "ready", "playing"):
                return
            if row.state == "pending":
                self._store.set_play_state(play_id, "ready")
                self._reporter.play("ready", play_id)
            self._store.after_commit(lambda: self._player.add(row.command))

    def _fail_waiting(self, sha256: str, reason: str) -> None:
        self._fetcher.abandon(sha256)
        for play_id in sorted(self._waiting.pop(sha256, set())):
            self._deadline.pop(play_id, None)
            if play_id in self._announced:  # else it held the programme and failed twice
                self._announced.discard(play_id)
                self._player.give_up(play_id, reason)
            self._reporter.play("failed", play_id, reason=reason)
