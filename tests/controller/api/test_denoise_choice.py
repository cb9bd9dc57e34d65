"""A bulletin's denoiser choice (``denoise``: standard | neural) reaches the audio pipeline
through the API, the controller's ``denoise`` setting is the default, and a bad choice is
refused with nothing stored."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.broadcast.media import Recording, audio_for
from controller.models import Bulletin
from controller.nodes import broker
from controller.ops import demo
from tests.controller.api.test_api_input import tone_wav
from tests.support import stored_row


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """An admin's client on a commune whose default is the standard denoiser and whose speed
    limit the neural one always meets (this is about the choice, not the speed)."""
    root = tmp_path_factory.mktemp("commune")
    cluster = demo.prepare(root, nodes=1, http_port=broker.free_port(), mqtt_port=1)
    config = cluster.config.model_copy(update={"neural_max_rtf": 1e6})
    assert config.denoise == "standard"
    token = demo.credentials(config)["api_token"]
    app = create_app(config, start_dispatcher=False)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c, config.db_url


def _codes(client: tuple[TestClient, str], **data: str) -> list[str]:
    c, db_url = client
    wav = {"file": ("loa.wav", tone_wav(1.5), "audio/wav")}
    made = c.post("/api/v1/bulletins", files=wav, data={"hold": "true", **data})
    assert made.status_code == 201, made.text
    row = stored_row(db_url, Bulletin, made.json()["id"])
    assert row is not None
    return [d["code"] for d in row.processing_report["done"]]


def test_the_neural_choice_reaches_the_pipeline(client: tuple[TestClient, str]) -> None:
    # the neural option ran: DeepFilterNet3, or its choice of the standard one for this tone
    assert {"neural", "neural_chose_standard"} & set(_codes(client, denoise="neural"))


def test_the_default_and_the_standard_choice_run_the_standard_denoiser(
    client: tuple[TestClient, str],
) -> None:
    assert not any(c.startswith("neural") for c in _codes(client))
    assert not any(c.startswith("neural") for c in _codes(client, denoise="standard"))


def test_an_unknown_denoiser_is_refused_and_nothing_is_stored(
    client: tuple[TestClient, str],
) -> None:
    c, _ = client
    before = len(c.get("/api/v1/bulletins").json())
    wav = {"file": ("loa.wav", tone_wav(1.5), "audio/wav")}
    bad = c.post("/api/v1/bulletins", files=wav, data={"hold": "true", "denoise": "magic"})
    assert bad.status_code == 422
    assert "denoise" in bad.text
    assert len(c.get("/api/v1/bulletins").json()) == before


def test_neural_by_default_except_for_an_emergency(client: tuple[TestClient, str]) -> None:
    c, _ = client
    config = c.app.state.config.model_copy(update={"denoise": "neural"})  # type: ignore[attr-defined]
    codes = {}
    for emergency in (False, True):
        rec = Recording(io.BytesIO(tone_wav(1.5)), "loa.wav")
        encoded, report, _ = audio_for(config, rec, "", "vi", emergency=emergency)
        encoded.unlink()
        codes[emergency] = [d.code for d in report.processing.done]
    assert {"neural", "neural_chose_standard"} & set(codes[False])
    assert not any(code.startswith("neural") for code in codes[True])
