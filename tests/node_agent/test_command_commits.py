"""A command is one commit of the node's store, and nothing is said or played before it.

Driven through the agent's own message routing (tests/support/offline_node.py) on a real store;
"said" is what goes to paho, read as it is handed over, and "committed" is what a second SQLite
connection sees at that moment (WAL: only committed data).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from node_agent.agent import NodeAgent
from node_agent.store import NodeStore, PersistentReplayGuard
from protocol.messages import AudioRef, EventAck, PlayCommand, utcnow
from protocol.signing import sign_command
from protocol.topics import group_shard, group_topic, node_topic
from tests.support.keys import KEY
from tests.support.offline_node import offline_agent
from tests.support.shards import shard_mates

NODE = "loa-commit-a"
AUDIO = b"a spoken alert" * 100


class Watched:
    """The agent online, with what it publishes and commits recorded, and for each publish
    and each call on the player what was committed at that moment."""

    def __init__(self, agent: NodeAgent) -> None:
        self.agent = agent
        self.path = agent.config.data_dir / "node.sqlite3"
        self.commits = 0
        self.published: list[dict[str, Any]] = []
        self.seen_then: list[tuple[str, dict[str, int]]] = []  # (what happened, committed rows)
        agent.connected = True
        agent.store._db.set_trace_callback(self._statement)
        agent.client.publish = self._publish  # type: ignore[method-assign,assignment]
        announce = agent.player.announce_emergency

        def announced(command: PlayCommand) -> None:
            self.seen_then.append(("announce", self.committed()))
            announce(command)

        agent.player.announce_emergency = announced  # type: ignore[method-assign]

    def _statement(self, sql: str) -> None:
        self.commits += sql.strip().upper() == "COMMIT"

    def _publish(self, topic: str, payload: Any = None, *_a: Any, **_kw: Any) -> None:
        if topic == node_topic(NODE, "events"):
            event = json.loads(payload)
            self.published.append(event)
            self.seen_then.append((event["type"], self.committed()))

    def committed(self) -> dict[str, int]:
        with sqlite3.connect(self.path) as other:
            return {
                table: other.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("nonces", "plays", "outbox")
            }


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[NodeAgent]:
    made = offline_agent(tmp_path, NODE)
    yield made
    made.store.close()


def emergency(sha256: str, play_id: str = "storm") -> bytes:
    command = PlayCommand(
        play_id=play_id,
        bulletin_id=play_id,
        title="Cảnh báo lũ",
        priority="emergency",
        audio=AudioRef(sha256=sha256, size=len(AUDIO), duration_s=10.0),
        valid_until=utcnow() + timedelta(hours=1),
    )
    targets = [*shard_mates(group_shard(NODE), 3, stem="loa-commit-mate"), NODE]
    _, envelope = sign_command(KEY, command, targets, expires_at=command.valid_until)
    return envelope.model_dump_json().encode()


def cached(agent: NodeAgent) -> str:
    import hashlib

    sha256 = hashlib.sha256(AUDIO).hexdigest()
    agent.cache.append(sha256, 0, AUDIO)
    agent.cache.finish(sha256)
    return sha256


def arrive(agent: NodeAgent, payload: bytes) -> None:
    agent._on_message(group_topic(group_shard(NODE)), payload)  # as paho hands it over


def test_a_play_command_is_one_commit_and_each_event_goes_out_only_once_committed(agent):
    watched = Watched(agent)
    arrive(agent, emergency(cached(agent)))
    assert watched.commits == 1  # nonce, play, received, ready and the ack: one fsync
    assert [e["type"] for e in watched.published] == ["received", "ready", "ack"]
    for what, committed in watched.seen_then:
        assert committed == {"nonces": 1, "plays": 1, "outbox": 3}, what
    # stored and marked sent in the same write: not re-sent by the next flush
    assert agent.store.due_outbox(older_than=utcnow().timestamp() - 60) == []
    assert len(agent.store.due_outbox(older_than=float("inf"))) == 3


def test_an_emergency_whose_audio_must_load_is_announced_after_its_commit(agent):
    watched = Watched(agent)
    arrive(agent, emergency("ab" * 32))
    assert watched.commits == 1
    # what the commit made goes out together, at the first of its after-commit steps
    assert [what for what, _ in watched.seen_then] == ["received", "ack", "announce"]
    assert all(committed["nonces"] == 1 for _, committed in watched.seen_then)


def test_a_play_event_and_the_plays_state_are_one_commit(agent):
    arrive(agent, emergency(cached(agent)))
    watched = Watched(agent)
    agent.events.play("started", "storm")  # from the player's thread, as it goes on air
    assert watched.commits == 1
    assert [e["type"] for e in watched.published] == ["started"]
    assert agent.store.play("storm").state == "playing"


def test_a_command_that_died_before_its_commit_left_nothing_and_its_resend_is_carried_out(
    tmp_path,
):
    """A crash before the commit (here an error inside the command's transaction; a SIGKILL
    leaves the same uncommitted WAL) must leave neither the nonce nor an ack: the controller
    re-sends, and the node must carry it out, once; after the commit a replay is refused."""
    agent = offline_agent(tmp_path, NODE)
    sha256 = cached(agent)
    watched = Watched(agent)

    def dies(*_a: object, **_kw: object) -> None:
        raise RuntimeError("power cut")

    agent.events.command_ack = dies  # type: ignore[method-assign]
    payload = emergency(sha256)
    with pytest.raises(RuntimeError, match="power cut"):
        arrive(agent, payload)
    assert watched.published == []  # nothing said of it
    assert watched.committed() == {"nonces": 0, "plays": 0, "outbox": 0}
    agent.store.close()

    again = offline_agent(tmp_path, NODE)  # the node restarted
    watched = Watched(again)
    arrive(again, payload)  # the controller's resend
    assert [e["type"] for e in watched.published] == ["received", "ready", "ack"]
    assert watched.published[-1]["accepted"] is True
    arrive(again, payload)  # and once committed, a replay is not carried out again
    assert [e["type"] for e in watched.published[3:]] == ["ack"]
    assert [row.command.play_id for row in again.store.open_plays()] == ["storm"]
    again.store.close()

    store = NodeStore(tmp_path / "node" / "node.sqlite3")
    assert len(PersistentReplayGuard(store).seen) == 1  # the nonce is on disk
    store.close()


def test_only_forgetting_an_acknowledged_event_is_committed_without_a_sync(agent):
    """A synced commit is an fsync (milliseconds on an SD card). Forgetting acknowledged events
    may be lost to a power cut (they are re-sent and stored once by id), so it is not synced;
    the command, its events and the play's state are."""
    synced: list[tuple[str, bool]] = []  # (what the transaction wrote, synced)
    mode = {"sync": True}
    wrote: list[str] = []

    def statement(sql: str) -> None:
        sql = sql.strip().upper()
        if sql.startswith("PRAGMA SYNCHRONOUS"):
            mode["sync"] = sql.endswith("FULL")
        elif sql == "COMMIT":
            synced.append((" ".join(sorted(set(wrote))), mode["sync"]))
            wrote.clear()
        elif sql.split()[0] in ("INSERT", "UPDATE", "DELETE"):
            wrote.append(sql.split()[0])

    agent.connected = True
    agent.store._db.set_trace_callback(statement)
    arrive(agent, emergency(cached(agent)))
    ids = [e for e, _, _ in agent.store.due_outbox(float("inf"))]
    agent._on_message(node_topic(NODE, "ack"), EventAck(event_ids=ids).model_dump_json().encode())
    assert [is_synced for _, is_synced in synced] == [True, False]  # the command's, the ack's
    assert synced[1][0] == "DELETE"
    assert agent.store.due_outbox(float("inf")) == []
    assert agent.store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again


