"""Signed commands from the controller: verified, carried out, and acknowledged.

Acting is idempotent (a play is stored once by its id, a cancel of what is gone does nothing, a
control command answers a resend with its first answer), so a resend of a command whose nonce
was saved just before a crash, but which was never acted on, is carried out now rather than
lost as a "duplicate".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node_agent.bulletins import Bulletins
from node_agent.controls import NodeControls
from node_agent.events import EventReporter
from node_agent.live import LiveSessions
from node_agent.updates import Updater
from protocol.messages import (
    CancelCommand,
    LiveStartCommand,
    LiveStopCommand,
    PlayCommand,
    UpdateCommand,
    utcnow,
)
from protocol.signing import (
    CommandRejectedError,
    NotAddressedError,
    ReplayGuard,
    may_name,
    verify_envelope,
)


class CommandHandler:
    def __init__(
        self,
        node_id: str,
        public_key: Ed25519PublicKey,
        guard: ReplayGuard,
        *,
        bulletins: Bulletins,
        controls: NodeControls,
        reporter: EventReporter,
        updater: Updater | None = None,
        live: LiveSessions | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        """``now()``: the controller's time as this node knows it, for each command's expiry."""
        self._now = now
        self._node_id, self._public_key, self._guard = node_id, public_key, guard
        self._bulletins, self._controls, self._reporter = bulletins, controls, reporter
        self._updater = updater
        self._live = live

    def on_group_command(self, topic: str, payload: bytes) -> None:
        """A command on this node's shard topic: the same checks as on its own topic, but one
        that names other points only is theirs, dropped unreported (no rejection, no nack)."""
        if may_name(payload, self._node_id):
            self.on_command(topic, payload, group=True)

    def on_command(self, topic: str, payload: bytes, *, group: bool = False) -> None:
        try:
            verified = verify_envelope(
                payload, self._public_key, self._node_id, self._guard, self._now()
            )
        except CommandRejectedError as exc:
            if group and isinstance(exc, NotAddressedError):
                return  # its id is in the body but not among the targets: still not ours
            self._reporter.reject(topic, str(exc))
            if exc.command_id:
                self._reporter.command_ack(exc.command_id, accepted=False, reason=str(exc))
            return
        body = verified.body
        command = body.command
        refusal = ""
        if isinstance(command, PlayCommand):
            self._bulletins.on_play(command)
        elif isinstance(command, CancelCommand):
            self._bulletins.on_cancel(command)
        elif isinstance(command, LiveStartCommand):
            refusal = self._live.on_start(command, body.expires_at) if self._live else "live is off"
        elif isinstance(command, LiveStopCommand):
            if self._live:
                self._live.on_stop(command)
        elif isinstance(command, UpdateCommand):
            refusal = self._updater.on_update(command) if self._updater else "updates are off"
        else:
            refusal = self._controls.carry_out(body, command)
        self._reporter.command_ack(body.command_id, accepted=not refusal, reason=refusal)
