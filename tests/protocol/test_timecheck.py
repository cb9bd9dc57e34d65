"""The controller's signed answer to a node's state: only the controller can write one, and
only for the node it names."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from protocol.signing import new_private_key
from protocol.timecheck import NotAStateAckError, StateAck, sign_state_ack, verify_state_ack

KEY = new_private_key()
AT = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
ACK = StateAck(node_id="loa-01", state_at=AT, received_at=AT - timedelta(minutes=10))


def signed(ack: StateAck = ACK, key=KEY) -> bytes:
    return sign_state_ack(key, "kid", ack).model_dump_json().encode()


def test_a_signed_answer_reads_back_for_its_node():
    assert verify_state_ack(signed(), KEY.public_key(), "loa-01") == ACK


@pytest.mark.parametrize(
    ("payload", "node", "why"),
    [
        (signed(key=new_private_key()), "loa-01", "not signed by this node's controller"),
        (signed(), "loa-02", "for loa-01, not loa-02"),  # another point's answer replayed
        (b'{"type": "signed"}', "loa-01", "not signed"),
        (b"\xff not json", "loa-01", "not signed"),
    ],
)
def test_anything_else_is_no_measurement(payload, node, why):
    with pytest.raises(NotAStateAckError, match=why):
        verify_state_ack(payload, KEY.public_key(), node)


def test_a_signed_command_body_is_not_an_answer():
    raw = b'{"v": 1, "type": "state_ack", "node_id": "loa-01"}'
    envelope = sign_state_ack(KEY, "kid", ACK).model_copy(
        update={
            "body": base64.b64encode(raw).decode(),
            "sig": base64.b64encode(KEY.sign(raw)).decode(),
        }
    )
    with pytest.raises(NotAStateAckError, match="malformed: state_at"):
        verify_state_ack(envelope.model_dump_json().encode(), KEY.public_key(), "loa-01")
