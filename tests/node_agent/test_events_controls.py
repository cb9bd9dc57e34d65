"""The node's event reporting (stored first, sent when online, re-sent until acknowledged) and
its controls (each carried out once; an older volume never undoes a newer one), without a
broker."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from node_agent.controls import FULL_VOLUME, NodeControls
from node_agent.events import EventReporter
from node_agent.player import Player, Volumes, volume_gain
from node_agent.relay import RecordingRelay
from node_agent.sinks import WavFileSink
from node_agent.store import NodeStore
from protocol.messages import CommandBody, ControlCommand, SetVolumeCommand, utcnow
from protocol.topics import node_topic
from tests.node_agent.conftest import NODE, Link, reporter


def test_an_event_made_offline_is_kept_and_sent_on_the_flush_until_acknowledged(store):
    link = Link()
    events = reporter(store, link)
    events.command_ack("c1", accepted=False, reason="expired")
    assert link.sent == []
    assert len(store.due_outbox(older_than=0.0)) == 1
    link.online = True
    events.flush(older_than=float("inf"))
    [(topic, ack)] = link.sent
    assert topic == node_topic(NODE, "events")
    assert (ack["type"], ack["command_id"], ack["accepted"], ack["reason"]) == (
        "ack",
        "c1",
        False,
        "expired",
    )
    events.on_ack(node_topic(NODE, "ack"), json.dumps({"event_ids": [ack["event_id"]]}).encode())
    assert store.due_outbox(older_than=float("inf")) == []


def test_a_play_event_records_the_play_state_and_goes_out_at_once_when_online(store):
    link = Link()
    link.online = True
    events = reporter(store, link)
    events.play("interrupted", "p1", reason="pre-empted", interrupted=True, at=1_800_000_000.0)
    [(_, event)] = link.sent
    assert (event["type"], event["play_id"], event["interrupted"]) == ("interrupted", "p1", True)
    assert str(event["at"]).startswith("2027-01-15T08:00:00")


def test_while_the_clock_is_known_wrong_play_times_are_reported_in_the_controllers_time(store):
    link = Link()
    link.online = True
    events = EventReporter(NODE, store, link.publish, lambda: True, correction=lambda: 600.0)
    events.play("started", "p1", at=1_800_000_600.0)  # an alert aired by a clock 10 min ahead
    [(_, event)] = link.sent
    assert str(event["at"]).startswith("2027-01-15T08:00:00")


def test_an_item_ends_on_its_start_s_timeline_when_the_clock_is_found_wrong_while_it_plays(store):
    # The first measurement after a boot with a stale clock (or after a step) lands while an
    # item is on air: its end is its start plus what it played, not a time on another timeline.
    link = Link()
    link.online = True
    found = [0.0]
    events = EventReporter(NODE, store, link.publish, lambda: True, correction=lambda: found[0])
    start = time.time()
    events.play("started", "p1", at=start)
    found[0] = 3600.0  # found an hour ahead of the controller
    events.play("finished", "p1", at=start + 30.0)
    events.play("finished", "p2", at=start)  # an end whose start this run never saw
    started, finished, other = (datetime.fromisoformat(e["at"]).timestamp() for e in link.messages)
    assert started == pytest.approx(start, abs=1e-3)
    assert finished - started == pytest.approx(30.0, abs=0.5)
    assert other == pytest.approx(start - 3600.0, abs=1e-3)


def test_a_malformed_event_ack_is_rejected_and_acknowledges_nothing(store):
    link = Link()
    link.online = True
    events = reporter(store, link)
    events.on_ack(node_topic(NODE, "ack"), b"{not json")
    [(_, rejected)] = link.sent
    assert rejected["type"] == "rejected"
    assert "malformed event ack" in str(rejected["reason"])
    assert len(store.due_outbox(older_than=float("inf"))) == 1  # the rejection itself


def body(command: ControlCommand, issued_ago_s: float = 0.0) -> CommandBody:
    issued = utcnow() - timedelta(seconds=issued_ago_s)
    return CommandBody(
        issued_at=issued, expires_at=issued + timedelta(minutes=5), targets=[NODE], command=command
    )


@pytest.fixture
def player(tmp_path: Path) -> Player:
    return Player(
        WavFileSink(tmp_path, realtime=False),
        RecordingRelay(),
        audio_path=Path,
        load=lambda _p, _start: pytest.fail("nothing plays here"),
        emit=lambda *_a, **_k: None,
        on_playing=lambda _p: None,
        preroll_s=0.0,
        postroll_s=0.0,
    )


def controls_of(
    store: NodeStore, player: Player, told: list[int], normal: float = 1.0, emergency: float = 1.0
) -> NodeControls:
    """Controls whose every new volume in force is appended to ``told``."""
    controls = NodeControls(
        store,
        player,
        normal_gain=normal,
        emergency_gain=emergency,
        on_volume=lambda: told.append(controls.volume),
        on_silenced=lambda _p: None,
    )
    return controls


def test_volume_scales_the_normal_gain_only_and_an_older_one_is_refused(store, player):
    told: list[int] = []
    controls = controls_of(store, player, told, normal=0.8, emergency=1.5)
    assert controls.volume == FULL_VOLUME
    assert player.volumes == Volumes(0.8, 1.5)
    louder, quieter = SetVolumeCommand(volume=50), SetVolumeCommand(volume=90)
    newer, older = body(louder), body(quieter, issued_ago_s=60)
    assert controls.carry_out(newer, louder) == ""
    assert player.volumes == Volumes(0.8 * volume_gain(50), 1.5)
    assert told == [50]
    refusal = controls.carry_out(older, quieter)
    assert refusal.startswith("a newer volume (50, set ")
    assert controls.carry_out(older, quieter) == refusal
    assert (controls.volume, told) == (50, [50])


def test_a_resent_control_command_gets_its_first_answer_without_acting_again(store, player):
    told: list[int] = []
    controls = controls_of(store, player, told)
    volume = SetVolumeCommand(volume=30)
    command = body(volume)
    assert controls.carry_out(command, volume) == ""
    store.set_volume(70, utcnow())  # a newer volume, set meanwhile
    assert controls.carry_out(command, volume) == ""
    assert told == [30]
    assert controls_of(store, player, []).volume == 70  # the volume in force survives a restart
