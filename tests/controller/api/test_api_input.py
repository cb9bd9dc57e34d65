"""Bad input to the HTTP API gets a clear 4xx and changes nothing (real SQLite, real pipeline)."""

from __future__ import annotations

import io
import math
import struct
import wave
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from schedules import LOCAL
from tests.support.audio import low_bitrate_opus, needs_ffmpeg

IN_30_DAYS = (datetime.now(LOCAL) + timedelta(days=30)).replace(microsecond=0).isoformat()


def nothing_stored(client: TestClient, root: Path) -> None:
    assert client.get("/api/v1/bulletins").json() == []
    audio_dir = root / "audio"
    assert not audio_dir.exists() or not any(audio_dir.iterdir())
    tmp = root / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


def tone_wav(seconds: float = 1.0) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        n = int(seconds * 16000)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 16000)))
                for i in range(n)
            )
        )
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        (
            "notes.txt",
            b"this is not audio at all, just text" * 10,
            415,
            "notes.txt: not a readable audio file",
        ),
        (
            "broken.wav",
            b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40,
            415,
            "broken.wav: not a readable audio file",
        ),
        (
            "broken.mp3",
            b"\xff\xfb\x90\x00" + b"\x13" * 3000,
            415,
            "broken.mp3: not a readable audio file",
        ),
        ("empty.wav", b"", 422, "empty"),
        ("no-samples.wav", "tone:0", 422, "no audio samples"),
        ("short.wav", "tone:0.2", 422, "the recording is too short"),
        ("huge.wav", b"\x00" * 500_000, 413, "larger than"),
    ],
)
def test_unusable_uploads_are_refused_with_a_reason(api, name, content, status, message):
    client, root = api
    if isinstance(content, str):  # a tap on the record button: a fifth of a second, or nothing
        content = tone_wav(float(content.removeprefix("tone:")))
    resp = client.post("/api/v1/bulletins", files={"file": (name, content)}, data={"all": "true"})
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, str)
    assert detail
    assert message in detail
    assert "/tmp" not in detail  # the user's file is named, not our temporary copy
    if name in ("empty.wav", "no-samples.wav", "short.wav"):  # no sound at all is too short too
        assert resp.json()["code"] == "audio.too_short"
    nothing_stored(client, root)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"zones": "thon-khong-co"}, "unknown zone"),
        ({"nodes": "loa-khong-co"}, "unknown node"),
        ({}, "choose the targets"),
        ({"all": "true", "play_at": "2020-01-01T06:00:00"}, "in the past"),
        ({"all": "true", "play_at": "tomorrow morning"}, "ISO 8601"),
        # no point could ever play these: the date overflows, or the command would outlive the
        # protocol's maximum lifetime and every node would refuse it
        ({"all": "true", "play_at": "9999-12-31T23:59:00"}, "outside the dates the points accept"),
        (
            {"all": "true", "play_at": "9999-12-31T23:59:00-12:00"},
            "outside the dates the points accept",
        ),
        ({"all": "true", "play_at": IN_30_DAYS}, "7 days"),
        ({"hold": "true", "play_at": IN_30_DAYS}, "7 days"),
    ],
)
def test_bad_targets_and_times_are_refused(api, form, message):
    client, root = api
    resp = client.post("/api/v1/bulletins", files={"file": ("a.wav", tone_wav())}, data=form)
    assert resp.status_code == 422, resp.text
    assert message in resp.json()["detail"]
    nothing_stored(client, root)


