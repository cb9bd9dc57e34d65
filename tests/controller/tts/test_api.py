"""The same speech from the HTTP API: an alert typed as text is spoken offline, at once."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.nodes import broker
from controller.ops import demo
from controller.tts.settings import TtsSettings
from controller.tts.synth import synthesize


@pytest.fixture
def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, silent_server: socket.socket
) -> Iterator[TestClient]:
    # Google "answers" on a local socket that records connections and never replies.
    port = silent_server.getsockname()[1]
    monkeypatch.setenv("LOA_TTS_CACHE_DIR", str(tmp_path / "tts-cache"))
    monkeypatch.setenv("LOA_TTS_GTTS_URL", f"http://127.0.0.1:{port}")
    cluster = demo.prepare(tmp_path, nodes=1, http_port=broker.free_port(), mqtt_port=1)
    token = demo.credentials(cluster.config)["api_token"]
    app = create_app(cluster.config, start_dispatcher=False)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def test_alert_text_is_spoken_by_espeak_without_trying_google(
    client: TestClient, tmp_path: Path, silent_server: socket.socket
) -> None:
    resp = client.post("/api/v1/alerts", data={"text": "Bão số 3 đổ bộ lúc 15h30.", "all": "true"})
    assert resp.status_code == 201, resp.text
    cached = list((tmp_path / "tts-cache").glob("*.json"))
    assert len(cached) == 1
    assert '"engine": "espeak"' in cached[0].read_text("utf-8")
    silent_server.setblocking(False)
    with pytest.raises(BlockingIOError):
        silent_server.accept()  # nobody tried Google


def test_empty_alert_text_is_refused(
    client: TestClient, tmp_path: Path, silent_server: socket.socket, settings: TtsSettings
) -> None:
    resp = client.post("/api/v1/alerts", data={"text": "   ", "all": "true"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"] == "an emergency needs a text or a recording"
    assert client.get("/api/v1/alerts").json() == []
    assert not list((tmp_path / "tts-cache").glob("*.json"))  # nothing was spoken
    # The API refuses before speaking; the speech engine must refuse the same text on its own,
    # for the callers that reach it without that check (CAP, the web preview, `loa say`).
    with pytest.raises(ValueError, match="the text is empty"):
        synthesize("   ", emergency=True, settings=settings)
    silent_server.setblocking(False)
    with pytest.raises(BlockingIOError):
        silent_server.accept()  # nobody tried Google
