"""One signed command for many points: the targets grouped by shard, signed once per group.

A command to a thousand points is a few dozen signatures and publishes, not a thousand: the
targets are grouped by their shard (``protocol.topics.group_shard``), each group's command is
signed once for all its targets and later published once on the shard's group topic, and the
broker fans it out. A group whose signed envelope would not fit one broker packet (thousands of
targets in one shard) is split until every part fits, on the longest topic it may travel (the
group topic first, a target's own topic for a re-send).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.delivery.publisher import QOS
from protocol.limits import MAX_PACKET_BYTES, publish_packet_bytes
from protocol.messages import Command, CommandBody
from protocol.signing import key_id, public_key_b64, sign_command
from protocol.topics import group_shard, group_topic, node_topic


@dataclass(frozen=True)
class SignedGroup:
    """One signed command and the points it names (one row each in the outbox)."""

    targets: list[str]
    body: CommandBody
    envelope: str  # the SignedEnvelope's JSON, as published


def sign_groups(
    key: Ed25519PrivateKey,
    command: Command,
    node_ids: list[str],
    *,
    expires_at: datetime,
    packet_limit: int = MAX_PACKET_BYTES,
) -> list[SignedGroup]:
    """``command`` signed once per shard of ``node_ids`` (once per part of a shard too large
    for one packet of ``packet_limit`` bytes); each node appears in exactly one group."""
    signer = key_id(public_key_b64(key))

    def sign(targets: list[str]) -> SignedGroup:
        body, envelope = sign_command(
            key, command, targets, expires_at=expires_at, signer_id=signer
        )
        return SignedGroup(targets, body, envelope.model_dump_json())

    shards: dict[int, list[str]] = {}
    for node_id in dict.fromkeys(node_ids):
        shards.setdefault(group_shard(node_id), []).append(node_id)
    return [
        group
        for shard, targets in sorted(shards.items())
        for group in _fitting(sign, targets, group_topic(shard), packet_limit)
    ]


def _fitting(
    sign: Callable[[list[str]], SignedGroup], targets: list[str], topic: str, limit: int
) -> list[SignedGroup]:
    signed = sign(targets)
    size = packet_bytes([topic] + [node_topic(t, "cmd") for t in targets], signed.envelope)
    if size <= limit or len(targets) == 1:
        # one target's envelope is as small as a command gets; the publisher refuses it if not
        return [signed]
    parts = min(len(targets), -(-size // limit))
    step = -(-len(targets) // parts)
    return [
        group
        for i in range(0, len(targets), step)
        for group in _fitting(sign, targets[i : i + step], topic, limit)
    ]


def packet_bytes(topics: list[str], payload: str) -> int:
    """The largest PUBLISH packet ``payload`` makes on any of ``topics`` (with an expiry)."""
    longest = max(topics, key=lambda t: len(t.encode()))
    return publish_packet_bytes(longest, payload.encode(), qos=QOS, expiry=True)
