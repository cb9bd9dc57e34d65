"""A play whose audio never comes is reported failed with the reason once its time is over,
instead of waiting silently (issue 18: three points' downloads never finished); an alert on air
is the player's to report. Driven through the agent's own parts on a real store and cache,
offline (the real broker's part is in tests/e2e/test_download_stalls.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from node_agent.agent import NodeAgent
from node_agent.player import Tone
from protocol.messages import AudioRef, ChunkUnavailable, PlayCommand, Priority, utcnow
from tests.support.offline_node import offline_agent

DATA = bytes(range(256)) * 40
TONE = Tone("tone", np.zeros(480, dtype=np.float32), 48000)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[NodeAgent]:
    made = offline_agent(tmp_path, "loa-deadline")
    yield made
    made.store.close()


def play(play_id: str, *, minutes: float, priority: Priority = "normal") -> PlayCommand:
    return PlayCommand(
        play_id=play_id,
        bulletin_id=play_id,
        title="Bản tin",
        audio=AudioRef(sha256=SHA, size=len(DATA), duration_s=1.0),
        valid_until=utcnow() + timedelta(minutes=minutes),
        priority=priority,
    )


def reports(agent: NodeAgent) -> list[dict[str, Any]]:
    made = [json.loads(p) for _, p, _ in agent.store.due_outbox(float("inf"), limit=10**6)]
    return [e for e in made if e["type"] not in ("received",)]


def state(agent: NodeAgent, play_id: str) -> str:
    row = agent.store.play(play_id)
    assert row is not None
    return row.state


def failed(agent: NodeAgent) -> dict[str, str]:
    return {e["play_id"]: e["reason"] for e in reports(agent) if e["type"] == "failed"}


def test_a_play_whose_audio_never_came_is_reported_failed_with_how_much_came(agent):
    agent.bulletins.on_play(play("p1", minutes=30))
    agent.cache.append(SHA, 0, DATA[:4096])  # a quarter came before the link died
    agent.bulletins.check_deadlines(utcnow())
    assert failed(agent) == {}  # still time: it waits
    agent.bulletins.check_deadlines(utcnow() + timedelta(minutes=31))
    reason = failed(agent)["p1"]
    assert "audio not received before the play's validity ended" in reason
    assert f"4096 of {len(DATA)} bytes; the node is offline" in reason
    assert state(agent, "p1") == "failed"
    assert SHA not in agent.fetcher.active  # nobody waits for it: no more asking
    assert agent.cache.partial_size(SHA) == 4096  # kept for a later play of the same audio
    agent.bulletins.check_deadlines(utcnow() + timedelta(minutes=32))
    assert len([e for e in reports(agent) if e["type"] == "failed"]) == 1  # said once


def test_only_the_play_past_its_time_fails_and_the_download_goes_on_for_the_other(agent):
    agent.bulletins.on_play(play("early", minutes=1))
    agent.bulletins.on_play(play("later", minutes=60))
    agent.bulletins.check_deadlines(utcnow() + timedelta(minutes=2))
    assert set(failed(agent)) == {"early"}
    assert SHA in agent.fetcher.active


def test_an_alert_on_air_while_its_audio_loads_is_left_to_the_player(agent):
    """Its attention signal sounded: the player's agenda reports it when it expires, once."""
    agent.bulletins.on_play(play("alert", minutes=1, priority="emergency"))
    agent.bulletins.check_deadlines(utcnow() + timedelta(minutes=2))
    assert "alert" not in failed(agent)


def test_a_restart_with_the_whole_file_in_partial_plays_it(agent, tmp_path):
    """The node stopped between the last piece and the check: after the restart the play is
    ready at once, not waiting for pieces nobody will ask for."""
    agent.bulletins.on_play(play("p1", minutes=30))
    agent.cache.append(SHA, 0, DATA)
    agent.store.close()
    again = offline_agent(tmp_path, "loa-deadline")
    try:
        again.bulletins.restore()
        assert state(again, "p1") == "ready"
        assert again.cache.has(SHA)
    finally:
        again.store.close()


def test_an_alert_whose_audio_cannot_come_fails_once_and_holds_nothing_back(agent):
    """The controller cannot serve its audio: it is reported failed with the reason, and the
    player lets go of it (it held every lower item, and would have failed again at its end)."""
    agent.bulletins.on_play(play("alert", minutes=30, priority="emergency"))
    assert "emergency" in agent.player.play_tone(TONE)  # announced: nothing else may sound
    refusal = ChunkUnavailable(sha256=SHA, reason="no such audio or release on the controller")
    agent.bulletins.on_content(
        "loa/v1/node/loa-deadline/content", refusal.model_dump_json().encode()
    )
    assert failed(agent) == {
        "alert": "controller cannot serve the audio: no such audio or release on the controller"
    }
    assert agent.player.play_tone(TONE) == ""  # let go
    agent.bulletins.check_deadlines(utcnow() + timedelta(minutes=31))
    assert len([e for e in reports(agent) if e["type"] == "failed"]) == 1
