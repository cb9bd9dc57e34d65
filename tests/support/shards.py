"""Node ids that fall in a chosen shard (protocol.topics.group_shard), for group commands."""

from __future__ import annotations

import itertools

from protocol.topics import group_shard


def shard_mates(shard: int, count: int, *, stem: str = "loa-g") -> list[str]:
    """``count`` node ids that all fall in ``shard`` (``<stem>-<6 digits>``)."""
    ids = (f"{stem}-{i:06d}" for i in itertools.count())
    return list(itertools.islice((n for n in ids if group_shard(n) == shard), count))
