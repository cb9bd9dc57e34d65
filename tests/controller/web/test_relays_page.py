"""The relays page (tiếp âm) at 360 px: an approver adds a relay (once, daily, weekly on chosen
days, monthly on days of the month, until a date), changes one, and takes one out; a refusal
(an address inside the network, a window over another relay's, a day no month has) shows beside
its field with what was typed, and stores nothing; the calendar follows a change; a broadcaster
only reads. One controller and browser for the module; relays made by one test stay for the
next, so each test uses its own hours."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from controller.models import AuditEntry, Relay
from schedules import LOCAL
from tests.support import db_of
from tests.support.web import fits_width

STATION = "http://203.113.131.1/vov1.mp3"  # a public address, no name to resolve


def relays(web_system) -> dict[str, Relay]:
    with db_of(web_system).session() as s:
        return {r.title: r for r in s.scalars(select(Relay))}


def actions_of(web_system, actor: str) -> list[str]:
    with db_of(web_system).session() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.actor == actor)))


def next_week() -> date:
    """A first date a week ahead: no window of these relays airs while the tests run."""
    return datetime.now(LOCAL).date() + timedelta(days=7)


def monday_from(day: date) -> date:
    return day + timedelta(days=-day.weekday() % 7)


def fill_relay(page: Any, title: str, start: str, end: str, *, first: date) -> None:
    page.get_by_label("Tên chương trình").fill(title)
    page.get_by_label("Địa chỉ luồng phát của đài").fill(STATION)
    page.get_by_label("Giờ bắt đầu").fill(start)
    page.get_by_label("Giờ kết thúc").fill(end)
    page.get_by_label("Phát từ ngày").fill(first.isoformat())


def test_an_approver_adds_a_relay_from_the_phone_and_removes_it(web_system, open_page):
    page = open_page("pheduyet")
    base = web_system.cluster.url
    page.goto(f"{base}/programme")
    page.get_by_role("link", name="Tiếp âm đài (VOV, đài tỉnh)").click()
    page.wait_for_url(f"{base}/programme/relays")
    assert fits_width(page)

    # an address inside the commune's network: refused beside the address, nothing stored
    page.get_by_label("Tên chương trình").fill("VOV1 thời sự")
    page.get_by_label("Địa chỉ luồng phát của đài").fill("http://192.168.1.1/admin")
    page.get_by_label("Giờ bắt đầu").fill("06:00")
    page.get_by_label("Giờ kết thúc").fill("06:30")
    page.get_by_label("Thôn Đông").check()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Lưu lịch tiếp âm").click()
    assert answer.value.status == 422
    expect(page.locator("#url-error")).to_contain_text("địa chỉ nội bộ")
    expect(page.get_by_label("Địa chỉ luồng phát của đài")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.get_by_label("Tên chương trình")).to_have_value("VOV1 thời sự")
    expect(page.get_by_label("Thôn Đông")).to_be_checked()
    assert relays(web_system) == {}

    page.get_by_label("Địa chỉ luồng phát của đài").fill(STATION)
    page.get_by_role("button", name="Lưu lịch tiếp âm").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu lịch tiếp âm.")
    item = page.locator(".relays li.card", has_text="VOV1 thời sự")
    expect(item).to_contain_text("06:00–06:30")
    expect(item).to_contain_text("hằng ngày từ ngày")
    expect(item).to_contain_text("Thôn Đông")
    row = relays(web_system)["VOV1 thời sự"]
    assert (row.duration_s, row.zones, row.recurrence["kind"]) == (1800, ["thon-dong"], "daily")
    assert fits_width(page)

    item.get_by_role("button", name="Bỏ lịch tiếp âm này").click()
    expect(page.get_by_role("status")).to_have_text("Đã bỏ lịch tiếp âm.")
    assert relays(web_system) == {}
    assert {"relay.add", "relay.remove"} <= set(actions_of(web_system, "pheduyet"))


def test_an_approver_makes_a_weekly_and_a_monthly_relay(web_system, open_page):
    page = open_page("pheduyet")
    page.goto(f"{web_system.cluster.url}/programme/relays")
    first = next_week()
    until = first + timedelta(days=60)

    fill_relay(page, "Đài tỉnh buổi sáng", "07:00", "07:30", first=first)
    page.get_by_label("Hằng tuần, vào các ngày chọn dưới đây").check()
    for day in ("Thứ Hai", "Thứ Tư", "Thứ Sáu"):
        page.get_by_label(day).check()
    page.get_by_label("Ngày kết thúc (để trống: không hạn)").fill(until.isoformat())
    page.get_by_label("Thôn Đông").check()
    page.get_by_role("button", name="Lưu lịch tiếp âm").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu lịch tiếp âm.")
    weekly = page.locator(".relays li.card", has_text="Đài tỉnh buổi sáng")
    expect(weekly).to_contain_text("07:00–07:30")
    expect(weekly).to_contain_text("hằng tuần vào Thứ Hai, Thứ Tư, Thứ Sáu")
    expect(weekly).to_contain_text(f"đến hết ngày {until:%d/%m/%Y}")

    # a day no month has: refused beside the days, what was typed kept, nothing stored
    fill_relay(page, "VOV1 thời sự tối", "19:00", "19:30", first=first)
    page.get_by_label("Hằng tháng, vào các ngày ghi dưới đây").check()
    days = page.get_by_label("Ngày trong tháng (khi phát hằng tháng)")
    days.fill("1, 32")
    page.get_by_label("Thôn Tây").check()
    page.get_by_role("button", name="Lưu lịch tiếp âm").click()
    expect(page.locator("#month_days-error")).to_contain_text("từ 1 đến 31")
    expect(days).to_have_value("1, 32")
    expect(page.get_by_label("Giờ bắt đầu")).to_have_value("19:00")
    assert set(relays(web_system)) == {"Đài tỉnh buổi sáng"}

    days.fill("1, 15")
    page.get_by_role("button", name="Lưu lịch tiếp âm").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu lịch tiếp âm.")
    monthly = page.locator(".relays li.card", has_text="VOV1 thời sự tối")
    expect(monthly).to_contain_text("hằng tháng vào ngày 1, 15")
    assert fits_width(page)

    stored = relays(web_system)
    assert stored["Đài tỉnh buổi sáng"].recurrence == {
        "kind": "weekly",
        "start_date": first.isoformat(),
        "end_date": until.isoformat(),
        "weekdays": [0, 2, 4],
        "month_days": None,
        "at": "07:00:00",
    }
    assert stored["VOV1 thời sự tối"].recurrence["month_days"] == [1, 15]
    assert stored["VOV1 thời sự tối"].zones == ["thon-tay"]


def test_an_approver_changes_a_relay_and_the_list_and_calendar_follow(web_system, open_page):
    page = open_page("pheduyet")
    base = web_system.cluster.url
    page.goto(f"{base}/programme/relays")
    first = next_week()
    fill_relay(page, "Thời sự trưa", "11:00", "11:30", first=first)
    page.get_by_label("Hằng tuần, vào các ngày chọn dưới đây").check()
    page.get_by_label("Thứ Hai").check()
    page.get_by_label("Thôn Đông").check()
    page.get_by_label("Ngày kết thúc (để trống: không hạn)").fill("")
    page.get_by_role("button", name="Lưu lịch tiếp âm").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu lịch tiếp âm.")
    page.get_by_role("link", name="Sửa: Thời sự trưa").click()
    rid = relays(web_system)["Thời sự trưa"].id
    page.wait_for_url(f"{base}/programme/relays/{rid}")
    assert fits_width(page)

    # the form holds the relay as it is
    expect(page.get_by_label("Tên chương trình")).to_have_value("Thời sự trưa")
    expect(page.get_by_label("Địa chỉ luồng phát của đài")).to_have_value(STATION)
    expect(page.get_by_label("Giờ bắt đầu")).to_have_value("11:00")
    expect(page.get_by_label("Giờ kết thúc")).to_have_value("11:30")
    expect(page.get_by_label("Hằng tuần, vào các ngày chọn dưới đây")).to_be_checked()
    expect(page.get_by_label("Thứ Hai")).to_be_checked()
    expect(page.get_by_label("Thứ Ba")).not_to_be_checked()
    expect(page.get_by_label("Phát từ ngày")).to_have_value(first.isoformat())
    expect(page.get_by_label("Thôn Đông")).to_be_checked()
    expect(page.get_by_label("Thôn Tây")).not_to_be_checked()

    # moved onto the monthly relay of Thôn Tây (19:00–19:30): refused beside the start time
    before = relays(web_system)["Thời sự trưa"].recurrence
    page.get_by_label("Giờ bắt đầu").fill("19:10")
    page.get_by_label("Giờ kết thúc").fill("19:40")
    page.get_by_label("Hằng ngày").check()
    page.get_by_label("Thôn Tây").check()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Lưu thay đổi").click()
    assert answer.value.status == 422
    expect(page.locator("#start-error")).to_contain_text("Trùng giờ với tiếp âm «VOV1 thời sự tối»")
    expect(page.get_by_label("Giờ bắt đầu")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Giờ bắt đầu")).to_have_value("19:10")
    expect(page.get_by_label("Thôn Tây")).to_be_checked()
    kept = relays(web_system)["Thời sự trưa"]
    assert (kept.recurrence, kept.zones, kept.duration_s) == (before, ["thon-dong"], 1800)

    # a new hour and village, still every Monday
    page.get_by_label("Giờ bắt đầu").fill("08:00")
    page.get_by_label("Giờ kết thúc").fill("08:45")
    page.get_by_label("Hằng tuần, vào các ngày chọn dưới đây").check()
    page.get_by_label("Thôn Đông").uncheck()
    page.get_by_role("button", name="Lưu thay đổi").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu thay đổi lịch tiếp âm.")
    item = page.locator(".relays li.card", has_text="Thời sự trưa")
    expect(item).to_contain_text("08:00–08:45")
    expect(item).to_contain_text("hằng tuần vào Thứ Hai")
    expect(item.locator(".where")).to_have_text("Thôn Tây")
    changed = relays(web_system)["Thời sự trưa"]
    assert (changed.id, changed.zones, changed.duration_s) == (rid, ["thon-tay"], 2700)
    assert "relay.change" in actions_of(web_system, "pheduyet")

    monday = monday_from(first)
    page.goto(f"{base}/programme/calendar?view=day&day={monday.isoformat()}")
    entry = page.locator('li.entry[data-kind="relay"]', has_text="Thời sự trưa")
    expect(entry).to_have_count(1)
    expect(entry.locator(".at")).to_have_text("08:00")
    expect(entry).to_contain_text("Thôn Tây")
    entry.get_by_role("link", name="Thời sự trưa").click()
    page.wait_for_url(f"{base}/programme/relays#relay-{rid}")
    gone = page.goto(f"{base}/programme/relays/khong-co")
    assert gone is not None
    assert gone.status == 404


def test_a_broadcaster_sees_the_relays_but_cannot_change_them(web_system, open_page):
    base = web_system.cluster.url
    page = open_page("phatthanh")
    page.goto(f"{base}/programme/relays")
    expect(page.get_by_role("heading", name="Tiếp âm đài")).to_be_visible()
    expect(page.locator(".relays li.card").first).to_be_visible()  # made by the tests above
    expect(page.locator("main form")).to_have_count(0)
    expect(page.get_by_role("link", name="Sửa")).to_have_count(0)
    csrf = str(page.locator('meta[name="csrf-token"]').get_attribute("content"))
    before = {t: (r.duration_s, r.zones, r.recurrence) for t, r in relays(web_system).items()}
    rid = next(iter(relays(web_system).values())).id
    answer = page.goto(f"{base}/programme/relays/{rid}")
    assert answer is not None
    assert answer.status == 403
    form = {"csrf": csrf, "title": "Lén", "url": STATION, "start": "09:00", "end": "09:30"}
    for path in ("/programme/relays", f"/programme/relays/{rid}"):
        posted = page.request.post(f"{base}{path}", form={**form, "zones": "thon-dong"})
        assert posted.status == 403
    after = {t: (r.duration_s, r.zones, r.recurrence) for t, r in relays(web_system).items()}
    assert after == before
