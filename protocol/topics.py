"""Every MQTT topic name of the wire contract, built here and nowhere else.

Controller → node: ``cmd`` (signed commands), ``content`` (audio chunks), ``ack`` (event acks).
Node → controller: ``state`` (retained, with the Last Will), ``events``, ``content/req``.
The broker's ACL gives each node exactly these topics under its own id, and read (never write)
on the live streams ``stream/<stream_id>``: the controller publishes each live packet once there
for every point it opened the stream to (protocol/live.py).

Controller → every node waiting for a piece of a file: ``loa/v1/content/<sha256>/<offset>``, the
piece published once for all the points that asked (read-only for nodes: the audio is approved
for broadcast and public anyway, and each piece is checked against its sha256 and the whole
file's). A node listens to the pieces it asked for only, so it receives each piece once.

Controller → a group of nodes: ``loa/v1/group/<shard>/cmd``. A command to many points is signed
once per shard for that shard's targets and published once there; the broker fans it out. Each
node belongs to exactly one of ``GROUP_SHARDS`` shards (a stable hash of its id) and may read
(never write) that shard's topic only. A node drops a group command that does not name it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final, Literal

PREFIX: Final = "loa/v1"
NODE_ID_RE: Final = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
STREAM_ID_RE: Final = re.compile(r"^[0-9a-f]{32}$")
SHA256_RE: Final = re.compile(r"^[0-9a-f]{64}$")

NodeChannel = Literal["cmd", "content", "ack", "state", "events", "content/req"]
TO_NODE: Final[tuple[NodeChannel, ...]] = ("cmd", "content", "ack")
FROM_NODE: Final[tuple[NodeChannel, ...]] = ("state", "events", "content/req")
# How many group topics the points are spread over. A command to every point costs this many
# publishes at most (instead of one per point); each point also receives the group commands
# of its shard-mates, which it drops unread past their target list: about points / 64 of them
# share a shard (16 at 1,000 points, 156 at 10,000). Changing it moves nodes between shards:
# the broker's ACL and every node must change together, so it is part of the protocol.
GROUP_SHARDS: Final = 64


def check_node_id(node_id: str) -> str:
    """Node ids become topic levels and broker user names, so wildcards and slashes are banned."""
    if not NODE_ID_RE.match(node_id):
        raise ValueError(f"invalid node id {node_id!r}: use 2-63 lowercase letters, digits and '-'")
    return node_id


def node_topic(node_id: str, channel: NodeChannel) -> str:
    return f"{PREFIX}/node/{check_node_id(node_id)}/{channel}"


def group_shard(node_id: str) -> int:
    """The shard of ``node_id``: a stable hash (the same in every process and release)."""
    digest = hashlib.sha256(check_node_id(node_id).encode()).digest()
    return int.from_bytes(digest[:4], "big") % GROUP_SHARDS


def group_topic(shard: int) -> str:
    """Where a command to many points of ``shard`` goes, once for all of them."""
    if not 0 <= shard < GROUP_SHARDS:
        raise ValueError(f"invalid shard {shard}: 0 to {GROUP_SHARDS - 1}")
    return f"{PREFIX}/group/{shard}/cmd"


def parse_group_topic(topic: str) -> int | None:
    """The shard of ``loa/v1/group/<shard>/cmd``; None for anything else."""
    head = f"{PREFIX}/group/"
    shard, _, rest = topic[len(head) :].partition("/")
    if (
        not topic.startswith(head)
        or rest != "cmd"
        or not shard.isdigit()
        or shard != str(int(shard))
    ):
        return None
    return int(shard) if int(shard) < GROUP_SHARDS else None


def check_stream_id(stream_id: str) -> str:
    """A stream id becomes a topic level: 32 lowercase hex digits, nothing else."""
    if not STREAM_ID_RE.match(stream_id):
        raise ValueError(f"invalid stream id {stream_id!r}: 32 lowercase hex digits expected")
    return stream_id


def stream_topic(stream_id: str) -> str:
    """Where the packets of one live stream go, once, for every point that plays it."""
    return f"{PREFIX}/stream/{check_stream_id(stream_id)}"


def parse_stream_topic(topic: str) -> str | None:
    """The stream id of ``loa/v1/stream/<id>``; None for anything else."""
    head = f"{PREFIX}/stream/"
    if not topic.startswith(head) or not STREAM_ID_RE.match(topic[len(head) :]):
        return None
    return topic[len(head) :]


def shared_content_topic(sha256: str, offset: int) -> str:
    """Where the piece of the file ``sha256`` at ``offset`` goes once for every point waiting
    for it."""
    if not SHA256_RE.match(sha256):
        raise ValueError(f"invalid sha256 {sha256!r}: 64 lowercase hex digits")
    if offset < 0:
        raise ValueError(f"invalid offset {offset}")
    return f"{PREFIX}/content/{sha256}/{offset}"


def shared_content_piece(topic: str) -> tuple[str, int] | None:
    """The sha256 and offset of a shared content topic; None for any other topic."""
    head = f"{PREFIX}/content/"
    sha, _, offset = topic[len(head) :].partition("/")
    if not topic.startswith(head) or not SHA256_RE.match(sha) or not offset.isdigit():
        return None
    return sha, int(offset)


def shared_content_sha(topic: str) -> str | None:
    """The sha256 of a shared content topic; None for any other topic."""
    piece = shared_content_piece(topic)
    return None if piece is None else piece[0]


def boards_topic() -> str:
    """Where the controller publishes the current alert for electronic notice boards
    (JSON, README "Notice boards"); a board's account needs only read on it."""
    return f"{PREFIX}/boards/alert"


