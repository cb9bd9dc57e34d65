"""Drafts in a real browser at 360 px against the real controller: a rejected text bulletin is
changed and sent again without retyping, a draft is deleted after confirming, a file proposes
its title, and stored templates fill the compose and emergency texts."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from controller.broadcast.titles import MAX_TITLE, title_from_text
from controller.models import Alert, AuditEntry, Bulletin, MessageTemplate
from tests.controller.web.test_compose import (
    field_error,
    submit_request,
    wait_for_draft,
)
from tests.support import SystemUnderTest, db_of, stored_row
from tests.support.web import fits_width, screenshot

TEXT = (
    "Thông báo họp dân thôn Đông vào lúc 14 giờ chiều thứ bảy tại nhà văn hóa thôn. "
    "Đề nghị mỗi hộ cử một người đến dự."
)


def stored(sut: SystemUnderTest, bulletin_id: str) -> Bulletin | None:
    return stored_row(sut.cluster.config.db_url, Bulletin, bulletin_id)


def count(sut: SystemUnderTest, model: Any) -> int:
    db = db_of(sut)
    with db.session() as s:
        found = s.scalar(select(func.count()).select_from(model)) or 0
    db.engine.dispose()
    return int(found)


def test_a_rejected_text_bulletin_is_edited_and_sent_again_without_retyping(web_system, open_page):
    base = web_system.cluster.url
    page = open_page("phatthanh")
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Nhập văn bản để máy đọc").check()
    page.get_by_label("Nội dung bản tin").fill(TEXT)
    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    bulletin_id = wait_for_draft(page)
    # no title typed: one made from the text, shown and editable
    expect(page.get_by_label("Tiêu đề bản tin")).to_have_value(title_from_text(TEXT))
    page.get_by_label("Tất cả các điểm loa").check()
    page.get_by_label("Phát ngay khi được duyệt").check()
    submit_request(page, base, bulletin_id)

    comment = "Sai giờ: cuộc họp lúc 15 giờ 30."
    approver = open_page("pheduyet")
    approver.goto(f"{base}/review")
    item = approver.locator(f'article[data-bulletin="{bulletin_id}"]')
    item.get_by_label("Ý kiến (bắt buộc khi từ chối)").fill(comment)
    item.get_by_role("button", name="Từ chối").click()
    expect(approver.get_by_role("status")).to_contain_text("Đã từ chối")
    first_audio = stored(web_system, bulletin_id).audio_sha256  # type: ignore[union-attr]

    page.goto(f"{base}/bulletins/{bulletin_id}")
    text_box = page.get_by_label("Nội dung để đọc")
    expect(text_box).to_have_value(TEXT)  # the text comes back: nothing to type again
    expect(page.locator("#review-history")).to_contain_text(comment)
    assert fits_width(page)
    screenshot(page, "draft-rejected-edit")
    # a title over the limit is refused, not cut, and nothing changes
    page.get_by_label("Tiêu đề bản tin").fill("Họp dân " * 30)
    page.get_by_role("button", name="Gửi duyệt lại").click()
    assert str(MAX_TITLE) in field_error(page, "title")
    assert stored(web_system, bulletin_id).status == "rejected"  # type: ignore[union-attr]
    # saved without sending: still rejected, the new title kept
    page.get_by_label("Tiêu đề bản tin").fill("Họp dân thôn Đông")
    page.get_by_role("button", name="Lưu, chưa gửi").click()
    page.wait_for_url(f"{base}/bulletins/{bulletin_id}?saved=1")
    expect(page.get_by_role("status").filter(has_text="Đã lưu")).to_be_visible()
    saved = stored(web_system, bulletin_id)
    assert saved is not None
    assert (saved.status, saved.title) == ("rejected", "Họp dân thôn Đông")

    new_text = TEXT.replace("14 giờ chiều", "15 giờ 30")
    text_box.fill(new_text)
    page.get_by_label("Tiêu đề bản tin").fill("Họp dân thôn Đông (sửa giờ)")
    page.get_by_role("button", name="Gửi duyệt lại").click()
    page.wait_for_url(f"{base}/bulletins/{bulletin_id}?submitted=1")
    expect(page.locator("#review-history")).to_contain_text(comment)  # the history stays
    again = stored(web_system, bulletin_id)
    assert again is not None
    assert (again.status, again.title, again.text) == (
        "pending",
        "Họp dân thôn Đông (sửa giờ)",
        new_text,
    )
    assert again.audio_sha256 != first_audio  # spoken again
    approver.goto(f"{base}/review")
    again_item = approver.locator(f'article[data-bulletin="{bulletin_id}"]')
    expect(again_item).to_contain_text("Họp dân thôn Đông (sửa giờ)")
    expect(again_item.locator(".earlier-rejection")).to_contain_text(comment)  # what was asked
    # waiting for approval: neither deleted nor changed, and the page says why
    page.goto(f"{base}/bulletins/{bulletin_id}/delete")
    expect(page.get_by_role("alert")).to_contain_text("Chỉ xoá được bản nháp")
    expect(page.get_by_role("button", name="Xoá hẳn")).to_have_count(0)
    expect(page.get_by_label("Nội dung để đọc")).to_have_count(0)


def test_a_file_proposes_its_title_and_a_draft_is_deleted_after_confirming(
    web_system, open_page, speech_wav
):
    base = web_system.cluster.url
    page = open_page("phatthanh")
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Chọn tệp ghi âm có sẵn").check()
    page.get_by_label("Tệp âm thanh", exact=True).set_input_files(str(speech_wav))
    title = page.get_by_label("Tiêu đề bản tin")
    expect(title).to_have_value("ban tin")  # from "ban-tin.wav": visible, editable
    title.fill("")
    before = count(web_system, Bulletin)
    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    assert "tiêu đề" in field_error(page, "title")
    assert count(web_system, Bulletin) == before
    title.fill("Bản nháp để xoá")
    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    bulletin_id = wait_for_draft(page)
    draft = stored(web_system, bulletin_id)
    assert draft is not None
    audio = web_system.cluster.config.audio_dir / f"{draft.audio_sha256}.ogg"
    assert audio.exists()

    page.goto(f"{base}/bulletins")
    expect(page.get_by_text("tự xoá sau 7 ngày")).to_be_visible()
    row = page.locator(f'li[data-bulletin="{bulletin_id}"]')
    row.get_by_role("link", name="Xoá bản tin").click()
    expect(page.get_by_text("Xoá bản tin “Bản nháp để xoá”?")).to_be_visible()
    assert fits_width(page)
    screenshot(page, "draft-delete")
    page.get_by_role("link", name="Không xoá, quay lại").click()
    page.wait_for_url(f"{base}/bulletins/{bulletin_id}")
    assert stored(web_system, bulletin_id) is not None
    page.get_by_role("link", name="Xoá bản tin").click()
    page.get_by_role("button", name="Xoá hẳn").click()
    page.wait_for_url(f"{base}/bulletins?deleted=1")
    expect(page.get_by_role("status")).to_contain_text("Đã xoá bản tin")
    expect(page.locator(f'li[data-bulletin="{bulletin_id}"]')).to_have_count(0)
    assert stored(web_system, bulletin_id) is None
    assert not audio.exists()
    db = db_of(web_system)
    with db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.target == bulletin_id)))
    db.engine.dispose()
    assert "bulletin.delete" in actions


def test_an_approvers_template_fills_the_compose_text(web_system, open_page):
    base = web_system.cluster.url
    approver = open_page("pheduyet")
    approver.goto(f"{base}/templates")
    expect(approver.locator("#templates-notice")).to_contain_text("Cắt điện")  # seeded
    expect(approver.locator("#templates-alert")).to_contain_text("Sạt lở đất")
    approver.get_by_role("link", name="Thêm mẫu thông báo").click()
    approver.get_by_label("Tên mẫu").fill("Phun thuốc diệt muỗi")
    body = approver.get_by_label("Nội dung mẫu")
    body.fill("Ngày {Ngày}, trạm y tế phun thuốc diệt muỗi tại {Thôn. Ngày")
    approver.get_by_role("button", name="Lưu mẫu").click()
    assert "ngoặc" in field_error(approver, "body")  # a missing brace, said plainly
    body.fill("Ngày {Ngày}, trạm y tế phun thuốc diệt muỗi tại {Thôn}. Bà con đóng kín cửa.")
    approver.get_by_role("button", name="Lưu mẫu").click()
    expect(approver.get_by_role("status")).to_contain_text("Đã lưu mẫu")
    assert fits_width(approver)

    page = open_page("phatthanh")
    assert page.request.get(f"{base}/templates").status == 403  # broadcasters fill, not keep
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Nhập văn bản để máy đọc").check()
    page.get_by_text("Dùng mẫu có sẵn").click()
    page.get_by_label("Chọn mẫu").select_option(label="Phun thuốc diệt muỗi")
    page.get_by_label("Ngày", exact=True).fill("12/12/2026")
    page.get_by_role("button", name="Điền vào nội dung").click()
    expect(page.get_by_role("alert").filter(has_text="Hãy điền")).to_contain_text("Thôn")
    page.get_by_label("Thôn", exact=True).fill("thôn Tây")
    page.get_by_role("button", name="Điền vào nội dung").click()
    expect(page.get_by_label("Nội dung bản tin")).to_have_value(
        "Ngày 12/12/2026, trạm y tế phun thuốc diệt muỗi tại thôn Tây. Bà con đóng kín cửa."
    )
    assert fits_width(page)
    screenshot(page, "compose-template")


def test_an_alert_template_fills_the_emergency_text(web_system, open_page):
    base = web_system.cluster.url
    alerts = count(web_system, Alert)
    page = open_page("phatthanh")
    page.goto(f"{base}/emergency")
    page.get_by_text("Dùng mẫu có sẵn").click()
    page.get_by_label("Chọn mẫu").select_option(label="Lũ")
    for label, value in (
        ("Tên sông", "Hồng"),
        ("Khu vực sẽ ngập", "thôn Đông"),
        ("Thời gian", "17 giờ hôm nay"),
        ("Nơi trú ẩn", "trường tiểu học"),
    ):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Điền vào nội dung").click()
    text = page.get_by_label("Nội dung cảnh báo").input_value()
    assert text.startswith("Khẩn cấp! Nước sông Hồng đang lên nhanh, dự kiến ngập thôn Đông")
    assert "trường tiểu học" in text
    assert "{" not in text
    assert count(web_system, Alert) == alerts  # filling sends nothing
    assert count(web_system, MessageTemplate) >= 3
    assert fits_width(page)
    screenshot(page, "emergency-template")
