"""The listen-again page in a real browser on a 360 px phone, after real points played real
bulletins: the alert on top, nothing wider than the screen, no cookie, audio the phone plays."""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path
from typing import Any

import av
import pytest

from tests.support import SystemUnderTest, post_alert, wait_for
from tests.support.web import fits_width, screenshot


@pytest.fixture(scope="module")
def on_air(web_system: SystemUnderTest, speech_wav: Path) -> dict[str, str]:
    """A public bulletin and an internal notice both played in Thôn Đông, then an alert there."""
    made: dict[str, str] = {}
    for name, extra in (("news", {}), ("internal", {"public": "false"})):
        title = "Lịch tiêm phòng tháng 12" if name == "news" else "Họp chi bộ nội bộ"
        answer = web_system.post_bulletin(speech_wav, zones="thon-dong", title=title, **extra)
        assert answer.status_code == 201, answer.text
        made[name] = answer.json()["id"]

    def played(bulletin_id: str) -> bool:  # to the end: the alert then cuts into nothing
        return bool(web_system.report(bulletin_id)["summary"]["completed"] == 2)

    for bid in made.values():
        wait_for(partial(played, bid), 60, f"bulletin {bid} played at both points")
    alert = post_alert(web_system, speech_wav, zones="thon-dong", text="Lũ quét, tránh xa suối")
    assert alert.status_code == 201, alert.text
    made["alert"] = alert.json()["id"]
    return made


def test_the_village_page_on_a_phone(web_system: SystemUnderTest, open_page: Any, on_air) -> None:
    page = open_page()
    page.goto(f"{web_system.cluster.url}/listen/thon-dong")
    alert = page.locator(".alert.active")
    assert "CẢNH BÁO KHẨN CẤP" in alert.inner_text()
    assert "Lũ quét, tránh xa suối" in alert.inner_text()
    first = page.locator("article").first.bounding_box()
    box = alert.bounding_box()
    assert box["y"] < first["y"]
    assert box["y"] < 200  # the first thing seen, without scrolling
    assert "Lịch tiêm phòng tháng 12" in page.content()
    assert "Họp chi bộ nội bộ" not in page.content()
    assert fits_width(page)
    assert page.context.cookies() == []
    screenshot(page, "listen-village")


def test_the_phone_plays_the_audio_and_the_mp3_is_real(
    web_system: SystemUnderTest, open_page: Any, on_air
) -> None:
    page = open_page()
    page.goto(f"{web_system.cluster.url}/listen/thon-dong")
    article = page.locator("article", has_text="Lịch tiêm phòng tháng 12")
    seconds = article.locator("audio").evaluate(
        """a => new Promise(done => {
            a.addEventListener('loadedmetadata', () => done(a.duration), {once: true});
            a.addEventListener('error', () => done(-1), {once: true});
            a.preload = 'auto'; a.load();
        })"""
    )
    assert seconds > 1
    assert article.locator("audio").evaluate("a => a.currentSrc").endswith(".opus")
    mp3 = page.request.get(f"{web_system.cluster.url}/listen/audio/{on_air['news']}.mp3")
    assert mp3.headers["content-type"] == "audio/mpeg"
    with av.open(io.BytesIO(mp3.body()), mode="r") as container:
        assert container.streams.audio[0].codec_context.name.startswith("mp3")
        assert sum(int(f.samples) for f in container.decode(audio=0)) > 0
    hidden = page.request.get(f"{web_system.cluster.url}/listen/audio/{on_air['internal']}.mp3")
    assert hidden.status == 404
    assert page.context.cookies() == []


def test_the_commune_page_lists_the_villages(
    web_system: SystemUnderTest, open_page: Any, on_air
) -> None:
    page = open_page()
    page.goto(f"{web_system.cluster.url}/listen")
    assert page.locator(".alert.active").count() == 1
    page.get_by_role("link", name="Thôn Tây").click()
    page.wait_for_url(f"{web_system.cluster.url}/listen/thon-tay")
    assert page.locator(".alert").count() == 0
    assert "Lịch tiêm phòng tháng 12" not in page.content()
    assert fits_width(page)
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Listen again: Thôn Tây loudspeakers").is_visible()
    assert fits_width(page)
    screenshot(page, "listen-commune")
    assert page.context.cookies() == []
