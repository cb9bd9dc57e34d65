"""What the node must not forget across a restart: unacknowledged events, nonces, schedule,
the answers to control commands and the volume."""

from __future__ import annotations

from datetime import timedelta

import pytest

from node_agent.store import NodeStore, PersistentReplayGuard
from protocol.messages import AudioRef, CommandBody, PlayCommand, utcnow
from protocol.signing import CommandRejectedError, new_private_key, sign_command


def test_outbox_survives_a_restart_until_acknowledged(tmp_path):
    store = NodeStore(tmp_path / "n.sqlite3")
    store.add_event("e1", b"one")
    store.add_event("e2", b"two")
    store.mark_sent(["e1", "e2"], at=100.0)
    store.close()

    again = NodeStore(tmp_path / "n.sqlite3")
    assert again.due_outbox(older_than=50.0) == []  # sent recently: not yet due
    assert [e for e, _, _ in again.due_outbox(older_than=200.0)] == ["e1", "e2"]
    again.ack_events(["e1"])
    assert [p for _, p, _ in again.due_outbox(older_than=200.0)] == [b"two"]


def test_accepted_nonces_survive_a_restart(tmp_path):
    key = new_private_key()
    command = PlayCommand(
        play_id="p",
        bulletin_id="b",
        audio=AudioRef(sha256="b" * 64, size=1, duration_s=1),
        valid_until=utcnow() + timedelta(hours=1),
    )
    body, _ = sign_command(key, command, ["node-a"])
    store = NodeStore(tmp_path / "n.sqlite3")
    assert PersistentReplayGuard(store).check_and_remember(body) is False
    store.close()

    store = NodeStore(tmp_path / "n.sqlite3")
    guard = PersistentReplayGuard(store)
    assert guard.check_and_remember(body) is True  # known: a duplicate, not a new command
    # and the horizon came back too: a command that expired before it is refused
    old, _ = sign_command(
        key,
        command,
        ["node-a"],
        issued_at=body.issued_at - timedelta(hours=2),
        expires_at=body.issued_at - timedelta(hours=1),
    )
    with pytest.raises(CommandRejectedError, match="replayed or stale"):
        guard.check_and_remember(old, now=old.issued_at)


def test_schedule_survives_a_restart(tmp_path):
    command = PlayCommand(
        play_id="b2",
        bulletin_id="b2",
        audio=AudioRef(sha256="c" * 64, size=1, duration_s=1),
        valid_until=utcnow() + timedelta(hours=1),
    )
    store = NodeStore(tmp_path / "n.sqlite3")
    assert store.add_play(command)
    assert not store.add_play(command)  # a resend does not schedule it twice
    store.set_play_state("b2", "ready")
    store.close()
    rows = NodeStore(tmp_path / "n.sqlite3").open_plays()
    assert [(r.command, r.state) for r in rows] == [(command, "ready")]


def test_volume_survives_a_restart(tmp_path):
    store = NodeStore(tmp_path / "n.sqlite3")
    assert store.volume() is None  # never set: the agent uses the full volume
    issued = utcnow()
    store.set_volume(35, issued)
    store.close()
    assert NodeStore(tmp_path / "n.sqlite3").volume() == (35, issued)


def test_control_command_answers_survive_a_restart_until_they_expire(tmp_path):
    store = NodeStore(tmp_path / "n.sqlite3")
    store.remember_outcome("c1", utcnow() + timedelta(minutes=1), False, "emergency on air")
    store.remember_outcome("old", utcnow() - timedelta(seconds=1), True, "")
    store.close()
    again = NodeStore(tmp_path / "n.sqlite3")
    assert again.command_outcome("c1") == (False, "emergency on air")
    again.remember_outcome("c2", utcnow() + timedelta(minutes=1), True, "")
    assert again.command_outcome("c2") == (True, "")
    assert again.command_outcome("old") is None  # expired: the replay guard refuses it anyway


def test_a_nonce_leaves_the_store_once_a_newer_command_passes_its_expiry(tmp_path):
    """The guard prunes only when a nonce has expired before the horizon; the store's rows go
    with it, in the same commit, and a restarted guard prunes the ones it loaded."""
    key, t0 = new_private_key(), utcnow()
    command = PlayCommand(
        play_id="p",
        bulletin_id="b",
        audio=AudioRef(sha256="b" * 64, size=1, duration_s=1),
        valid_until=t0 + timedelta(hours=2),
    )

    def body(issued_after_min: int, lasting_min: int) -> CommandBody:
        issued = t0 + timedelta(minutes=issued_after_min)
        signed, _ = sign_command(
            key,
            command,
            ["node-a"],
            issued_at=issued,
            expires_at=issued + timedelta(minutes=lasting_min),
        )
        return signed

    def stored(store: NodeStore) -> set[str]:
        return {n for (n,) in store._db.execute("SELECT nonce FROM nonces")}

    store = NodeStore(tmp_path / "n.sqlite3")
    guard = PersistentReplayGuard(store)
    old, newer, later = body(0, 10), body(5, 60), body(20, 60)
    guard.check_and_remember(old, now=t0)
    guard.check_and_remember(newer, now=t0 + timedelta(minutes=5))  # old still valid: kept
    assert stored(store) == {old.nonce, newer.nonce}
    guard.check_and_remember(later, now=t0 + timedelta(minutes=20))  # past old's expiry
    assert stored(store) == set(guard.seen) == {newer.nonce, later.nonce}
    store.close()

    store = NodeStore(tmp_path / "n.sqlite3")
    guard = PersistentReplayGuard(store)
    with pytest.raises(CommandRejectedError, match="replayed or stale"):
        guard.check_and_remember(old, now=t0)
    guard.check_and_remember(body(70, 60), now=t0 + timedelta(minutes=70))  # past newer's
    assert stored(store) == set(guard.seen)
    assert newer.nonce not in guard.seen
    store.close()
