"""The control commands and the richer node state: bounds, defaults, the signed round trip."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from protocol.messages import (
    CommandBody,
    NodeState,
    SetVolumeCommand,
    StopCommand,
    TestToneCommand,
)
from protocol.signing import ReplayGuard, sign_command, verify_envelope
from tests.support.keys import KEY, PUB


@pytest.mark.parametrize("volume", [0, 55, 100])
def test_volume_within_0_to_100_is_accepted(volume):
    assert SetVolumeCommand(volume=volume).volume == volume


@pytest.mark.parametrize("volume", [-1, 101, 150, 2.5, "loud", None])
def test_volume_outside_0_to_100_or_not_whole_is_refused(volume):
    with pytest.raises(ValidationError, match=r"\nvolume\n"):
        SetVolumeCommand(volume=volume)


def test_test_tone_lasts_5_s_unless_told_and_1_to_30_s_at_most():
    assert TestToneCommand().seconds == 5
    assert TestToneCommand(seconds=30).seconds == 30
    for bad in (0, 31):
        with pytest.raises(ValidationError, match=r"\nseconds\n"):
            TestToneCommand(seconds=bad)


def test_stop_reason_is_bounded():
    assert StopCommand().reason == ""
    with pytest.raises(ValidationError, match=r"\nreason\n"):
        StopCommand(reason="x" * 301)


@pytest.mark.parametrize(
    "command",
    [SetVolumeCommand(volume=30), TestToneCommand(seconds=3), StopCommand(reason="hú")],
)
def test_control_commands_travel_signed_and_come_back_the_same(command):
    _body, envelope = sign_command(KEY, command, ["node-a"])
    verified = verify_envelope(envelope.model_dump_json().encode(), PUB, "node-a", ReplayGuard())
    assert verified.body.command == command
    assert type(verified.body.command) is type(command)


def test_an_unknown_command_type_is_refused_by_the_union():
    body = CommandBody.model_validate(
        {
            "issued_at": "2026-11-24T06:00:00Z",
            "expires_at": "2026-11-24T07:00:00Z",
            "targets": ["node-a"],
            "command": {"type": "set_volume", "volume": 40},
        }
    )
    assert body.command == SetVolumeCommand(volume=40)
    with pytest.raises(ValidationError, match="Input tag 'self_destruct'"):
        CommandBody.model_validate(
            {**body.model_dump(mode="json"), "command": {"type": "self_destruct"}}
        )


def test_state_from_an_older_agent_still_parses_with_no_volume_or_signal():
    old = (
        '{"v": 1, "type": "state", "node_id": "node-a", "status": "online",'
        ' "at": "2026-11-24T06:00:00Z", "agent_version": "0.0.9"}'
    )
    state = NodeState.model_validate_json(old)
    assert state.volume is None
    assert state.signal_dbm is None
    new = NodeState(node_id="node-a", status="playing", volume=70, signal_dbm=-61)
    assert NodeState.model_validate_json(new.model_dump_json()) == new
    with pytest.raises(ValidationError, match=r"\nvolume\n"):
        NodeState(node_id="node-a", status="online", volume=101)


def test_state_from_an_agent_without_health_parses_with_none():
    old = '{"v": 1, "type": "state", "node_id": "node-a", "status": "online"}'
    assert NodeState.model_validate_json(old).health is None


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("disk_free_bytes", str(2**63)),
        ("memory_total_bytes", "-1"),
        ("uptime_s", "1000000000000"),
        ("cpu_temp_c", "1e6"),
        ("cpu_temp_c", "NaN"),
        ("clock_offset_ms", "Infinity"),
        ("clock_offset_ms", "1e20"),
        ("cell_signal_pct", "101"),
        ("cell_technology", '"<b>lte</b>"'),
        ("cell_technology", json.dumps("l" * 41)),
        ("clock_source", '"sundial"'),
        ("free_advice", '"reboot the controller"'),
    ],
)
def test_health_a_stolen_node_could_send_is_refused(field, raw):
    """Every health figure is stored and shown: junk from a node's account is refused whole."""
    message = (
        '{"v": 1, "type": "state", "node_id": "node-a", "status": "online", '
        f'"health": {{"{field}": {raw}}}}}'
    )
    with pytest.raises(ValidationError):
        NodeState.model_validate_json(message)
