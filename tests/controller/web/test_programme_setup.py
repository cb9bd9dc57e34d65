"""Running the programme from the app at 360 px, in a real browser against the real controller and
nodes: an approver makes slots, quiet hours and repeated items (a refused form says why next to
the field and changes nothing), a broadcaster sees but cannot edit, compose's slot option opens
once a slot exists, and the calendar shows every timed thing with its status."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from controller.models import AuditEntry, Bulletin, ProgrammeDocument
from schedules import LOCAL
from tests.controller.web.test_compose import upload_draft
from tests.support import SystemUnderTest, db_of, held, post_alert
from tests.support.web import fits_width, screenshot

SLOT_CHOICE = "Trong khung giờ của chương trình"


def stored(sut: SystemUnderTest) -> tuple[Any, int]:
    """The programme document and the number of audit entries: what a refused form keeps."""
    db = db_of(sut)
    try:
        with db.session() as s:
            row = s.get(ProgrammeDocument, 1)
            entries = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
            return (row.document if row else None), entries
    finally:
        db.engine.dispose()


def slots(sut: SystemUnderTest) -> list[dict[str, Any]]:
    with sut.http() as c:
        return list(c.get("/api/v1/programme").json()["slots"])


def ensure_evening_slot(sut: SystemUnderTest) -> None:
    """The evening slot, 17:00–17:30 in both villages, through the API."""
    slot = {
        "id": "ban-tin-chieu",
        "name": "Bản tin chiều",
        "start": "17:00:00",
        "max_length_s": 1800,
        "zones": ["thon-dong", "thon-tay"],
    }
    with sut.http() as c:
        r = c.put("/api/v1/programme/slots/ban-tin-chieu", json=slot)
        assert r.status_code == 200, r.text


def test_an_approver_makes_a_slot_and_compose_can_then_choose_it(web_system, open_page, speech_wav):
    base = web_system.cluster.url
    assert not [x for x in slots(web_system) if x["name"] == "Bản tin sáng"]
    broadcaster = open_page("phatthanh")
    draft = upload_draft(broadcaster, base, speech_wav, "Thông báo lịch tiêm phòng")
    choice = broadcaster.get_by_label(SLOT_CHOICE)
    if not slots(web_system):  # a fresh commune: the option is off and says why, in view
        expect(choice).to_be_disabled()
        reason = broadcaster.locator("#no-slot")
        expect(reason).to_be_visible()
        expect(reason).to_contain_text("chưa có khung giờ")
        expect(reason).to_contain_text("nhờ người phê duyệt")  # a broadcaster may not make one
        expect(reason.get_by_role("link")).to_have_count(0)

    approver = open_page("pheduyet")
    approver.goto(f"{base}/programme")
    approver.get_by_role("link", name="Khung giờ, giờ yên tĩnh, tin lặp lại").click()
    approver.get_by_role("link", name="Thêm khung giờ").click()
    approver.get_by_label("Tên khung giờ").fill("Bản tin sáng")
    approver.get_by_label("Giờ bắt đầu").fill("06:00")
    approver.get_by_label("Giờ kết thúc").fill("06:30")
    approver.get_by_role("checkbox", name="Thôn Đông").check()
    approver.get_by_role("checkbox", name="Thôn Tây").check()
    assert fits_width(approver)
    screenshot(approver, "programme-slot-form")
    approver.get_by_role("button", name="Lưu").click()
    expect(approver.get_by_role("status")).to_have_text("Đã lưu khung giờ.")
    made = approver.locator("#slots li", has_text="Bản tin sáng")
    expect(made).to_contain_text("06:00–06:30")
    expect(made).to_contain_text("hằng ngày")
    (slot,) = [x for x in slots(web_system) if x["name"] == "Bản tin sáng"]
    assert (slot["start"], slot["max_length_s"], slot["weekdays"]) == (
        "06:00:00",
        1800,
        list(range(7)),
    )
    db = db_of(web_system)
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert (entry.actor, entry.action, entry.target) == (
            "pheduyet",
            "programme.slot.add",
            slot["id"],
        )
    db.engine.dispose()

    # changed in place: same slot, a longer window
    made.get_by_role("link", name="Sửa «Bản tin sáng»").click()
    expect(approver.get_by_label("Giờ kết thúc")).to_have_value("06:30")
    approver.get_by_label("Giờ kết thúc").fill("06:45")
    approver.get_by_role("button", name="Lưu").click()
    expect(made).to_contain_text("06:00–06:45")
    (changed,) = [x for x in slots(web_system) if x["name"] == "Bản tin sáng"]
    assert (changed["id"], changed["max_length_s"]) == (slot["id"], 2700)

    broadcaster.goto(f"{base}/bulletins/{draft}")
    expect(broadcaster.get_by_label(SLOT_CHOICE)).to_be_enabled()
    expect(broadcaster.locator("#no-slot")).to_have_count(0)
    broadcaster.get_by_label(SLOT_CHOICE).check()
    expect(
        broadcaster.get_by_label("Khung giờ phát").locator("option", has_text="Bản tin sáng 06:00")
    ).to_have_count(1)


def test_a_bad_slot_or_quiet_hours_say_why_next_to_the_field_and_change_nothing(
    web_system, open_page
):
    base = web_system.cluster.url
    ensure_evening_slot(web_system)
    page = open_page("pheduyet")
    before = stored(web_system)  # after logging in, which is audited too
    page.goto(f"{base}/programme/slots/new")

    def refused(field: str) -> str:
        with page.expect_response(f"{base}/programme/slots") as answer:
            page.get_by_role("button", name="Lưu").click()
        assert answer.value.status in (409, 422)
        error = page.locator(f"#{field}-error")
        expect(error).to_be_visible()
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
        assert stored(web_system) == before  # nothing stored, nothing audited
        return str(error.inner_text())

    page.get_by_label("Tên khung giờ").fill("Bản tin trưa")
    page.get_by_label("Giờ bắt đầu").fill("11:30")
    page.get_by_label("Giờ kết thúc").fill("11:00")
    page.get_by_role("checkbox", name="Thôn Đông").check()
    assert "Giờ kết thúc phải sau giờ bắt đầu" in refused("end")
    # the refused form keeps what was typed
    expect(page.get_by_label("Tên khung giờ")).to_have_value("Bản tin trưa")
    page.get_by_label("Giờ bắt đầu").fill("17:10")
    page.get_by_label("Giờ kết thúc").fill("17:20")
    assert "Trùng giờ với khung «Bản tin chiều» (17:00–17:30)" in refused("start")
    assert fits_width(page)
    screenshot(page, "programme-slot-refused")

    page.goto(f"{base}/programme/setup")
    page.get_by_label("Bắt đầu yên tĩnh lúc").fill("16:00")
    page.get_by_label("Kết thúc lúc").fill("17:15")
    with page.expect_response(f"{base}/programme/quiet-hours") as answer:
        page.get_by_role("button", name="Lưu giờ yên tĩnh").click()
    assert answer.value.status == 409
    expect(page.locator("#quiet_start-error")).to_contain_text("cắt vào khung «Bản tin chiều»")
    assert stored(web_system) == before

    page.get_by_label("Bắt đầu yên tĩnh lúc").fill("22:00")
    page.get_by_label("Kết thúc lúc").fill("05:00")
    page.get_by_role("button", name="Lưu giờ yên tĩnh").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu giờ yên tĩnh.")
    expect(page.locator("[data-quiet]")).to_contain_text("từ 22:00 đến 05:00")
    page.get_by_role("button", name="Bỏ giờ yên tĩnh").click()
    expect(page.get_by_role("status")).to_have_text("Đã bỏ giờ yên tĩnh.")
    with web_system.http() as c:
        assert c.get("/api/v1/programme").json()["quiet_hours"] is None


def test_a_bulletin_not_approved_cannot_be_repeated(web_system, open_page, speech_wav):
    base = web_system.cluster.url
    ensure_evening_slot(web_system)
    draft = held(web_system, speech_wav, "Bản nháp chưa duyệt")["id"]
    db = db_of(web_system)
    with db.session() as s:
        s.get_one(Bulletin, draft).status = "draft"
    db.engine.dispose()
    page = open_page("pheduyet")
    before = stored(web_system)
    page.goto(f"{base}/programme/repeats/new")
    expect(
        page.get_by_label("Bản tin (đã duyệt)").locator(f'option[value="{draft}"]')
    ).to_have_count(0)
    csrf = str(page.locator('meta[name="csrf-token"]').get_attribute("content"))
    forged = page.request.post(
        f"{base}/programme/repeats",
        form={
            "csrf": csrf,
            "bulletin": draft,
            "place": "slot",
            "slot": "ban-tin-chieu",
            "repeat": "daily",
            "date": datetime.now(LOCAL).date().isoformat(),
        },
    )
    assert forged.status == 409
    assert "Chỉ đặt được bản tin đã duyệt" in forged.text()
    assert stored(web_system) == before


def test_a_broadcaster_sees_the_setup_but_cannot_change_it(web_system, open_page):
    base = web_system.cluster.url
    ensure_evening_slot(web_system)
    page = open_page("phatthanh")
    before = stored(web_system)
    page.goto(f"{base}/programme/setup")
    expect(page.locator("#slots")).to_contain_text("Bản tin chiều")
    expect(page.get_by_text("chỉ người phê duyệt hoặc quản trị mới thay đổi được")).to_be_visible()
    expect(page.locator("main form")).to_have_count(0)
    expect(page.get_by_role("link", name="Thêm khung giờ")).to_have_count(0)
    expect(page.get_by_role("link", name="Sửa", exact=True)).to_have_count(0)
    csrf = str(page.locator('meta[name="csrf-token"]').get_attribute("content"))
    answer = page.goto(f"{base}/programme/slots/new")
    assert answer is not None
    assert answer.status == 403
    expect(page.locator("form#slot-form")).to_have_count(0)
    posted = page.request.post(
        f"{base}/programme/slots",
        form={"csrf": csrf, "name": "Lén", "start": "09:00", "end": "09:30", "zones": "thon-dong"},
    )
    assert posted.status == 403
    assert stored(web_system) == before


@pytest.fixture(scope="module")
def timed_things(web_system: SystemUnderTest, speech_wav: Path) -> dict[str, Any]:
    """Tomorrow: a bulletin set for 01:02 and an item in the evening slot; an alert now."""
    ensure_evening_slot(web_system)
    tomorrow = datetime.now(LOCAL).date() + timedelta(days=1)
    at = datetime.combine(tomorrow, datetime.min.time(), tzinfo=LOCAL).replace(hour=1, minute=2)
    one_off = web_system.post_bulletin(
        speech_wav, title="Thông báo cắt điện", all="true", play_at=at.isoformat()
    )
    assert one_off.status_code == 201, one_off.text
    news = held(web_system, speech_wav, "Thời sự trong xã")
    weekly = held(web_system, speech_wav, "Nhắc nộp thuế đất")
    with web_system.http() as c:
        placed = c.post(
            "/api/v1/programme/items",
            json={
                "bulletin_id": news["id"],
                "slot_id": "ban-tin-chieu",
                "recurrence": {"kind": "once", "start_date": tomorrow.isoformat()},
            },
        )
        assert placed.status_code == 201, placed.text
    alert = post_alert(web_system, speech_wav, all="true")
    assert alert.status_code == 201, alert.text
    return {
        "tomorrow": tomorrow,
        "one_off": one_off.json()["id"],
        "news": news["id"],
        "weekly": weekly,
        "alert": alert.json()["id"],
    }


def test_an_approver_repeats_a_bulletin_and_the_calendar_shows_every_timed_thing(
    web_system, open_page, timed_things
):
    base = web_system.cluster.url
    tomorrow = timed_things["tomorrow"]
    page = open_page("pheduyet")
    page.goto(f"{base}/programme/setup")
    page.get_by_role("link", name="Thêm tin lặp lại").click()
    page.get_by_label("Bản tin (đã duyệt)").select_option(timed_things["weekly"]["id"])
    page.get_by_label("Vào một giờ riêng").check()
    page.get_by_label("Giờ phát (nếu phát vào giờ riêng)").fill("09:15")
    page.get_by_label("Hằng tuần, vào các ngày chọn dưới đây").check()
    page.locator("fieldset.weekdays").get_by_label(WEEKDAY[tomorrow.weekday()]).check()
    page.get_by_label("Ngày kết thúc (để trống: không hạn)").fill(
        (tomorrow + timedelta(days=60)).isoformat()
    )
    page.get_by_role("checkbox", name="Thôn Tây").check()
    assert fits_width(page)
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu tin lặp lại")
    repeat = page.locator("#repeats li", has_text="Nhắc nộp thuế đất")
    expect(repeat).to_contain_text("lúc 09:15")
    expect(repeat).to_contain_text(f"đến hết ngày {tomorrow + timedelta(days=60):%d/%m/%Y}")

    page.goto(f"{base}/programme")
    page.get_by_role("link", name="Lịch phát").first.click()
    page.goto(f"{base}/programme/calendar?day={tomorrow.isoformat()}")
    expect(page.get_by_role("heading", level=2)).to_contain_text(f"{tomorrow:%d/%m/%Y}")
    entries = page.locator(".cal-list .entry")
    one_off = entries.filter(has_text="Thông báo cắt điện")
    expect(one_off.locator(".at")).to_have_text("01:02")
    expect(one_off).to_contain_text("Bản tin hẹn giờ")
    expect(one_off.locator(".badge")).to_have_text("đã gửi, chờ phát")
    expect(one_off).to_contain_text("toàn xã")
    expect(one_off.get_by_role("link")).to_have_attribute(
        "href", f"/bulletins/{timed_things['one_off']}/report"
    )
    slot_item = entries.filter(has_text="Thời sự trong xã")
    expect(slot_item.locator(".at")).to_have_text("17:00")
    expect(slot_item).to_contain_text("Trong khung «Bản tin chiều»")
    expect(slot_item.locator(".badge")).to_have_text("đã gửi, chờ phát")
    expect(slot_item.get_by_role("link")).to_have_attribute(
        "href", f"/bulletins/{timed_things['news']}"
    )
    repeated = entries.filter(has_text="Nhắc nộp thuế đất")
    expect(repeated.locator(".at")).to_have_text("09:15")
    expect(repeated).to_contain_text("phát lặp lại")
    expect(repeated).to_contain_text("Thôn Tây")
    expect(repeated.locator(".badge")).to_have_text("đã gửi, chờ phát")
    # in order of time; an alert still on air from the day before (the test may run near
    # midnight) comes first and says since when
    starts = [entries.nth(i).get_attribute("data-start") for i in range(entries.count())]
    assert starts == sorted(starts, key=lambda s: datetime.fromisoformat(s or ""))
    for i in range(entries.count()):
        began = datetime.fromisoformat(entries.nth(i).get_attribute("data-start") or "")
        if began.date() < tomorrow:
            expect(entries.nth(i).locator(".at")).to_have_text(
                f"từ {began:%H:%M} ngày {began:%d/%m}"
            )
    assert fits_width(page)
    screenshot(page, "calendar-day")

    page.goto(f"{base}/programme/calendar")  # today: the alert, with its state in words
    alert = entries.filter(has_text="Tin khẩn cấp")
    expect(alert.locator(".badge")).to_have_text("đang phát khẩn cấp")
    expect(alert.get_by_role("link")).to_have_attribute(
        "href", f"/emergency/{timed_things['alert']}"
    )
    with web_system.http() as c:
        stopped = c.post(
            f"/api/v1/alerts/{timed_things['alert']}/cancel", data={"reason": "thử nghiệm"}
        )
        assert stopped.status_code == 200, stopped.text
    page.reload()
    expect(alert.locator(".badge")).to_have_text("đã huỷ hoặc dừng theo lệnh")

    page.goto(f"{base}/programme/calendar?view=week&day={tomorrow.isoformat()}")
    day = page.locator(f"section.cal-day:has(h3#d-{tomorrow.isoformat()})")
    expect(day.locator(".entry")).to_have_count(3)
    assert fits_width(page)
    screenshot(page, "calendar-week")
    page.goto(f"{base}/programme/calendar?view=month&day={tomorrow.isoformat()}")
    cell = page.locator(f'td[data-date="{tomorrow.isoformat()}"]')
    expect(cell.locator(".count")).to_have_text("3")
    assert fits_width(page)
    screenshot(page, "calendar-month")
    cell.get_by_role("link").click()
    expect(entries).to_have_count(3)


WEEKDAY = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]


def test_a_monthly_repeat_is_made_and_changed_in_the_form(web_system, open_page, speech_wav):
    """Days of the month are written as people say them ("1, 15"); a day that no month has is
    refused next to the field and changes nothing; the saved repeat opens again for editing."""
    base = web_system.cluster.url
    tax = held(web_system, speech_wav, "Nhắc nộp thuế hằng tháng")
    page = open_page("pheduyet")
    page.goto(f"{base}/programme/repeats/new")
    page.get_by_label("Bản tin (đã duyệt)").select_option(tax["id"])
    page.get_by_label("Vào một giờ riêng").check()
    page.get_by_label("Giờ phát (nếu phát vào giờ riêng)").fill("08:30")
    page.get_by_label("Hằng tháng, vào các ngày ghi dưới đây").check()
    page.get_by_role("checkbox", name="Thôn Đông").check()
    days = page.get_by_label("Ngày trong tháng (khi phát hằng tháng)")
    days.fill("1, 32")
    before = stored(web_system)
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#month_days-error")).to_contain_text("từ 1 đến 31")
    assert days.get_attribute("aria-invalid") == "true"
    assert stored(web_system) == before
    days.fill("1, 15")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu tin lặp lại")
    repeat = page.locator("#repeats li", has_text="Nhắc nộp thuế hằng tháng")
    expect(repeat).to_contain_text("hằng tháng vào ngày 1, 15")
    repeat.get_by_role("link", name="Sửa").click()
    expect(page.get_by_label("Hằng tháng, vào các ngày ghi dưới đây")).to_be_checked()
    expect(days).to_have_value("1, 15")
    assert fits_width(page)
    days.fill("10")
    page.get_by_role("button", name="Lưu").click()
    expect(repeat).to_contain_text("hằng tháng vào ngày 10,")