def test_requests_without_a_valid_token_are_refused(api):
    client, _ = api
    assert client.get("/api/v1/nodes", headers={"Authorization": ""}).status_code == 401
    assert client.get("/api/v1/nodes", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_unknown_bulletin_is_404(api):
    client, _ = api
    resp = client.get("/api/v1/bulletins/doesnotexist/report")
    assert resp.status_code == 404
    assert "no bulletin" in resp.json()["detail"]


def test_a_good_upload_is_stored_once_with_its_deliveries(api, speech_wav):
    client, root = api
    data = speech_wav.read_bytes()
    first = client.post(
        "/api/v1/bulletins", files={"file": ("a.wav", data)}, data={"zones": "thon-dong"}
    )
    assert first.status_code == 201, first.text
    second = client.post("/api/v1/bulletins", files={"file": ("a.wav", data)}, data={"all": "true"})
    assert second.status_code == 201, second.text
    assert first.json()["audio_sha256"] == second.json()["audio_sha256"]
    assert len(list((root / "audio").iterdir())) == 1  # audio stored once by sha256
    assert first.json()["targets"] == 1
    assert second.json()["targets"] == 2
    report = client.get(f"/api/v1/bulletins/{first.json()['id']}/report").json()
    assert report["summary"]["pending"] == 1
    assert report["nodes"][0]["zone"] == "thon-dong"


def token_for(root: Path, username: str, role: str) -> str:
    from controller.auth import create_user, issue_token
    from controller.db import Database
    from controller.nodes.bootstrap import load_config

    db = Database(load_config(root).db_url)
    with db.session() as s:
        token = issue_token(s, create_user(s, username, "mat-khau-dai", role))
    db.engine.dispose()
    return token


def test_roles_hold_through_the_api_as_in_the_web_app(api):
    """A broadcaster cannot skip approval by calling the API, nor an approver turn knobs."""
    client, root = api
    as_broadcaster = {"Authorization": f"Bearer {token_for(root, 'lan', 'broadcaster')}"}
    as_approver = {"Authorization": f"Bearer {token_for(root, 'hoa', 'approver')}"}
    wav = {"file": ("tin.wav", tone_wav(), "audio/wav")}
    r = client.post("/api/v1/bulletins", files=wav, data={"all": "true"}, headers=as_broadcaster)
    assert r.status_code == 403
    assert "broadcaster" in r.json()["detail"]
    nothing_stored(client, root)
    held = client.post(
        "/api/v1/bulletins", files=wav, data={"hold": "true"}, headers=as_broadcaster
    )
    assert held.status_code == 201, held.text
    sent = client.post("/api/v1/bulletins", files=wav, data={"all": "true"}, headers=as_approver)
    assert sent.status_code == 201, sent.text
    slot = {"id": "sang", "name": "Bản tin sáng", "start": "06:00", "max_length_s": 900}
    assert (
        client.put("/api/v1/programme/slots/sang", json=slot, headers=as_broadcaster).status_code
        == 403
    )
    assert client.get("/api/v1/programme").json()["slots"] == []
    assert (
        client.put("/api/v1/programme/slots/sang", json=slot, headers=as_approver).status_code
        == 200
    )
    node = client.get("/api/v1/nodes").json()[0]["id"]
    volume = client.post(f"/api/v1/nodes/{node}/volume", data={"volume": "50"}, headers=as_approver)
    assert volume.status_code == 403
    volume = client.post(
        f"/api/v1/nodes/{node}/volume", data={"volume": "50"}, headers=as_broadcaster
    )
    assert volume.status_code == 202


@needs_ffmpeg
def test_a_recording_longer_than_the_configured_limit_is_refused(api, tmp_path):
    # the controller allows one minute here (the pipeline's own default is an hour)
    client, root = api
    long = low_bitrate_opus(tmp_path / "long.opus", 120)
    resp = client.post(
        "/api/v1/bulletins", files={"file": ("long.opus", long.read_bytes())}, data={"all": "true"}
    )
    assert resp.status_code == 413, resp.text
    assert "long.opus" in resp.json()["detail"]
    assert "the limit is 1 minute" in resp.json()["detail"]
    nothing_stored(client, root)


def test_programme_times_past_the_calendar_are_refused(api):
    client, _ = api
    resp = client.get("/api/v1/programme/airings", params={"from": "9999-12-30T00:00:00+07:00"})
    assert resp.status_code == 422, resp.text
    assert "from 9999-12-30" in resp.json()["detail"]
    slot = {"id": "sang", "name": "Sáng", "start": "06:00", "max_length_s": 1800}
    assert client.put("/api/v1/programme/slots/sang", json=slot).status_code == 200
    held = client.post(
        "/api/v1/bulletins", files={"file": ("a.wav", tone_wav())}, data={"hold": "true"}
    ).json()
    for recurrence in (
        {"kind": "once", "start_date": "9999-12-31"},
        {"kind": "daily", "start_date": "2026-12-07", "end_date": "9999-12-31"},
    ):
        item = {"bulletin_id": held["id"], "slot_id": "sang", "recurrence": recurrence}
        resp = client.post("/api/v1/programme/items", json={**item, "zones": ["thon-dong"]})
        assert resp.status_code == 422, resp.text
        assert "recurrence" in resp.json()["detail"][0]["loc"]
    assert client.get("/api/v1/programme").json()["items"] == []
