"""An API client on a demo commune (real SQLite, real pipeline, no broker: nothing is sent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.nodes import broker
from controller.ops import demo


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """The admin's client and the data directory, with uploads limited to 400 kB and recordings
    to one minute."""
    cluster = demo.prepare(tmp_path, nodes=2, http_port=broker.free_port(), mqtt_port=1)
    config = cluster.config.model_copy(
        update={"max_upload_bytes": 400_000, "max_audio_seconds": 60.0}
    )
    token = demo.credentials(config)["api_token"]
    app = create_app(config, start_dispatcher=False)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client, tmp_path
