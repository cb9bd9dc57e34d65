"""How a node learns how far its clock is from the controller's, which is the clock every
``play_at`` was written in.

The controller answers each fresh state a node publishes with a signed ``StateAck``: "your state
stamped ``state_at`` by your clock reached me at ``received_at`` by mine". The node remembers
when (monotonic) it sent each state, so it knows the round trip and takes half of it as the
way in. Nothing here is trusted unless it is signed by the node's controller, names this node,
and echoes a state this node sent within :data:`MAX_ROUND_TRIP_S`: a replayed, forged, delayed
or misdirected answer is simply not a measurement. An answer can only tell the node that its
clock is off; it never makes the node play anything (see node_agent/clock_check.py).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from protocol.messages import Message, NodeId, SignedEnvelope

# A clock further than this from the controller's is wrong: a bulletin aired that far early or
# late is heard as "at the wrong time", and it is far above any round trip over 4G.
CLOCK_WRONG_S: Final = 10.0
# An answer that took longer than this says too little about when the state arrived.
MAX_ROUND_TRIP_S: Final = 10.0
STATE_ACK_EXPIRY_S: Final = 10  # the broker drops an answer nobody could use any more
# The controller answers one state per node this often at most: the node keeps the measure on
# its monotonic clock, so an answer to every play's state would only cost a thousand points'
# worth of signing and publishing in the middle of a delivery.
ANSWER_EVERY_S: Final = 30.0


class StateAck(Message):
    type: Literal["state_ack"] = "state_ack"
    node_id: NodeId
    state_at: datetime
    received_at: datetime


def sign_state_ack(key: Ed25519PrivateKey, signer_id: str, ack: StateAck) -> SignedEnvelope:
    raw = ack.model_dump_json().encode()
    return SignedEnvelope(
        key_id=signer_id,
        body=base64.b64encode(raw).decode(),
        sig=base64.b64encode(key.sign(raw)).decode(),
    )


def is_signed(payload: bytes) -> bool:
    """On a node's ``ack`` topic: a signed state answer rather than an event acknowledgement."""
    return b'"signed"' in payload


class NotAStateAckError(ValueError):
    """Why an answer on the node's ack channel is no clock measurement."""


def verify_state_ack(payload: bytes, public_key: Ed25519PublicKey, node_id: str) -> StateAck:
    """The ``StateAck`` in ``payload``, signed by ``public_key`` and addressed to ``node_id``."""
    try:
        envelope = SignedEnvelope.model_validate_json(payload)
        raw = base64.b64decode(envelope.body, validate=True)
        public_key.verify(base64.b64decode(envelope.sig, validate=True), raw)
    except (ValidationError, binascii.Error, ValueError, InvalidSignature):
        raise NotAStateAckError(
            "state acknowledgement not signed by this node's controller"
        ) from None
    try:
        ack = StateAck.model_validate_json(raw)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "payload"
        raise NotAStateAckError(f"signed state acknowledgement is malformed: {where}") from None
    if ack.node_id != node_id:
        raise NotAStateAckError(f"state acknowledgement for {ack.node_id}, not {node_id}")
    return ack
