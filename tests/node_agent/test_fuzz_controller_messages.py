"""Everything that can arrive on a node's own topics, fuzzed: junk bytes and any JSON on
``cmd``, ``content`` and ``ack``; signed commands that are hostile (addressed to another node,
expired, lasting past the protocol's limit, re-targeted after signing, signed by another key,
replayed, far-future times, values outside the protocol's bounds). Driven through the agent's
own handlers (``commands``, ``bulletins``, ``events``) on a real node store and cache, offline,
with a WAV sink and a recording relay; no broker, and the player is not started.

For every message: nothing raises; nothing joins the node's programme unless it is a play
command validly signed for this node; what is refused is reported as a ``rejected`` event (a
command's nack beside it), at most two events per message, each one small enough to publish.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from node_agent.agent import NodeAgent
from protocol.messages import (
    CONTENT_ADAPTER,
    AudioRef,
    CancelCommand,
    EventAck,
    PlayCommand,
    SetVolumeCommand,
    StopCommand,
    TestToneCommand,
    utcnow,
)
from protocol.signing import (
    CommandRejectedError,
    ReplayGuard,
    new_private_key,
    sign_command,
    verify_envelope,
)
from protocol.topics import NodeChannel, node_topic
from tests.support.hostile import EDGE_INTS, FUZZ, LONG_TEXT, payloads
from tests.support.keys import KEY, PUB
from tests.support.offline_node import offline_agent

NODE, OTHER = "loa-fuzz-a", "loa-fuzz-b"
WANTED = "ab" * 32  # audio a play is waiting for, so chunks of it reach the cache
EVENT_BYTES = 2048  # an event is a sentence about one message, never the message itself
FORGER = new_private_key()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[NodeAgent]:
    made = offline_agent(tmp_path, NODE)
    # one play waiting for its audio: chunks of WANTED go to the fetcher and the cache
    _, waiting = sign_command(KEY, play("waiting", sha=WANTED, size=10_000), [NODE])
    made.commands.on_command(node_topic(NODE, "cmd"), waiting.model_dump_json().encode())
    yield made
    made.store.close()


def play(
    play_id: str,
    *,
    sha: str = "cd" * 32,
    size: int = 100,
    play_at: datetime | None = None,
    valid_until: datetime | None = None,
) -> PlayCommand:
    return PlayCommand(
        play_id=play_id,
        bulletin_id=play_id,
        audio=AudioRef(sha256=sha, size=size, duration_s=1.0),
        play_at=play_at,
        valid_until=valid_until or utcnow() + timedelta(hours=1),
    )


def programme(agent: NodeAgent) -> set[str]:
    return {row.command.play_id for row in agent.store.open_plays()}


def outbox(agent: NodeAgent) -> list[dict[str, Any]]:
    return [json.loads(p) for _, p, _ in agent.store.due_outbox(float("inf"), limit=10**6)]


def accepted_play(payload: bytes) -> str | None:
    """The play id a node must add for ``payload``: a play validly signed for it."""
    try:
        body = verify_envelope(payload, PUB, NODE, ReplayGuard()).body
    except CommandRejectedError:
        return None
    return body.command.play_id if isinstance(body.command, PlayCommand) else None


def receive(agent: NodeAgent, channel: NodeChannel, payload: bytes) -> list[dict[str, Any]]:
    """Hand ``payload`` to the agent's handler for ``channel``; check the programme and what
    was reported; returns the events it made."""
    before_programme, before_events = programme(agent), outbox(agent)
    topic = node_topic(NODE, channel)
    if channel == "cmd":
        agent.commands.on_command(topic, payload)
    elif channel == "content":
        agent.bulletins.on_content(topic, payload)
    else:
        agent.events.on_ack(topic, payload)

    added = programme(agent) - before_programme
    allowed = accepted_play(payload) if channel == "cmd" else None
    assert added <= {allowed}, f"{added} joined the programme"
    known = {e["event_id"] for e in before_events}
    made = [e for e in outbox(agent) if e["event_id"] not in known]
    assert len(made) <= 2, made
    for event in made:
        assert len(json.dumps(event).encode()) <= EVENT_BYTES, event["type"]
    return made


EVENT_ACK: TypeAdapter[EventAck] = TypeAdapter(EventAck)


def parses(adapter: TypeAdapter[Any], payload: bytes) -> bool:
    try:
        adapter.validate_json(payload)
    except ValidationError:
        return False
    return True


def rejected(events: list[dict[str, Any]]) -> bool:
    return any(e["type"] == "rejected" for e in events)


# --- junk and hostile JSON on each channel ------------------------------------------------------


def envelope_json() -> dict[str, Any]:
    _, env = sign_command(KEY, play("junk"), [NODE])
    return dict(json.loads(env.model_dump_json()))


def chunk_json() -> st.SearchStrategy[dict[str, Any]]:
    sha = st.sampled_from([WANTED, "ef" * 32])
    data = st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
    chunk = st.fixed_dictionaries(
        {
            "type": st.just("chunk"),
            "sha256": sha,
            "offset": EDGE_INTS | st.integers(0, 20_000),
            "total_size": EDGE_INTS | st.just(10_000),
            "chunk_sha256": st.just("00" * 32),
            "data": data | st.just("!!not base64"),
        }
    )
    unavailable = st.fixed_dictionaries(
        {"type": st.just("chunk_unavailable"), "sha256": sha, "reason": st.text() | LONG_TEXT}
    )
    return chunk | unavailable


def ack_json() -> dict[str, Any]:
    return {"type": "event_ack", "event_ids": ["x"], "batches": True}


@FUZZ
@given(payload=payloads(envelope_json, [NODE, OTHER]))
# a field name echoed whole in the rejection made an event too large to publish
@example(payload=json.dumps({"type": "signed", "k" * 300_000: 1}).encode())
def test_junk_on_cmd_is_refused_and_reported(agent, payload):
    made = receive(agent, "cmd", payload)
    if not verifies(payload):  # a mutation may leave a valid envelope: that one is acted on
        assert rejected(made)


def verifies(payload: bytes) -> bool:
    """A command validly signed for this node."""
    try:
        verify_envelope(payload, PUB, NODE, ReplayGuard())
    except CommandRejectedError:
        return False
    return True


@FUZZ
@given(payload=payloads(chunk_json(), [NODE, OTHER]))
# a chunk of wanted audio whose data is not base64 raised out of the handler (binascii.Error)
@example(
    payload=json.dumps(
        {
            "type": "chunk",
            "sha256": WANTED,
            "offset": 0,
            "total_size": 10_000,
            "chunk_sha256": "00" * 32,
            "data": "!!not base64",
        }
    ).encode()
)
# the controller's reason for an unavailable chunk was quoted whole in the play's failure
@example(
    payload=json.dumps(
        {"type": "chunk_unavailable", "sha256": WANTED, "reason": "\u202e" * 100_000}
    ).encode()
)
def test_junk_on_content_plays_nothing(agent, payload):
    # wanted again each time: an earlier example may have ended its download
    agent.fetcher.want(WANTED, 10_000, online=False)
    made = receive(agent, "content", payload)
    if not parses(CONTENT_ADAPTER, payload):
        assert rejected(made)


@FUZZ
@given(payload=payloads(ack_json, [NODE, OTHER]))
def test_junk_on_ack_loses_nothing_it_should_keep(agent, payload):
    pending = {e["event_id"] for e in outbox(agent)}
    made = receive(agent, "ack", payload)
    still = {e["event_id"] for e in outbox(agent)}
    if not parses(EVENT_ACK, payload):
        assert rejected(made)
        assert pending <= still  # a malformed ack removes nothing


# --- signed, and hostile ------------------------------------------------------------------------

NOW = datetime.now(UTC)
TIMES = st.sampled_from(
    [
        None,
        NOW - timedelta(days=1),
        NOW + timedelta(minutes=1),
        NOW + timedelta(days=6),
        NOW + timedelta(days=365 * 100),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        datetime(1, 1, 2, tzinfo=UTC),
    ]
)


@dataclass(frozen=True)
class Signed:
    """One signed command and what was done to it after signing."""

    kind: str  # play | cancel | volume | tone | stop
    targets: tuple[str, ...]
    issued: datetime | None
    lifetime: timedelta
    play_at: datetime | None
    valid_until: datetime | None
    number: int  # volume, tone seconds, audio size: anything, even outside the protocol
    tamper: str  # none | retarget | forged | replay

    def envelope(self) -> bytes:
        command = self._command()
        key = FORGER if self.tamper == "forged" else KEY
        issued = self.issued or utcnow()
        try:
            expires = issued + self.lifetime
        except OverflowError:
            expires = issued  # the calendar's end: a command that has already expired
        _, env = sign_command(
            key, command, list(self.targets), issued_at=issued, expires_at=expires
        )
        raw = env.model_dump_json().encode()
        if self.tamper == "retarget":
            doc = json.loads(raw)
            body = json.loads(base64.b64decode(doc["body"]))
            body["targets"] = [NODE]
            doc["body"] = base64.b64encode(json.dumps(body).encode()).decode()
            raw = json.dumps(doc).encode()
        return raw

    def _command(self) -> Any:
        # model_construct: signed as the controller would never sign, to see the node refuse
        if self.kind == "play":
            sha = "cd" * 32
            audio = (
                AudioRef(sha256=sha, size=self.number, duration_s=1.0)
                if self.number > 0
                else AudioRef.model_construct(sha256=sha, size=self.number, duration_s=-1.0)
            )
            return PlayCommand.model_construct(
                play_id=f"p{self.number}"[:80],
                bulletin_id="b",
                title="",
                audio=audio,
                play_at=self.play_at,
                valid_until=self.valid_until or NOW + timedelta(hours=1),
                window_end=None,
                priority="emergency",
            )
        if self.kind == "cancel":
            return CancelCommand(play_ids=["waiting", "p1"])
        if self.kind == "volume":
            return SetVolumeCommand.model_construct(volume=self.number)
        if self.kind == "tone":
            return TestToneCommand.model_construct(seconds=self.number)
        return StopCommand(reason="x" * 300)


SIGNED = st.builds(
    Signed,
    kind=st.sampled_from(["play", "play", "cancel", "volume", "tone", "stop"]),
    targets=st.sampled_from([(NODE,), (OTHER,), (OTHER, NODE)]),
    # never ahead of now: a signed issue time moves the node's replay horizon, and one far
    # ahead would make every later example a replay (the controller signs with its own clock)
    issued=st.sampled_from([None, NOW - timedelta(days=1), NOW - timedelta(days=8)]),
    lifetime=st.sampled_from(
        [timedelta(hours=1), timedelta(days=8), timedelta(seconds=-5), timedelta(0)]
    ),
    play_at=TIMES,
    valid_until=TIMES,
    number=EDGE_INTS | st.integers(-5, 200),
    tamper=st.sampled_from(["none", "none", "retarget", "forged", "replay"]),
)


@FUZZ
@given(case=SIGNED)
def test_signed_but_hostile_commands_play_only_when_valid_for_this_node(agent, case):
    payload = case.envelope()
    made = receive(agent, "cmd", payload)
    valid = verifies(payload)
    if case.tamper in ("retarget", "forged") or NODE not in case.targets:
        assert not valid
    if not valid:
        assert rejected(made)
    if case.tamper == "replay":
        before = programme(agent)
        again = receive(agent, "cmd", payload)
        assert programme(agent) <= before  # a replay never adds a play
        assert rejected(again) or all(e["type"] == "ack" for e in again)
