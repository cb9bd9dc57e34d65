"""What the node agent's tests share: a store of its own, and a link that records what the
event reporter publishes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node_agent.events import EventReporter
from node_agent.store import NodeStore
from protocol.topics import node_topic

NODE = "node-a"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[NodeStore]:
    s = NodeStore(tmp_path / "node.sqlite3")
    yield s
    s.close()


class Link:
    """The broker link as the reporter sees it: online or not, and what it published."""

    def __init__(self) -> None:
        self.online = False
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, json.loads(payload)))

    @property
    def messages(self) -> list[dict[str, Any]]:
        """What was published, each on the node's events topic."""
        assert {topic for topic, _ in self.sent} <= {node_topic(NODE, "events")}
        return [message for _, message in self.sent]


def reporter(store: NodeStore, link: Link) -> EventReporter:
    return EventReporter(NODE, store, link.publish, online=lambda: link.online)
