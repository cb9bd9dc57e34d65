""" "Phát trực tiếp" in a real browser: Chromium at 360 px whose fake microphone says a speech
recording goes live to both villages of a system with two node processes (WAV sinks), over
the page's WebSocket. The page shows the level moving, the time and the points on air; the
end button ends it; the points played it; the recording and the per-point report exist and
name the broadcaster. A socket opened by the page with a wrong token is closed unheard."""

from __future__ import annotations

import re
import wave
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from controller.models import now
from controller.reports.monthly import month_of, monthly_report
from tests.support import SystemUnderTest, controller_rows, db_of, make_system, wait_for
from tests.support.web import add_accounts, fits_width, screenshot


@pytest.fixture(scope="module")
def web_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    """Two node processes, one in each village (the conftest's speaking page logs in here)."""
    sut = make_system(tmp_path_factory.mktemp("on-air"), nodes=2)
    add_accounts(sut)
    sut.cluster.start_all()
    wait_for(lambda: _online(sut) == 2, 60, "both points online")
    yield sut
    sut.cluster.stop_all()


def _online(sut: SystemUnderTest) -> int:
    with sut.http() as c:
        return sum(n["status"] == "online" for n in c.get("/api/v1/nodes").json())


METER_READINGS = """() => new Promise((resolve) => {
  const meter = document.getElementById("onair-meter");
  const seen = new Set();
  const id = setInterval(() => {
    seen.add(Number(meter.getAttribute("aria-valuenow")));
    if (seen.size >= 4) { clearInterval(id); resolve([...seen]); }
  }, 40);
})"""

WRONG_TOKEN = """(path) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}${path}`);
  ws.binaryType = "arraybuffer";
  const said = [];
  ws.onopen = () => {
    ws.send(JSON.stringify({ csrf: "not-the-token", all: true }));
    ws.send(new Int16Array(1920).buffer);
  };
  ws.onmessage = (event) => said.push(JSON.parse(event.data).type);
  ws.onclose = (event) => resolve({ code: event.code, said });
})"""


def test_a_broadcaster_goes_live_from_the_phone_and_every_point_plays_it(web_system, speaking_page):
    sut, page = web_system, speaking_page
    page.goto(f"{sut.cluster.url}/on-air")
    assert fits_width(page)
    go = page.get_by_role("button", name="Bắt đầu phát trực tiếp")
    go.click()  # nothing chosen yet: said where, nothing starts
    page.get_by_text("Hãy chọn toàn xã, một thôn hoặc một điểm loa.").wait_for()
    page.get_by_role("checkbox", name=re.compile(r"^Thôn Đông \(")).check()
    page.get_by_role("checkbox", name=re.compile(r"^Thôn Tây \(")).check()
    page.get_by_label("Nội dung (không bắt buộc)").fill("Tìm trẻ lạc ở chợ")
    go.click()
    confirm = page.get_by_role("button", name="Xác nhận: phát ngay")
    assert page.locator("#onair-live").is_hidden()  # the first tap alone never goes live
    confirm.click()

    # "speak now" only once the points sound the session, not when the socket opens
    page.get_by_text("ĐANG PHÁT TRỰC TIẾP").wait_for()
    assert int(page.locator("#onair-count").text_content()) > 0
    play_id = page.locator("#onair").get_attribute("data-play-id")
    assert play_id
    assert page.locator("#onair-targets").text_content() == "2"
    readings = page.evaluate(METER_READINGS)
    assert max(readings) > 20, readings  # the meter moves with the voice
    expect(page.locator("#onair-count")).to_have_text("2")  # both points say they play it
    expect(page.locator("#onair-elapsed")).to_have_text(re.compile(r"^0:0[2-9]$"))
    assert fits_width(page)
    screenshot(page, "on-air")

    page.get_by_role("button", name="Kết thúc phát").click()
    page.get_by_text("Đã kết thúc.").wait_for()
    report_link = page.get_by_role("link", name="Xem báo cáo từng điểm loa")
    bulletin_id = report_link.get_attribute("href").split("/")[2]

    # the points played it, and said so
    def proven() -> list[tuple[Any, ...]] | None:
        rows = controller_rows(
            sut,
            "SELECT node_id, status, live_seconds FROM deliveries WHERE play_id=?",
            play_id,
        )
        done = len(rows) == 2 and all(r[1] == "finished" and r[2] for r in rows)
        return rows if done else None

    for node_id, _status, seconds in wait_for(proven, 30, "both points' proof of play"):
        assert seconds > 1.0
        heard = read_wav(sut.played_dir(node_id) / f"{play_id}.wav")
        assert np.sqrt(np.mean(heard**2)) > 0.01, f"{node_id} played silence"

    # kept as a live bulletin by the broadcaster; its recording exists
    [(kind, sha, author)] = controller_rows(
        sut,
        "SELECT b.kind, b.audio_sha256, u.username FROM bulletins b"
        " JOIN users u ON u.id = b.created_by WHERE b.id=?",
        bulletin_id,
    )
    assert (kind, author) == ("live", "phatthanh")
    assert (sut.cluster.config.audio_dir / f"{sha}.ogg").stat().st_size > 1000
    source = controller_rows(
        sut, "SELECT detail FROM audit_log WHERE action='live.start' AND target=?", play_id
    )
    assert '"web"' in source[0][0]
    db = db_of(sut)  # in the month's report, as live airtime
    with db.session() as s:
        month = monthly_report(s, month_of(now()), now())
    db.engine.dispose()
    assert bulletin_id in month.bulletin_ids
    assert month.by_source["live"] >= 1
    report_link.click()
    expect(page.locator(".report-subject")).to_have_text("Tìm trẻ lạc ở chợ")
    author = page.locator("dt", has_text="Người tạo").locator("xpath=following-sibling::dd[1]")
    expect(author).to_have_text("phatthanh")  # the report names who spoke
    assert fits_width(page)


def test_a_socket_with_a_wrong_token_is_closed_before_any_audio(web_system, speaking_page):
    page = speaking_page
    page.goto(f"{web_system.cluster.url}/on-air")
    before = controller_rows(web_system, "SELECT count(*) FROM audit_log WHERE action='live.start'")
    result = page.evaluate(WRONG_TOKEN, "/on-air/socket")
    assert result == {"code": 4403, "said": ["error"]}
    after = controller_rows(web_system, "SELECT count(*) FROM audit_log WHERE action='live.start'")
    assert after == before


def test_a_login_expired_on_an_open_page_is_said_and_nothing_goes_live(web_system, speaking_page):
    """Last in the module: it logs the speaking page out."""
    page = speaking_page
    page.goto(f"{web_system.cluster.url}/on-air")
    page.context.clear_cookies()  # the session ended while the page stayed open
    page.get_by_role("checkbox", name=re.compile(r"^Toàn xã")).check()
    page.get_by_role("button", name="Bắt đầu phát trực tiếp").click()
    page.get_by_role("button", name="Xác nhận: phát ngay").click()
    expect(page.locator("#onair-error")).to_contain_text("phiên đăng nhập có thể đã hết hạn")
    with web_system.http() as c:
        assert c.get("/api/v1/live").json() == []


def read_wav(path: Any) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
