"""The signed command envelope: what a node accepts and what it refuses, and why."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest

from protocol.messages import AudioRef, CommandBody, PlayCommand, SetVolumeCommand, utcnow
from protocol.signing import (
    MAX_ISSUE_SKEW,
    CommandRejectedError,
    ReplayGuard,
    key_id,
    new_private_key,
    public_key_b64,
    sign_command,
    verify_envelope,
)
from tests.support.keys import KEY, PUB


def play() -> PlayCommand:
    return PlayCommand(
        play_id="b1",
        bulletin_id="b1",
        audio=AudioRef(sha256="a" * 64, size=10, duration_s=1.0),
        valid_until=utcnow() + timedelta(hours=1),
    )


def envelope_bytes(**kw: object) -> bytes:
    return sign_command(KEY, play(), ["node-a"], **kw)[1].model_dump_json().encode()  # type: ignore[arg-type]


def test_a_good_command_is_accepted_once_and_its_resend_is_marked_duplicate():
    guard = ReplayGuard()
    raw = envelope_bytes()
    first = verify_envelope(raw, PUB, "node-a", guard)
    assert not first.duplicate
    assert isinstance(first.body.command, PlayCommand)
    assert first.body.command.bulletin_id == "b1"
    again = verify_envelope(raw, PUB, "node-a", guard)
    assert again.duplicate  # acknowledged again, acted on once


def test_forged_signature_is_rejected():
    other = new_private_key()
    raw = sign_command(other, play(), ["node-a"])[1].model_dump_json().encode()
    with pytest.raises(CommandRejectedError, match="bad signature") as info:
        verify_envelope(raw, PUB, "node-a", ReplayGuard())
    assert info.value.command_id is None  # nothing from a forged body is trusted


def test_tampered_body_is_rejected():
    env = json.loads(envelope_bytes())
    body = json.loads(base64.b64decode(env["body"]))
    body["targets"] = ["node-a", "node-b"]
    env["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    with pytest.raises(CommandRejectedError, match="bad signature"):
        verify_envelope(json.dumps(env).encode(), PUB, "node-a", ReplayGuard())


def test_command_for_another_node_is_rejected():
    with pytest.raises(CommandRejectedError, match="addressed to"):
        verify_envelope(envelope_bytes(), PUB, "node-b", ReplayGuard())


def test_expired_command_is_rejected_with_its_id():
    past = utcnow() - timedelta(minutes=5)
    body, envelope = sign_command(
        KEY, play(), ["node-a"], issued_at=past - timedelta(minutes=1), expires_at=past
    )
    raw = envelope.model_dump_json().encode()
    with pytest.raises(CommandRejectedError, match="expired") as info:
        verify_envelope(raw, PUB, "node-a", ReplayGuard())
    assert info.value.command_id == body.command_id  # signed, so the node can nack it


@pytest.mark.parametrize("payload", [b"", b"not json", b"{}", b'{"v":1,"type":"signed"}', b"\xff"])
def test_malformed_payloads_are_rejected_not_crashed_on(payload):
    with pytest.raises(CommandRejectedError, match="not a signed command"):
        verify_envelope(payload, PUB, "node-a", ReplayGuard())


def test_replay_after_the_clock_is_set_back_is_still_rejected():
    """A node whose clock jumps back must not accept an old command that looks valid again."""
    guard = ReplayGuard()
    t0 = utcnow()
    old_raw = envelope_bytes(issued_at=t0, expires_at=t0 + timedelta(minutes=10))
    verify_envelope(old_raw, PUB, "node-a", guard)
    # Later the controller sends newer commands; the old one's nonce is pruned from memory.
    later = t0 + timedelta(hours=1)
    newer = sign_command(
        KEY, play(), ["node-a"], issued_at=later, expires_at=later + timedelta(minutes=10)
    )
    guard.check_and_remember(newer[0], now=later)
    assert len(guard.seen) == 1
    # The node's clock is now wrong (back at t0): by that clock the old command is valid.
    old_body = CommandBody.model_validate_json(base64.b64decode(json.loads(old_raw)["body"]))
    with pytest.raises(CommandRejectedError, match="replayed or stale"):
        guard.check_and_remember(old_body, now=t0)


def test_overlong_lifetime_is_rejected():
    t = utcnow()
    raw = envelope_bytes(issued_at=t, expires_at=t + timedelta(days=30))
    with pytest.raises(CommandRejectedError, match="7-day"):
        verify_envelope(raw, PUB, "node-a", ReplayGuard())


def test_a_signer_id_given_once_is_the_keys_own_and_the_node_still_verifies():
    key = new_private_key()
    signer = key_id(public_key_b64(key))
    command = SetVolumeCommand(volume=40)
    _body, envelope = sign_command(key, command, ["loa-1"], signer_id=signer)
    _body, plain = sign_command(key, command, ["loa-1"])
    assert envelope.key_id == plain.key_id == signer
    verified = verify_envelope(
        envelope.model_dump_json().encode(), key.public_key(), "loa-1", ReplayGuard()
    )
    assert verified.body.command == command


def signed_body(issued_at: datetime, minutes: float = 10) -> CommandBody:
    return sign_command(
        KEY,
        play(),
        ["node-a"],
        issued_at=issued_at,
        expires_at=issued_at + timedelta(minutes=minutes),
    )[0]


def test_a_command_dated_far_ahead_does_not_move_the_horizon_past_the_skew():
    """A year-ahead command (the controller's clock jumped) must not make every honest command
    after it look stale: its issue time counts only up to now + MAX_ISSUE_SKEW."""
    guard, now = ReplayGuard(), utcnow()
    guard.check_and_remember(signed_body(now + timedelta(days=365)), now=now)
    assert guard.horizon == now + MAX_ISSUE_SKEW
    honest = signed_body(now, minutes=60)  # issued now, expires after the capped horizon
    assert guard.check_and_remember(honest, now=now) is False


def test_a_far_ahead_command_kept_by_nonce_is_still_refused_when_replayed():
    guard, now = ReplayGuard(), utcnow()
    ahead = signed_body(now + timedelta(days=365))
    guard.check_and_remember(ahead, now=now)
    later = now + timedelta(days=2)
    guard.check_and_remember(signed_body(later), now=later)  # prunes only what expired before
    assert guard.check_and_remember(ahead, now=later) is True  # a resend: acknowledged, not acted


def test_after_the_clock_jumps_back_ten_minutes_a_pruned_replay_is_refused():
    guard, now = ReplayGuard(), utcnow()
    old = signed_body(now, minutes=5)
    guard.check_and_remember(old, now=now)
    newer = signed_body(now + timedelta(minutes=6))
    guard.check_and_remember(newer, now=now + timedelta(minutes=6))
    assert old.nonce not in guard.seen  # pruned: it expired before the horizon
    with pytest.raises(CommandRejectedError, match="replayed or stale"):
        guard.check_and_remember(old, now=now + timedelta(minutes=6) - timedelta(minutes=10))


def test_after_the_clock_jumps_forward_ten_minutes_an_expired_command_is_refused():
    guard, now = ReplayGuard(), utcnow()
    body = signed_body(now, minutes=5)
    with pytest.raises(CommandRejectedError, match="expired at"):
        guard.check_and_remember(body, now=now + timedelta(minutes=10))
    assert body.nonce not in guard.seen


def test_a_node_that_knows_its_clock_is_ahead_judges_expiry_by_the_controllers_time():
    """10 min ahead, a bulletin with 5 min left looks expired by the node's clock; with the
    measured correction it is taken, and its replay is still refused."""
    now = utcnow()
    raw = envelope_bytes(issued_at=now, expires_at=now + timedelta(minutes=5))
    with pytest.raises(CommandRejectedError, match="expired at"):
        verify_envelope(raw, PUB, "node-a", ReplayGuard(), now + timedelta(minutes=10))
    guard = ReplayGuard()
    assert not verify_envelope(raw, PUB, "node-a", guard, now).duplicate
    assert verify_envelope(raw, PUB, "node-a", guard, now).duplicate


def test_a_node_ten_minutes_slow_accepts_fresh_commands_and_refuses_their_replay():
    guard, now = ReplayGuard(), utcnow()
    slow = now - timedelta(minutes=10)
    first = signed_body(now, minutes=60)
    assert guard.check_and_remember(first, now=slow) is False
    assert guard.horizon == now  # within the skew: the controller's time counts
    assert guard.check_and_remember(first, now=slow) is True
