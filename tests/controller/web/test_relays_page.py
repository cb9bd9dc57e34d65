"""The relays page (tiếp âm) at 360 px: an approver adds a relay and takes it out; a station
inside the network is refused with words and nothing is stored; a broadcaster only reads."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from controller.models import AuditEntry, Relay
from tests.support import db_of
from tests.support.web import fits_width


def relays(web_system) -> list[Relay]:
    with db_of(web_system).session() as s:
        return list(s.scalars(select(Relay)))


def test_an_approver_adds_a_relay_from_the_phone_and_removes_it(web_system, open_page):
    page = open_page("pheduyet")
    base = web_system.cluster.url
    page.goto(f"{base}/programme")
    page.get_by_role("link", name="Tiếp âm đài (VOV, đài tỉnh)").click()
    page.wait_for_url(f"{base}/programme/relays")
    assert fits_width(page)

    # an address inside the commune's network: refused in words, nothing stored
    page.get_by_label("Tên chương trình").fill("VOV1 thời sự")
    page.get_by_label("Địa chỉ luồng phát của đài").fill("http://192.168.1.1/admin")
    page.get_by_label("Giờ bắt đầu").fill("06:00")
    page.get_by_label("Giờ kết thúc").fill("06:30")
    page.get_by_label("Thôn Đông").check()
    page.get_by_role("button", name="Lưu lịch tiếp âm").click()
    expect(page.get_by_role("alert")).to_contain_text("địa chỉ nội bộ")
    assert relays(web_system) == []

    page.get_by_label("Địa chỉ luồng phát của đài").fill("http://203.113.131.1/vov1.mp3")
    page.get_by_label("Thôn Đông").check()
    page.get_by_role("button", name="Lưu lịch tiếp âm").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu lịch tiếp âm.")
    item = page.locator(".relays li.card")
    expect(item).to_contain_text("VOV1 thời sự")
    expect(item).to_contain_text("06:00–06:30")
    expect(item).to_contain_text("Thôn Đông")
    [row] = relays(web_system)
    assert (row.duration_s, row.zones, row.recurrence["kind"]) == (1800, ["thon-dong"], "daily")
    assert fits_width(page)

    page.get_by_role("button", name="Bỏ lịch tiếp âm này").click()
    expect(page.get_by_role("status")).to_have_text("Đã bỏ lịch tiếp âm.")
    assert relays(web_system) == []
    with db_of(web_system).session() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "pheduyet")))
    assert {"relay.add", "relay.remove"} <= set(actions)


def test_a_broadcaster_sees_the_relays_but_cannot_change_them(web_system, open_page):
    page = open_page("phatthanh")
    page.goto(f"{web_system.cluster.url}/programme/relays")
    expect(page.get_by_role("heading", name="Tiếp âm đài")).to_be_visible()
    expect(page.get_by_role("button", name="Lưu lịch tiếp âm")).to_have_count(0)