def _statement_of(sql: str) -> str:
    """``INSERT nonces``, ``SELECT plays``, ``BEGIN``...: the verb and the table it touches."""
    words = sql.split()
    verb = words[0].upper()
    marker = {"INSERT": "INTO", "DELETE": "FROM", "SELECT": "FROM"}.get(verb)
    if marker is not None:
        return f"{verb} {words[words.index(marker) + 1].split('(')[0]}"
    return f"{verb} {words[1]}" if verb == "UPDATE" else verb


def test_a_cached_emergency_reads_nothing_back_and_the_ack_of_its_events_is_one_delete(agent):
    """Each statement is CPU on a Pi, for each command at each point. The command's commit
    writes its nonce, the horizon, the play and its three events, and reads nothing back (the
    play it has just stored); no nonce has expired, so none is deleted. Forgetting the
    acknowledged events is one DELETE, not one per event."""
    statements: list[str] = []
    agent.connected = True
    agent.store._db.set_trace_callback(lambda sql: statements.append(_statement_of(sql)))
    arrive(agent, emergency(cached(agent)))
    assert statements == [
        "BEGIN",
        "INSERT nonces",
        "INSERT meta",  # the horizon
        "INSERT plays",
        "INSERT outbox",  # received
        "UPDATE plays",  # ready
        "INSERT outbox",  # ready
        "INSERT outbox",  # the ack
        "COMMIT",
    ]
    ids = [e for e, _, _ in agent.store.due_outbox(float("inf"))]
    statements.clear()
    agent._on_message(node_topic(NODE, "ack"), EventAck(event_ids=ids).model_dump_json().encode())
    assert statements == ["PRAGMA", "BEGIN", "DELETE outbox", "COMMIT", "PRAGMA"]
    assert agent.store.due_outbox(float("inf")) == []
