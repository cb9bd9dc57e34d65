"""Ed25519 command envelopes: the controller signs, each node verifies with the pinned key.

A node accepts a command only when the signature is good, it is one of the targets, the command
has not expired and its nonce was never accepted before. Replays are caught "whatever the clock
says": see :class:`ReplayGuard`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from protocol.messages import Command, CommandBody, SignedEnvelope, utcnow

MAX_COMMAND_TTL = timedelta(days=7)
# How far ahead of the node's clock a command's issue time may move the replay horizon: a node's
# clock may lag the controller's by this much (a ±10 min jump is a fault we ride through).
MAX_ISSUE_SKEW = timedelta(minutes=15)


class CommandRejectedError(Exception):
    """Why a node refused a command; the text goes into the node's ``rejected`` event.

    ``command_id`` is set once the signature was good, so the node can nack that command.
    """

    def __init__(self, reason: str, command_id: str | None = None) -> None:
        super().__init__(reason)
        self.command_id = command_id


class NotAddressedError(CommandRejectedError):
    """A good command that does not name this node: normal on a group topic, where every
    point of the shard receives its shard-mates' commands; an attack on the node's own topic."""


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the controller signing key must be an Ed25519 key")
    return key


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_key(b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(b64, validate=True))


def key_id(public_b64: str) -> str:
    return hashlib.sha256(public_b64.encode()).hexdigest()[:16]


def sign_command(
    key: Ed25519PrivateKey,
    command: Command,
    targets: list[str],
    *,
    ttl: timedelta | None = None,
    expires_at: datetime | None = None,
    issued_at: datetime | None = None,
    signer_id: str | None = None,
) -> tuple[CommandBody, SignedEnvelope]:
    """Sign ``command`` for ``targets``. ``signer_id`` is ``key``'s id when the caller signs many
    commands in a row (``key_id(public_key_b64(key))``, computed once instead of each time)."""
    issued = issued_at or utcnow()
    expires = expires_at or issued + (ttl or timedelta(hours=1))
    body = CommandBody(issued_at=issued, expires_at=expires, targets=targets, command=command)
    raw = body.model_dump_json().encode()
    envelope = SignedEnvelope(
        key_id=signer_id or key_id(public_key_b64(key)),
        body=base64.b64encode(raw).decode(),
        sig=base64.b64encode(key.sign(raw)).decode(),
    )
    return body, envelope


@dataclass(frozen=True)
class Verified:
    body: CommandBody
    duplicate: bool  # the same command again (a resend): acknowledge it, act on it once only


def parse_envelope(payload: bytes) -> SignedEnvelope:
    try:
        return SignedEnvelope.model_validate_json(payload)
    except ValidationError as exc:
        raise CommandRejectedError(f"not a signed command envelope: {_first_error(exc)}") from None


def verify_envelope(
    payload: bytes | SignedEnvelope,
    public_key: Ed25519PublicKey,
    node_id: str,
    guard: ReplayGuard,
    now: datetime | None = None,
) -> Verified:
    """Check signature, addressing, expiry and replay; raise CommandRejectedError if bad.
    ``payload``: as received, or already parsed (:func:`parse_envelope`, not yet trusted).
    ``now``: the node's best idea of the controller's time (its clock, corrected while it
    knows it is wrong); replays are refused by nonce and horizon whatever it says."""
    envelope = payload if isinstance(payload, SignedEnvelope) else parse_envelope(payload)
    try:
        raw = base64.b64decode(envelope.body, validate=True)
        public_key.verify(base64.b64decode(envelope.sig, validate=True), raw)
    except (InvalidSignature, ValueError):
        raise CommandRejectedError("bad signature: not signed by this node's controller") from None
    try:
        body = CommandBody.model_validate_json(raw)
    except ValidationError as exc:
        raise CommandRejectedError(f"signed body is malformed: {_first_error(exc)}") from None
    if node_id not in body.targets:
        raise NotAddressedError(f"command {body.command_id} is addressed to {body.targets}")
    if body.expires_at - body.issued_at > MAX_COMMAND_TTL:
        raise CommandRejectedError("command lifetime exceeds the 7-day maximum", body.command_id)
    try:
        duplicate = guard.check_and_remember(body, now)
    except CommandRejectedError as exc:
        raise CommandRejectedError(str(exc), body.command_id) from None
    return Verified(body, duplicate)


def may_name(payload: bytes | SignedEnvelope, node_id: str) -> bool:
    """False when the envelope ``payload`` certainly does not name ``node_id`` among its targets:
    a group command for shard-mates, dropped before its signature costs anything. It reads
    unsigned data, so True only means the full check (``verify_envelope``) must run; a payload
    that is not an envelope is True too, for that check to report it. Node ids never need
    escaping in JSON, so a target appears in the signed body as ``"<id>"``."""
    try:
        envelope = payload if isinstance(payload, SignedEnvelope) else parse_envelope(payload)
        raw = base64.b64decode(envelope.body, validate=True)
    except (CommandRejectedError, ValueError):
        return True
    return f'"{node_id}"'.encode() in raw


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "payload"
    return f"{where}: {err['msg']}"


class ReplayGuard:
    """Remembers accepted nonces; the in-memory base of the node's persistent store.

    Pruning by the node's own clock would let a replay through after the clock is set back, so
    the horizon is the newest ``issued_at`` ever accepted (the controller's clock, signed): a
    command that expired before that horizon is stale whatever the local clock says, and every
    nonce that could still be valid is kept.

    A command dated far ahead (the controller's clock jumped forward, or a key misused) must not
    drag the horizon with it, or every honest command after it would look stale: its issue
    time counts for the horizon only up to the node's ``now`` plus :data:`MAX_ISSUE_SKEW`.
    Holding the horizon lower only keeps more nonces, so no replay gets through.
    """

    def __init__(self) -> None:
        self.horizon: datetime | None = None
        self.seen: dict[str, tuple[datetime, str]] = {}  # nonce -> (expires_at, command_id)
        # the earliest expiry in ``seen``; None: unknown (none yet, or ``seen`` filled outside)
        self._soonest: datetime | None = None

    def check_and_remember(self, body: CommandBody, now: datetime | None = None) -> bool:
        now = now or utcnow()
        seen = self.seen.get(body.nonce)
        if seen is not None:
            if seen[1] != body.command_id:
                raise CommandRejectedError("nonce reused by a different command")
            return True
        if self.horizon is not None and body.expires_at <= self.horizon:
            raise CommandRejectedError(
                f"replayed or stale: expired {body.expires_at.isoformat()}, before a newer command"
            )
        if body.expires_at <= now:
            raise CommandRejectedError(f"expired at {body.expires_at.isoformat()}")
        self.seen[body.nonce] = (body.expires_at, body.command_id)
        if self._soonest is not None and body.expires_at < self._soonest:
            self._soonest = body.expires_at
        issued = min(body.issued_at, now + MAX_ISSUE_SKEW)
        pruned = False
        if self.horizon is None or issued > self.horizon:
            self.horizon = issued
            # A pass over every nonce only when one has expired before the horizon: per
            # command, it found nothing to drop almost every time.
            if self._soonest is None or self._soonest <= issued:
                kept = {n: v for n, v in self.seen.items() if v[0] > issued}
                pruned, self.seen = len(kept) < len(self.seen), kept
                self._soonest = min((v[0] for v in kept.values()), default=None)
        self._persist(body, pruned=pruned)
        return False

    def _persist(self, body: CommandBody, *, pruned: bool) -> None:
        """Hook for the node's durable store. ``pruned``: nonces that expired before the
        horizon were dropped from :attr:`seen` (each command moves the horizon; few prune)."""
