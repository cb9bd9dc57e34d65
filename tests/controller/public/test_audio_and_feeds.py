"""The audio the pages offer (real Opus and MP3, ranges, nothing for what is not public) and the
podcast feeds as a podcast library reads them."""

from __future__ import annotations

import io
import uuid

import av
import feedparser
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from controller.config import ControllerConfig
from controller.public import renditions
from tests.controller.public.conftest import PUBLIC_URL
from tests.controller.public.test_pages import config_db
from tests.controller.public.village import put_on_air, raise_alert


def decoded(body: bytes) -> tuple[str, float]:
    """The codec and length (s) PyAV finds in ``body`` (its MP3 decoder is "mp3float")."""
    with av.open(io.BytesIO(body), mode="r") as container:
        stream = container.streams.audio[0]
        samples = sum(int(frame.samples) for frame in container.decode(stream))
        name = stream.codec_context.name.removesuffix("float")
        return name, samples / stream.codec_context.sample_rate


@pytest.mark.parametrize(
    ("ext", "mime", "codec"), [("opus", "audio/ogg", "opus"), ("mp3", "audio/mpeg", "mp3")]
)
def test_the_audio_is_real_and_made_once(
    client: TestClient, config: ControllerConfig, ext: str, mime: str, codec: str
) -> None:
    bid = put_on_air(config, config_db(client))
    answer = client.get(f"/listen/audio/{bid}.{ext}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == mime
    assert "public" in answer.headers["cache-control"]
    name, seconds = decoded(answer.content)
    assert name == codec
    assert seconds == pytest.approx(2.0, abs=0.1)
    made = list(renditions.folder(config).iterdir())
    assert len(made) == 1
    stamp = made[0].stat().st_mtime_ns
    client.get(f"/listen/audio/{bid}.{ext}")
    assert made[0].stat().st_mtime_ns == stamp  # served from the cache, not made again


def test_a_range_is_served_for_seeking_on_a_slow_link(
    client: TestClient, config: ControllerConfig
) -> None:
    bid = put_on_air(config, config_db(client))
    whole = client.get(f"/listen/audio/{bid}.mp3").content
    part = client.get(f"/listen/audio/{bid}.mp3", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    head = client.head(f"/listen/audio/{bid}.mp3")
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(whole)


@pytest.mark.parametrize(
    "fields",
    [
        {"public": False},
        {"status": "pending"},
        {"status": "rejected"},
        {"delivery": "queued"},
        {"delivery": "cancelled"},
    ],
)
def test_no_audio_for_what_is_not_public_and_aired(
    client: TestClient, config: ControllerConfig, fields: dict[str, object]
) -> None:
    bid = put_on_air(config, config_db(client), **fields)  # type: ignore[arg-type]
    for ext in ("opus", "mp3"):
        assert client.get(f"/listen/audio/{bid}.{ext}").status_code == 404
    assert not renditions.folder(config).exists()  # nothing was even made


def test_no_audio_for_a_cancelled_alert_an_unknown_id_or_format(
    client: TestClient, config: ControllerConfig
) -> None:
    db = config_db(client)
    gone = raise_alert(config, db, "Báo nhầm", state="cancelled")
    with db.session() as s:
        from controller.models import Alert

        alert = s.get(Alert, gone)
        assert alert is not None
        bid = alert.bulletin_id
    listed = put_on_air(config, db)
    for path in (
        f"/listen/audio/{bid}.mp3",
        f"/listen/audio/{uuid.uuid4().hex}.mp3",
        f"/listen/audio/{listed}.wav",
        f"/listen/audio/{listed}",
        "/listen/audio/..%2F..%2Floalang.sqlite3",
    ):
        assert client.get(path).status_code == 404, path


def test_the_commune_feed_is_a_podcast_with_enclosures_at_the_public_address(
    client: TestClient, config: ControllerConfig
) -> None:
    db = config_db(client)
    first = put_on_air(config, db, title="Bản tin sáng", text="Tin nông nghiệp.")
    put_on_air(config, db, title="Nội bộ", public=False)
    put_on_air(config, db, title="Chưa duyệt", status="pending")
    raise_alert(config, db, "Lũ quét", zones=("thon-tay",))
    answer = client.get("/listen/feed.xml")
    assert answer.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert feed.feed.link == f"{PUBLIC_URL}/listen"
    assert feed.feed.language == "vi"
    assert feed.feed.author_detail.name == config.commune_name
    titles = [e.title for e in feed.entries]
    assert sorted(titles) == sorted(["Bản tin sáng", "KHẨN CẤP: Lũ quét"])
    entry = next(e for e in feed.entries if e.title == "Bản tin sáng")
    assert entry.summary == "Tin nông nghiệp."
    assert entry.itunes_duration == "2"
    (enclosure,) = entry.enclosures
    assert enclosure.href == f"{PUBLIC_URL}/listen/audio/{first}.mp3"
    assert enclosure.type == "audio/mpeg"
    served = client.get(enclosure.href.removeprefix(PUBLIC_URL)).content
    assert int(enclosure.length) == len(served)
    assert decoded(served)[0] == "mp3"


def test_a_village_feed_has_only_what_aired_there(
    client: TestClient, config: ControllerConfig
) -> None:
    db = config_db(client)
    put_on_air(config, db, title="Thôn Đông", zones=("thon-dong",))
    put_on_air(config, db, title="Thôn Tây", zones=("thon-tay",))
    feed = feedparser.parse(client.get("/listen/thon-tay/feed.xml").content)
    assert not feed.bozo
    assert [e.title for e in feed.entries] == ["Thôn Tây"]
    assert feed.feed.link == f"{PUBLIC_URL}/listen/thon-tay"
    assert client.get("/listen/khong-co/feed.xml").status_code == 404


def test_an_empty_feed_is_still_valid(client: TestClient) -> None:
    feed = feedparser.parse(client.get("/listen/feed.xml").content)
    assert not feed.bozo
    assert feed.entries == []


def test_audio_lost_from_the_store_is_said_and_the_feed_goes_on_without_it(
    client: TestClient, config: ControllerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    db = config_db(client)
    kept = put_on_air(config, db, title="Còn âm thanh", hz=440.0)
    lost = put_on_air(config, db, title="Mất âm thanh", hz=660.0)
    with db.session() as s:
        from controller.models import Bulletin

        bulletin = s.get(Bulletin, lost)
        assert bulletin is not None
        (config.audio_dir / f"{bulletin.audio_sha256}.ogg").unlink()
    assert client.get(f"/listen/audio/{lost}.mp3").status_code == 503
    feed = feedparser.parse(client.get("/listen/feed.xml").content)
    assert not feed.bozo
    assert [e.title for e in feed.entries] == ["Còn âm thanh"]
    assert f"leaves out bulletin {lost}" in caplog.text
    assert client.get(f"/listen/audio/{kept}.mp3").status_code == 200
    assert client.get("/listen").status_code == 200


@pytest.mark.parametrize(
    "name", ["Xã Hòa Bình", "Xã Quảng Thành, huyện Châu Đức, tỉnh Bà Rịa – Vũng Tàu " * 2]
)
def test_the_feed_has_a_square_cover_podcast_apps_accept(
    client: TestClient, config: ControllerConfig, name: str
) -> None:
    client.app.state.config = config.model_copy(update={"commune_name": name})  # type: ignore[attr-defined]
    feed = feedparser.parse(client.get("/listen/feed.xml").content)
    assert not feed.bozo
    assert feed.feed.image.href == f"{PUBLIC_URL}/listen/cover.png"
    answer = client.get("/listen/cover.png")
    assert answer.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(answer.content)) as cover:
        assert cover.size == (1400, 1400)
        assert cover.mode == "RGB"
        # the name is drawn: the lower half is not one colour
        lower = cover.crop((0, 700, 1400, 1400)).convert("L").getextrema()
        assert lower[0] != lower[1]
