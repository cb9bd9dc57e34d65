"""Signed commands from the controller: verified, carried out, and acknowledged.

A command is one transaction of the node's store: its nonce, what it changes there and the
events it makes (its ack among them) commit together, in one fsync, and its events are published
and a play handed to the player only after that commit. A crash before it leaves neither the
nonce nor an ack, so the controller re-sends and the command is carried out as the first time;
after it, a replay is refused. Acting is idempotent besides (a play is stored once by its id, a
cancel of what is gone does nothing, a control command answers a resend with its first answer):
a control that acts on the player at once (a stop) and dies before its commit is repeated by
the resend, as it would be had the node died a moment before the command came.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
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
    SignedEnvelope,
    UpdateCommand,
    utcnow,
)
from protocol.signing import (
    CommandRejectedError,
    NotAddressedError,
    ReplayGuard,
    may_name,
    parse_envelope,
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
        transaction: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        """``now()``: the controller's time as this node knows it, for each command's expiry.
        ``transaction()``: the node store's, so a command is one commit (``NodeStore``)."""
        self._now = now
        self._transaction = transaction
        self._node_id, self._public_key, self._guard = node_id, public_key, guard
        self._bulletins, self._controls, self._reporter = bulletins, controls, reporter
        self._updater = updater
        self._live = live

    def on_group_command(self, topic: str, payload: bytes) -> None:
        """A command on this node's shard topic: the same checks as on its own topic, but one
        that names other points only is theirs, dropped unreported (no rejection, no nack)."""
        try:
            envelope: bytes | SignedEnvelope = parse_envelope(payload)  # parsed once, not twice
        except CommandRejectedError:
            envelope = payload  # for on_command to report
        if may_name(envelope, self._node_id):
            self.on_command(topic, envelope, group=True)

    def on_command(
        self, topic: str, payload: bytes | SignedEnvelope, *, group: bool = False
    ) -> None:
        """Verify and carry out in one store transaction: the nonce, what the command changes
        and the events it makes commit together, and nothing is published before that."""
        with self._transaction():
            self._verify_and_act(topic, payload, group=group)

    def _verify_and_act(self, topic: str, payload: bytes | SignedEnvelope, *, group: bool) -> None:
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
