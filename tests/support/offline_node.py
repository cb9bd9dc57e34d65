"""A node agent built as a Pi runs it, but never connected: its handlers driven by the test on a
real node store and cache, a WAV sink and a recording relay, the player not started."""

from __future__ import annotations

from pathlib import Path

from node_agent.agent import NodeAgent
from node_agent.config import NodeConfig, RelayConfig, SinkConfig
from node_agent.relay import RecordingRelay
from node_agent.sinks import WavFileSink
from protocol.signing import public_key_b64
from tests.support.keys import KEY


def offline_agent(tmp_path: Path, node_id: str, **config: object) -> NodeAgent:
    """``node_id``'s agent trusting the tests' controller key; ``config``: more settings."""
    made = NodeConfig(
        node_id=node_id,
        broker_password="unused",
        controller_public_key=public_key_b64(KEY),
        data_dir=tmp_path / "node",
        sink=SinkConfig(kind="wav"),
        relay=RelayConfig(kind="recording"),
        min_free_bytes=0,
        **config,
    )
    return NodeAgent(made, sink=WavFileSink(tmp_path / "played"), relay=RecordingRelay())
