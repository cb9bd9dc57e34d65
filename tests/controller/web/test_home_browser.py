"""The speech preview, notifications and the home pages in a real browser at 360 px, against
the real controller and broker (one point is enough: nothing here waits for a play).

A broadcaster types a notice and sees how it will be read while typing and on the draft; the
approver gets a badge, opens the list, follows the item to the review page, sees "Đọc là" and
rejects it; the broadcaster's home page shows the rejection with its reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from controller.broadcast.reading import read_as
from controller.models import PushSubscription
from tests.controller.web.conftest import running_system
from tests.support import SystemUnderTest, db_of
from tests.support.web import PHONE, fits_width, log_in, screenshot

TITLE = "Thông báo tiêm phòng"
TEXT = "Tiêm phòng lúc 7 giờ ngày 12/3/2026 tại trạm y tế, gọi 0203.3812.456"
REASON = "Ghi rõ tiêm cho trẻ dưới 5 tuổi"


@pytest.fixture(scope="module")
def web_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    """Overrides the shared one: a single point is enough."""
    yield from running_system(tmp_path_factory.mktemp("home"), nodes=1)


@pytest.fixture(scope="module")
def broadcaster(web_system, browser) -> Iterator[Any]:
    """The broadcaster's page, kept across the tests: the draft made in one is sent in the
    next."""
    context = browser.new_context(viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, web_system.cluster.url, "phatthanh")
    yield page
    context.close()


def test_compose_shows_how_the_text_will_be_read_as_it_is_typed(web_system, broadcaster):
    base, spoken = web_system.cluster.url, read_as(web_system.cluster.config.tts, TEXT)
    page = broadcaster
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Tiêu đề bản tin").fill(TITLE)
    page.get_by_label("Nhập văn bản để máy đọc").check()
    reading = page.locator("#tts-reading")
    expect(reading).to_be_hidden()
    page.get_by_label("Nội dung bản tin").press_sequentially(TEXT[:20])
    expect(reading).to_be_visible()
    page.get_by_label("Nội dung bản tin").fill(TEXT)
    expect(reading).to_have_text(f"Đọc là: {spoken}")
    assert not re.search(r"\d", spoken)  # every number in words
    # the Southern voice says "ngàn": the preview follows the voice chosen, and back
    southern = read_as(web_system.cluster.config.tts, TEXT, "vi-vn-x-south")
    assert "ngàn" in southern
    page.get_by_label("Giọng đọc", exact=True).select_option("vi-vn-x-south")
    expect(reading).to_have_text(f"Đọc là: {southern}")
    page.get_by_label("Giọng đọc", exact=True).select_option("vi")
    expect(reading).to_have_text(f"Đọc là: {spoken}")
    assert fits_width(page)
    screenshot(page, "compose-reading")

    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    page.wait_for_url(re.compile(r".*/bulletins/[0-9a-f]{32}$"))
    shown = page.locator(".reading")
    expect(shown.locator(".reading-written")).to_have_text(f"Văn bản: {TEXT}")
    expect(shown.locator(".reading-spoken")).to_have_text(f"Đọc là: {spoken}")
    assert fits_width(page)


def test_the_approver_gets_a_badge_opens_the_list_and_reviews_with_the_reading(
    web_system, broadcaster, open_page
):
    base, spoken = web_system.cluster.url, read_as(web_system.cluster.config.tts, TEXT)
    broadcaster.get_by_label("Tất cả các điểm loa").check()
    broadcaster.get_by_label("Phát ngay khi được duyệt").check()
    broadcaster.get_by_role("button", name="Gửi duyệt").click()
    broadcaster.wait_for_url(re.compile(r".*\?submitted=1$"))

    approver = open_page("pheduyet")
    bell = approver.locator("#notify-badge")
    expect(bell).to_have_attribute("aria-label", "Thông báo: 1 chưa đọc")
    expect(bell.locator(".count")).to_have_text("1")
    box = bell.bounding_box()
    assert box is not None
    assert box["width"] >= 44
    assert box["height"] >= 44
    screenshot(approver, "home-approver")
    bell.click()
    approver.wait_for_url(f"{base}/notifications")
    item = approver.locator(".notifications li.unread")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(f"Bản tin “{TITLE}” đang chờ anh/chị duyệt")
    assert fits_width(approver)
    screenshot(approver, "notifications")
    item.get_by_role("link").click()
    approver.wait_for_url(re.compile(rf"{re.escape(base)}/review#b-[0-9a-f]{{32}}$"))
    article = approver.locator("article.review-item").first
    expect(article.locator(".reading-spoken")).to_have_text(f"Đọc là: {spoken}")
    expect(approver.locator("#notify-badge .count")).to_have_count(0)  # read now
    assert fits_width(approver)
    screenshot(approver, "review-reading")
    article.get_by_label("Ý kiến (bắt buộc khi từ chối)").fill(REASON)
    article.get_by_role("button", name="Từ chối").click()
    expect(approver.get_by_role("status")).to_contain_text("Đã từ chối")


def test_the_broadcaster_home_shows_the_rejection_with_its_reason(web_system, broadcaster):
    base = web_system.cluster.url
    page = broadcaster
    page.goto(f"{base}/")
    expect(page.locator("#notify-badge .count")).to_have_text("1")
    rejected = page.locator("#home-rejected")
    expect(rejected.get_by_role("heading")).to_have_text("Bản tin của bạn bị từ chối: 1")
    expect(rejected).to_contain_text(TITLE)
    expect(rejected).to_contain_text(f"Lý do: {REASON}")
    assert fits_width(page)
    screenshot(page, "home-broadcaster")
    rejected.get_by_role("link", name="Sửa và gửi lại").click()
    page.wait_for_url(re.compile(r".*/bulletins/[0-9a-f]{32}$"))
    expect(page.locator(".reading-spoken")).to_be_visible()


def test_push_that_the_browser_cannot_set_up_says_so_and_keeps_nothing(web_system, browser):
    """This Chromium has no push service to reach: turning push on must say it failed, not
    claim it is on, and store no subscription."""
    base = web_system.cluster.url
    context = browser.new_context(viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        context.grant_permissions(["notifications"], origin=base)
        page = context.new_page()
        log_in(page, base, "pheduyet")
        page.goto(f"{base}/notifications")
        state = page.locator("#push-state")
        expect(state).to_have_text("Đang tắt: thông báo chỉ hiện trong trang này.")
        page.get_by_role("button", name="Bật báo trên điện thoại này").click()
        expect(state).to_have_text("Chưa bật được thông báo, hãy thử lại.", timeout=30_000)
        expect(page.get_by_role("button", name="Tắt báo trên điện thoại này")).to_be_hidden()
    finally:
        context.close()
    db = db_of(web_system)
    with db.session() as s:
        assert s.scalars(select(PushSubscription)).all() == []
    db.engine.dispose()
