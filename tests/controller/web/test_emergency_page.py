"""The emergency page in a real browser: two steps to send, live start point by point, one
action to stop it everywhere; the two-person rule; bad input that sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from controller.db import Database
from controller.delivery.state import NOT_PLAYED
from controller.models import Alert
from tests.support import SystemUnderTest, all_online, make_system, wait_for
from tests.support.web import DESKTOP, PHONE, add_accounts, fits_width, log_in, screenshot

TEXT = "Nước sông đang lên nhanh. Đề nghị bà con thôn Tây di chuyển người và tài sản lên chỗ cao."


def alert_count(sut: SystemUnderTest) -> int:
    db = Database(sut.cluster.config.db_url)
    with db.session() as s:
        count = s.scalar(select(func.count()).select_from(Alert)) or 0
    db.engine.dispose()
    return count


def api_alert(sut: SystemUnderTest, alert_id: str) -> dict[str, Any]:
    with sut.http() as c:
        r = c.get(f"/api/v1/alerts/{alert_id}")
        r.raise_for_status()
        return dict(r.json())


def fill_alert(page, *, villages: list[str], repeat: str = "2", interval: str = "1") -> None:
    page.get_by_label("Nội dung cảnh báo").fill(TEXT)
    for village in villages:
        page.get_by_label(village).check()
    page.get_by_label("Số lần phát").fill(repeat)
    page.get_by_label("Cách nhau (phút)").fill(interval)


def stopped_everywhere(sut: SystemUnderTest, alert_id: str) -> dict[str, Any] | None:
    """Cancelled, and no airing left on its way or playing on any node."""
    alert = api_alert(sut, alert_id)
    plays = alert["report"]["nodes"]
    done = all(p["status"] == "finished" or p["status"] in NOT_PLAYED for p in plays)
    return alert if alert["state"] == "cancelled" and done else None


def test_send_to_one_village_in_two_steps_watch_it_start_and_stop_it(web_system, open_page):
    wait_for(lambda: all_online(web_system), 30, "all nodes online")
    tay = sorted(n for n in web_system.node_ids if "thon-tay" in n)
    before = alert_count(web_system)
    page = open_page("phatthanh")
    page.get_by_role("link", name="KHẨN CẤP").click()
    expect(page.get_by_role("heading", name="Phát cảnh báo khẩn cấp")).to_be_visible()
    assert fits_width(page)
    screenshot(page, "emergency-form")
    desktop = open_page("phatthanh", viewport=DESKTOP)
    desktop.goto(f"{web_system.cluster.url}/emergency")
    screenshot(desktop, "emergency-form")

    fill_alert(page, villages=["Thôn Tây"])
    page.get_by_role("button", name="Gửi cảnh báo").click()
    # step 1 shows what would happen; nothing is sent yet
    summary = page.locator("[data-summary]")
    assert summary.inner_text() == (
        "Phát KHẨN CẤP tới 2 điểm loa ở Thôn Tây, lặp 2 lần, cách nhau 1 phút"
    )
    assert alert_count(web_system) == before
    assert fits_width(page)
    screenshot(page, "emergency-confirm")
    fill_alert(desktop, villages=["Thôn Tây"])
    desktop.get_by_role("button", name="Gửi cảnh báo").click()
    screenshot(desktop, "emergency-confirm")  # never confirmed: it lapses unsent

    page.get_by_role("button", name="Xác nhận phát ngay").click()
    page.wait_for_url("**/emergency/*")
    alert_id = page.url.rsplit("/", 1)[1]
    assert alert_count(web_system) == before + 1
    page.evaluate("window.stillTheSamePage = true")
    for node_id in tay:  # each point of Thôn Tây shows up as it starts, without a reload
        page.locator(f"tr[data-node='{node_id}'][data-status='started']").first.wait_for()
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.locator(".badge.big").inner_text() == "Đang phát"
    alert = api_alert(web_system, alert_id)
    assert {p["node_id"] for p in alert["report"]["nodes"]} == set(tay)  # Thôn Đông untouched
    assert fits_width(page)
    screenshot(page, "emergency-watch")
    desktop.goto(page.url)
    screenshot(desktop, "emergency-watch")

    page.get_by_role("button", name="Dừng cảnh báo").click()
    page.wait_for_url(f"**/emergency/{alert_id}")
    assert page.locator(".badge.big").inner_text() == "Đã dừng"
    assert page.get_by_role("button", name="Dừng cảnh báo").count() == 0
    alert = wait_for(lambda: stopped_everywhere(web_system, alert_id), 30, "stopped on every node")
    cancelled = {p["node_id"] for p in alert["report"]["nodes"] if p["status"] == "cancelled"}
    assert cancelled == set(tay)  # the second airing at least was called off on each point
    # the page says so as it happened: stopped on command, not failed, and its tiles count
    # the very rows below them
    for node_id in tay:
        row = page.locator(f"tr[data-node='{node_id}'][data-status='cancelled']").first
        expect(row.locator(".status")).to_have_text("đã dừng theo lệnh")
    expect(page.locator("[data-missed]")).to_have_text("Không có điểm loa nào bị lỡ.")
    tiles_and_rows = """() => ['played', 'playing', 'waiting', 'not_played', 'stopped'].map((k) =>
        [k, document.querySelector(`[data-sum="${k}"]`).textContent.trim(),
         String(document.querySelectorAll(`tr[data-category="${k}"]`).length)])"""
    for key, tile, rows in page.evaluate(tiles_and_rows):
        assert tile == rows, key
    wait_for(lambda: all_online(web_system), 30, "every point silent again")


def test_no_text_and_no_village_is_refused_next_to_the_fields(web_system, open_page):
    before = alert_count(web_system)
    page = open_page("pheduyet")
    page.goto(f"{web_system.cluster.url}/emergency")
    page.get_by_label("Số lần phát").fill("3")
    with page.expect_response("**/emergency/review") as answer:
        page.get_by_role("button", name="Gửi cảnh báo").click()
    assert answer.value.status == 422
    text = page.get_by_label("Nội dung cảnh báo")
    assert text.get_attribute("aria-invalid") == "true"
    assert page.locator("#text-error").inner_text() == (
        "Hãy nhập nội dung cảnh báo hoặc chọn một bản ghi âm."
    )
    assert "Hãy chọn ít nhất một thôn" in page.locator("#zones-error").inner_text()
    assert page.get_by_label("Thôn Tây").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Số lần phát").input_value() == "3"  # what was typed stays
    assert alert_count(web_system) == before


def test_repeats_that_outlast_the_expiry_are_refused(web_system, open_page):
    before = alert_count(web_system)
    page = open_page("pheduyet")
    page.goto(f"{web_system.cluster.url}/emergency")
    fill_alert(page, villages=["Thôn Đông"], repeat="5", interval="30")
    page.get_by_label("Hết hiệu lực sau").select_option("60")
    page.get_by_role("button", name="Gửi cảnh báo").click()
    assert "kéo dài quá thời hạn" in page.locator("#interval_min-error").inner_text()
    assert page.get_by_label("Nội dung cảnh báo").input_value() == TEXT
    assert page.get_by_label("Thôn Đông").is_checked()
    assert alert_count(web_system) == before


@pytest.fixture(scope="module")
def two_person_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    sut = make_system(tmp_path_factory.mktemp("two-person"), nodes=2, two_person_rule=True)
    add_accounts(sut)
    sut.cluster.start_all()
    yield sut
    sut.cluster.stop_all()


def test_under_the_two_person_rule_a_second_account_confirms(browser, two_person_system):
    sut = two_person_system
    url = sut.cluster.url
    contexts = [
        browser.new_context(viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        for _ in range(2)
    ]
    try:
        proposer, second = (c.new_page() for c in contexts)
        for p in (proposer, second):
            p.set_default_timeout(20_000)
        log_in(proposer, url, "phatthanh")
        log_in(second, url, "pheduyet")
        proposer.goto(f"{url}/emergency")
        assert "Quy tắc hai người" in proposer.locator(".notice").first.inner_text()
        fill_alert(proposer, villages=["Tất cả các điểm loa"], repeat="1")
        proposer.get_by_role("button", name="Gửi cảnh báo").click()
        proposer.get_by_role("button", name="Xác nhận và chuyển người thứ hai duyệt").click()
        proposer.wait_for_url("**/emergency/*")
        alert_id = proposer.url.rsplit("/", 1)[1]
        assert api_alert(sut, alert_id)["state"] == "proposed"
        assert proposer.locator(".badge.big").inner_text() == "Chờ xác nhận"
        assert "Người đề xuất không thể tự xác nhận" in proposer.locator(".notice").inner_text()
        assert proposer.get_by_role("button", name="Xác nhận và phát ngay").count() == 0
        # even a hand-made request cannot confirm one's own alert
        cookies = {c["name"]: c["value"] for c in contexts[0].cookies()}
        csrf = proposer.locator("meta[name=csrf-token]").get_attribute("content")
        with httpx.Client(base_url=url, cookies=cookies) as c:
            r = c.post(f"/emergency/{alert_id}/confirm", data={"csrf": csrf})
        assert r.status_code == 403
        assert "không thể tự xác nhận" in r.text
        assert api_alert(sut, alert_id)["state"] == "proposed"

        second.goto(f"{url}/emergency")
        second.get_by_role("link", name="Xem và xác nhận").click()
        second.get_by_role("button", name="Xác nhận và phát ngay").click()
        second.wait_for_url(f"**/emergency/{alert_id}")
        alert = api_alert(sut, alert_id)
        assert alert["state"] == "active"
        assert (alert["proposed_by"], alert["confirmed_by"]) == ("phatthanh", "pheduyet")
        # the proposer's page follows: the state changes in place
        proposer.locator(".badge.big", has_text="Đang phát").wait_for()
        wait_for(
            lambda: api_alert(sut, alert_id)["report"]["summary"]["played"] == 2,
            60,
            "both points playing",
        )
        proposer.get_by_role("button", name="Dừng cảnh báo").click()
        wait_for(lambda: stopped_everywhere(sut, alert_id), 30, "stopped on every node")
    finally:
        for c in contexts:
            c.close()


def test_an_alert_recorded_in_the_browser_plays_on_the_chosen_village(web_system, speaking_page):
    """The broadcaster speaks the alert into the phone instead of typing it; the recording
    travels the same two steps as a file would and is what the points play."""
    page = speaking_page
    wait_for(lambda: all_online(web_system), 30, "all nodes online")
    dong = sorted(n for n in web_system.node_ids if "thon-dong" in n)
    page.goto(f"{web_system.cluster.url}/emergency")
    page.get_by_role("button", name="Ghi âm cảnh báo").click()
    page.wait_for_function("() => document.getElementById('alarm-level').value > 0.1")
    expect(page.locator("#alarm-timer")).to_have_text("00:02")
    page.get_by_role("button", name="Dừng ghi âm").click()
    expect(page.locator("#alarm-attached")).to_be_visible()
    assert page.evaluate("document.getElementById('file').files[0].name").startswith(
        "canh-bao-ghi-am."
    )
    page.get_by_label("Thôn Đông").check()
    page.get_by_label("Số lần phát").fill("1")
    page.get_by_role("button", name="Gửi cảnh báo").click()
    page.get_by_role("button", name="Xác nhận phát ngay").click()
    page.wait_for_url("**/emergency/*")
    alert_id = page.url.rsplit("/", 1)[1]
    for node_id in dong:
        page.locator(f"tr[data-node='{node_id}'][data-status='started']").first.wait_for()
    alert = api_alert(web_system, alert_id)
    assert {p["node_id"] for p in alert["report"]["nodes"]} == set(dong)
    assert alert["text"] == ""  # the voice, not a text, went on air
    page.get_by_role("button", name="Dừng cảnh báo").click()
    wait_for(lambda: stopped_everywhere(web_system, alert_id), 30, "stopped on every node")
