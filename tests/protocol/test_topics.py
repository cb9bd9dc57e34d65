"""Topic names and the broker ACL lines built from them."""

from __future__ import annotations

import pytest

from protocol.topics import (
    FROM_NODE,
    GROUP_SHARDS,
    TO_NODE,
    all_nodes_filter,
    controller_acl,
    group_shard,
    group_topic,
    node_acl,
    node_subscriptions,
    node_topic,
    parse_group_topic,
    parse_node_topic,
    parse_stream_topic,
    shared_content_sha,
    shared_content_topic,
    stream_topic,
)


def test_a_node_topic_parses_back_to_its_node_and_channel():
    for channel in TO_NODE + FROM_NODE:
        assert parse_node_topic(node_topic("loa-7", channel)) == ("loa-7", channel)
    assert parse_node_topic("loa/v1/node/loa-7/elsewhere") is None
    assert parse_node_topic("other/v1/node/loa-7/cmd") is None


def test_a_node_reads_what_is_sent_to_it_and_writes_what_it_sends_under_its_own_id():
    assert node_acl("loa-7") == [
        "topic read loa/v1/node/loa-7/cmd",
        "topic read loa/v1/node/loa-7/content",
        "topic read loa/v1/node/loa-7/ack",
        f"topic read loa/v1/group/{group_shard('loa-7')}/cmd",  # its shard's only, read-only
        "topic write loa/v1/node/loa-7/state",
        "topic write loa/v1/node/loa-7/events",
        "topic write loa/v1/node/loa-7/content/req",
        "topic read loa/v1/stream/+",
        "topic read loa/v1/content/+/+",  # shared chunks: read-only (tests/.../test_hostile_nodes)
    ]
    assert controller_acl() == ["topic readwrite loa/v1/#"]
    assert all_nodes_filter("events") == "loa/v1/node/+/events"


@pytest.mark.parametrize("bad", ["loa/7", "loa+", "#", "Loa-7", "x"])
def test_an_id_that_could_escape_its_topics_is_refused(bad):
    with pytest.raises(ValueError, match="invalid node id"):
        node_acl(bad)


def test_a_stream_topic_carries_one_stream_id_and_nothing_else():
    sid = "0123456789abcdef0123456789abcdef"
    assert stream_topic(sid) == f"loa/v1/stream/{sid}"
    assert parse_stream_topic(stream_topic(sid)) == sid
    assert parse_stream_topic("loa/v1/stream/+") is None
    assert parse_stream_topic(node_topic("loa-7", "cmd")) is None
    with pytest.raises(ValueError, match="invalid stream id"):
        stream_topic("#")


def test_a_shared_content_topic_names_one_piece_of_one_file():
    sha = "ab" * 32
    assert shared_content_topic(sha, 65536) == f"loa/v1/content/{sha}/65536"
    assert shared_content_sha(shared_content_topic(sha, 0)) == sha
    for other in (
        "loa/v1/content/+/+",
        f"loa/v1/content/{sha}",
        f"loa/v1/content/{sha}/x",
        node_topic("loa-7", "content"),
    ):
        assert shared_content_sha(other) is None
    with pytest.raises(ValueError, match="invalid sha256"):
        shared_content_topic("#", 0)
    with pytest.raises(ValueError, match="invalid offset"):
        shared_content_topic(sha, -1)


def test_every_node_has_one_stable_shard_and_the_shards_share_the_points():
    ids = [f"loa-{i}" for i in range(6400)]
    shards = [group_shard(i) for i in ids]
    assert group_shard("loa-7") == 25  # fixed across processes and releases (sha256, not hash())
    counts = [shards.count(k) for k in range(GROUP_SHARDS)]
    assert min(counts) > 50  # 100 each on average
    assert max(counts) < 150
    with pytest.raises(ValueError, match="invalid node id"):
        group_shard("loa/+")


def test_a_group_topic_names_one_shard_and_a_node_subscribes_to_its_own_only():
    assert group_topic(0) == "loa/v1/group/0/cmd"
    for shard in (0, 25, GROUP_SHARDS - 1):
        assert parse_group_topic(group_topic(shard)) == shard
    for other in (
        "loa/v1/group/+/cmd",
        "loa/v1/group/#",
        "loa/v1/group/07/cmd",
        f"loa/v1/group/{GROUP_SHARDS}/cmd",
        "loa/v1/group/1/cmd/x",
        node_topic("loa-7", "cmd"),
    ):
        assert parse_group_topic(other) is None
    for bad in (-1, GROUP_SHARDS):
        with pytest.raises(ValueError, match="invalid shard"):
            group_topic(bad)
    subs = node_subscriptions("loa-7")
    assert subs == (*(node_topic("loa-7", ch) for ch in TO_NODE), group_topic(25))
