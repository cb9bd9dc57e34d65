"""Topic names and the broker ACL lines built from them."""

from __future__ import annotations

import pytest

from protocol.topics import (
    FROM_NODE,
    TO_NODE,
    all_nodes_filter,
    controller_acl,
    node_acl,
    node_topic,
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
