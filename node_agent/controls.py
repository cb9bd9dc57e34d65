"""The node controls a technician or operator may use: volume, test tone and stop.

Each control command is carried out once; a resend gets the first answer again. Acting twice is
not harmless here: a second stop would cut what started since the first, a second tone would
sound again, a late volume would undo a newer one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from node_agent.attention import RATE as TONE_RATE
from node_agent.attention import make_test_tone
from node_agent.player import Player, Tone, Volumes, volume_gain
from node_agent.store import NodeStore
from protocol.messages import (
    CommandBody,
    ControlCommand,
    SetVolumeCommand,
    StopCommand,
    TestToneCommand,
)

log = logging.getLogger(__name__)
FULL_VOLUME = 100  # until a technician sets one: the provisioned gain as it is


class NodeControls:
    def __init__(
        self,
        store: NodeStore,
        player: Player,
        *,
        normal_gain: float,
        emergency_gain: float,
        on_volume: Callable[[], None],
        on_silenced: Callable[[str], None],
    ) -> None:
        """``normal_gain`` and ``emergency_gain`` are the installation's provisioned gains;
        ``on_volume`` is told a new volume is in force, ``on_silenced`` each airing a stop
        cut."""
        self._store, self._player = store, player
        self._normal_gain, self._emergency_gain = normal_gain, emergency_gain
        self._on_volume, self._on_silenced = on_volume, on_silenced
        stored = store.volume()
        self.volume = stored[0] if stored else FULL_VOLUME
        self._apply_volume()

    def carry_out(self, body: CommandBody, command: ControlCommand) -> str:
        """Carry out a control command once; returns why it was refused ("" when done)."""
        done = self._store.command_outcome(body.command_id)
        if done is not None:
            return "" if done[0] else done[1]
        if isinstance(command, SetVolumeCommand):
            refusal = self._set_volume(command.volume, body.issued_at)
        elif isinstance(command, TestToneCommand):
            refusal = self._player.play_tone(
                Tone(
                    f"test-tone.{body.command_id}",
                    make_test_tone(command.seconds, TONE_RATE),
                    TONE_RATE,
                )
            )
        else:
            refusal = self._stop(command)
        self._store.remember_outcome(body.command_id, body.expires_at, not refusal, refusal)
        if refusal:
            log.warning("refused command %s: %s", body.command_id, refusal)
        return refusal

    def _set_volume(self, volume: int, issued_at: datetime) -> str:
        stored = self._store.volume()
        if stored is not None and stored[1] > issued_at:
            return f"a newer volume ({stored[0]}, set {stored[1].isoformat()}) is in force"
        self._store.set_volume(volume, issued_at)
        self.volume = volume
        self._apply_volume()
        self._on_volume()
        return ""

    def _apply_volume(self) -> None:
        # The provisioned gain is the installation's full volume; the technician's setting
        # scales it. Emergencies keep their own provisioned gain whatever the setting.
        self._player.volumes = Volumes(
            self._normal_gain * volume_gain(self.volume), self._emergency_gain
        )

    def _stop(self, command: StopCommand) -> str:
        for play_id in self._player.silence(command.reason or "stopped by operator"):
            self._on_silenced(play_id)
        return ""
