"""The public audio is made ahead, in the background, as soon as a public bulletin goes through:
the first villager on 2G is served a file that exists, not an encode. The encode on request
stays as the fallback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from controller.config import ControllerConfig
from controller.models import Bulletin, Node
from controller.public import prepare, renditions
from tests.controller.public.test_pages import config_db
from tests.controller.public.village import put_on_air
from tests.support import wait_for


def made(config: ControllerConfig, bulletin_sha: str) -> set[str]:
    return {k for k in renditions.FORMATS if renditions.path(config, bulletin_sha, k).exists()}


def sha_of(client: TestClient, bulletin_id: str) -> str:
    with config_db(client).session() as s:
        return s.get_one(Bulletin, bulletin_id).audio_sha256


def test_a_public_bulletin_that_went_through_is_rendered_before_anyone_asks(
    client: TestClient, config: ControllerConfig
) -> None:
    db = config_db(client)
    sent = put_on_air(config, db, delivery="queued", hz=300)  # sent, not aired yet: ready
    approved = put_on_air(config, db, status="approved", hz=350)
    kept = {
        "internal": put_on_air(config, db, public=False, hz=400),
        "pending": put_on_air(config, db, status="pending", hz=500),
        "rejected": put_on_air(config, db, status="rejected", hz=600),
    }

    assert prepare.prepare(config, db) == 2
    assert made(config, sha_of(client, sent)) == {"opus", "mp3"}
    assert made(config, sha_of(client, approved)) == {"opus", "mp3"}
    for why, bid in kept.items():
        assert made(config, sha_of(client, bid)) == set(), why
    assert prepare.prepare(config, db) == 0  # nothing left to make

    stamps = {p: p.stat().st_mtime_ns for p in renditions.folder(config).iterdir()}
    aired = put_on_air(config, db, hz=700)
    prepare.prepare(config, db)
    assert client.get(f"/listen/audio/{aired}.mp3").status_code == 200
    for file, stamp in stamps.items():
        assert file.stat().st_mtime_ns == stamp  # made once, served as made


def test_unreadable_audio_is_skipped_and_left_to_the_request(
    client: TestClient, config: ControllerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    db = config_db(client)
    broken = put_on_air(config, db, hz=300)
    fine = put_on_air(config, db, hz=900)
    (config.audio_dir / f"{sha_of(client, broken)}.ogg").unlink()  # a partial restore

    assert prepare.prepare(config, db) == 1
    assert made(config, sha_of(client, fine)) == {"opus", "mp3"}
    assert "public audio not made ahead" in caplog.text
    assert client.get(f"/listen/audio/{broken}.mp3").status_code != 200


def test_the_commit_that_sends_or_publishes_a_bulletin_wakes_the_preparer(
    client: TestClient, config: ControllerConfig
) -> None:
    db = config_db(client)
    waiting = put_on_air(config, db, status="pending")
    preparer = prepare.Preparer(config, db)
    preparer.listen()
    try:
        with db.session() as s:  # reading, or changing other rows, is no reason
            s.scalars(select(Bulletin)).all()
            s.scalars(select(Node).limit(1)).one().volume = 30
        assert not preparer.woken.is_set()
        with db.session() as s:
            s.get_one(Bulletin, waiting).status = "approved"
        assert preparer.woken.is_set()
    finally:
        preparer.stop()


def test_a_started_preparer_renders_on_the_commit_not_on_its_fallback(
    client: TestClient, config: ControllerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback pass is stretched to an hour: only the commit's wake can make it sooner."""
    monkeypatch.setattr(prepare, "FALLBACK_S", 3600.0)
    db = config_db(client)
    preparer = prepare.Preparer(config, db)
    preparer.start()
    try:
        bid = put_on_air(config, db)
        sha = sha_of(client, bid)
        wait_for(lambda: made(config, sha) == {"opus", "mp3"}, 30, "both renditions")
    finally:
        preparer.stop()