def node_subscriptions(node_id: str) -> tuple[str, ...]:
    """What a node subscribes to: what is sent to it, and its shard's group commands."""
    return (
        *(node_topic(node_id, ch) for ch in TO_NODE),
        group_topic(group_shard(node_id)),
    )


def all_nodes_filter(channel: NodeChannel) -> str:
    """Subscription filter matching ``channel`` of every node (the controller's view)."""
    return f"{PREFIX}/node/+/{channel}"


def everything_filter() -> str:
    """Every topic of the contract: the controller's own account reads and writes them all."""
    return f"{PREFIX}/#"


def node_acl(node_id: str) -> list[str]:
    """Mosquitto ACL lines for one node's account: it reads what is sent to it and writes
    what it sends, under its own id only, so a stolen node cannot speak for another. It may
    read the live streams (which one it plays is the signed start command's choice) and never
    write one: a packet on a stream topic comes from the controller's account or nobody's. It
    reads (never writes) the shared chunks of the files it fetches, and its own shard's group
    commands (never another shard's)."""
    return (
        [f"topic read {node_topic(node_id, ch)}" for ch in TO_NODE]
        + [f"topic read {group_topic(group_shard(node_id))}"]
        + [f"topic write {node_topic(node_id, ch)}" for ch in FROM_NODE]
        + [f"topic read {PREFIX}/stream/+"]
        + [f"topic read {PREFIX}/content/+/+"]
    )


def controller_acl() -> list[str]:
    """Mosquitto ACL lines for the controller's account."""
    return [f"topic readwrite {everything_filter()}"]


def controller_reader_acl() -> list[str]:
    """Mosquitto ACL lines for the account the controller reads the nodes with: what every
    node sends, read only."""
    return [f"topic read {all_nodes_filter(ch)}" for ch in FROM_NODE]


def parse_node_topic(topic: str) -> tuple[str, NodeChannel] | None:
    """Split ``loa/v1/node/<id>/<channel>``; None for anything else."""
    head = f"{PREFIX}/node/"
    if not topic.startswith(head):
        return None
    node_id, _, channel = topic[len(head) :].partition("/")
    if channel not in TO_NODE + FROM_NODE or not NODE_ID_RE.match(node_id):
        return None
    return node_id, channel
