"""What a node does after a restart with the plays it had open (node_agent.bulletins.restore)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from node_agent.bulletins import ALERT_AGAIN, DIED_ON_AIR, Bulletins
from node_agent.store import PlayRow
from protocol.messages import AudioRef, PlayCommand, utcnow


class Rows:
    def __init__(self, rows: list[PlayRow]) -> None:
        self.rows = {row.command.play_id: row for row in rows}

    def open_plays(self) -> list[PlayRow]:
        return list(self.rows.values())

    def play(self, play_id: str) -> PlayRow | None:
        return self.rows.get(play_id)

    def set_play_state(self, play_id: str, state: str, _reason: str = "") -> None:
        self.rows[play_id].state = state

    def transaction(self) -> contextlib.nullcontext[None]:  # nothing to commit: in memory
        return contextlib.nullcontext()

    def after_commit(self, run: Callable[[], None]) -> None:
        run()


class Reporter:
    def __init__(self, rows: Rows) -> None:
        self.rows, self.sent = rows, []  # type: ignore[var-annotated]

    def play(self, kind: str, play_id: str, **kw: Any) -> None:
        self.sent.append((kind, play_id, kw.get("reason", "")))
        after = {"interrupted": "ready", "failed": "failed"}.get(kind)
        if after:
            self.rows.set_play_state(play_id, after)


class Player:
    def __init__(self) -> None:
        self.added: list[str] = []

    def add(self, command: PlayCommand) -> None:
        self.added.append(command.play_id)


class Cache:
    def has(self, _sha: str) -> bool:
        return True


def command(play_id: str, priority: str) -> PlayCommand:
    return PlayCommand(
        play_id=play_id,
        bulletin_id=play_id,
        audio=AudioRef(sha256="ab" * 32, size=1, duration_s=20.0),
        valid_until=utcnow() + timedelta(minutes=30),
        priority=priority,
    )


def test_a_bulletin_on_air_when_the_node_died_is_not_aired_again_but_an_alert_is():
    rows = Rows(
        [
            PlayRow(command("news", "normal"), "playing"),
            PlayRow(command("storm", "emergency"), "playing"),
            PlayRow(command("later", "normal"), "ready"),
        ]
    )
    reporter, player = Reporter(rows), Player()
    bulletins = Bulletins(
        rows,  # type: ignore[arg-type]
        Cache(),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        player,  # type: ignore[arg-type]
        reporter,  # type: ignore[arg-type]
        online=lambda: True,
    )
    bulletins.restore()
    assert ("failed", "news", DIED_ON_AIR) in reporter.sent
    assert ("interrupted", "storm", ALERT_AGAIN) in reporter.sent
    assert player.added == ["storm", "later"]  # the alert from the top; the news never again
