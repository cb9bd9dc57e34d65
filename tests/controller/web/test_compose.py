"""Composing a bulletin and the approval workflow, in a real browser against real nodes: upload,
record or type it; hear and see it before and after processing; choose where and when; approve
or reject it with a second account; watch the chosen village (and only it) play it."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, func, select

from controller.models import AuditEntry, Bulletin, Delivery, Node, User, WebSession, Zone
from schedules import LOCAL
from tests.support import SystemUnderTest, db_of, wait_for
from tests.support.audio import write_wav
from tests.support.web import (
    DESKTOP,
    PASSWORD,
    fits_width,
    screenshot,
)

DRAFT_URL = re.compile(r".*/bulletins/[0-9a-f]{32}$")


def bulletin_by_title(sut: SystemUnderTest, title: str) -> Bulletin:
    db = db_of(sut)
    with db.session() as s:
        row = s.scalar(select(Bulletin).where(Bulletin.title == title))
        assert row is not None, title
        s.expunge(row)
    db.engine.dispose()
    return row


def counts(sut: SystemUnderTest) -> dict[str, int]:
    """What a refused request must leave unchanged."""
    db = db_of(sut)
    with db.session() as s:
        found = {
            "bulletins": s.scalar(select(func.count()).select_from(Bulletin)) or 0,
            "pending": s.scalar(
                select(func.count()).select_from(Bulletin).where(Bulletin.status == "pending")
            )
            or 0,
            "deliveries": s.scalar(select(func.count()).select_from(Delivery)) or 0,
        }
    db.engine.dispose()
    return found


def nodes_by_zone(sut: SystemUnderTest) -> dict[str, list[str]]:
    db = db_of(sut)
    with db.session() as s:
        rows = s.execute(select(Node.id, Zone.code).join(Zone, Node.zone_id == Zone.id)).all()
    db.engine.dispose()
    found: dict[str, list[str]] = {}
    for node_id, zone in rows:
        found.setdefault(zone, []).append(node_id)
    return found


def audit_actions(sut: SystemUnderTest, target: str) -> list[tuple[str, str, dict[str, Any]]]:
    db = db_of(sut)
    with db.session() as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.detail)
            .where(AuditEntry.target == target)
            .order_by(AuditEntry.id)
        ).all()
    db.engine.dispose()
    return [(a, b, c) for a, b, c in rows]


def local_input(at: datetime) -> str:
    """The date-and-time field's value as Vietnamese write it: local wall-clock time."""
    return at.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M:%S")


def upload_draft(page: Any, base: str, audio: Path, title: str) -> str:
    """Compose from a file; returns the draft's id once its preview page is shown."""
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Tiêu đề bản tin").fill(title)
    page.get_by_label("Chọn tệp ghi âm có sẵn").check()
    page.get_by_label("Tệp âm thanh", exact=True).set_input_files(str(audio))
    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    return wait_for_draft(page)


def wait_for_draft(page: Any) -> str:
    """The draft's id once its page shows; a refusal fails the test with its message."""
    refused = page.locator("#compose .field-error:not([hidden]), #compose-message:not([hidden])")
    page.wait_for_function(
        "() => /[0-9a-f]{32}$/.test(location.pathname) || !!document.querySelector("
        "'#compose .field-error:not([hidden]), #compose-message:not([hidden])')"
    )
    if refused.count():
        raise AssertionError(f"the draft was refused: {refused.all_inner_texts()}")
    page.wait_for_url(DRAFT_URL)
    return str(page.url.rsplit("/", 1)[1])


def audio_loaded(page: Any, which: str) -> float:
    """The duration the browser found in a before/after player once it loaded its audio."""
    selector = f'audio[data-which="{which}"]'
    page.wait_for_function(f"() => document.querySelector('{selector}').readyState >= 1")
    return float(page.evaluate(f"document.querySelector('{selector}').duration"))


def test_upload_preview_approve_and_only_the_chosen_village_plays(
    web_system, open_page, speech_wav
):
    base = web_system.cluster.url
    title = "Lịch tiêm phòng cho gia súc"
    page = open_page("phatthanh")
    page.goto(f"{base}/bulletins/new")
    assert fits_width(page)
    screenshot(page, "compose")
    bulletin_id = upload_draft(page, base, speech_wav, title)

    # before/after: two server-drawn waveforms, two players that really load, plain words
    expect(page.get_by_role("img", name="Dạng sóng bản gốc")).to_be_visible()
    expect(page.get_by_role("img", name="Dạng sóng sau xử lý")).to_be_visible()
    report = page.locator(".report-words").inner_text()
    assert "Âm lượng đã" in report
    assert "LUFS" not in report  # plain words; the figures sit in the technicians' fold
    assert "LUFS" in (page.locator("details.technical").text_content() or "")
    assert "Độ dài bản tin" in report
    assert audio_loaded(page, "before") > 1.0
    assert audio_loaded(page, "after") > 1.0
    assert fits_width(page)
    screenshot(page, "draft-preview")
    draft = bulletin_by_title(web_system, title)
    assert draft.status == "draft"
    assert (web_system.cluster.config.data_dir / draft.original_path).read_bytes() == (
        speech_wav.read_bytes()
    )

    # where: Thôn Đông; when: shortly (the approver acts first)
    page.get_by_label("Theo thôn, xóm").check()
    page.get_by_role("checkbox", name="Thôn Đông").check()
    page.get_by_label("Vào một thời điểm").check()
    soon = datetime.now(LOCAL) + timedelta(seconds=40)
    page.get_by_label("Ngày giờ phát").fill(local_input(soon))
    page.get_by_role("button", name="Gửi duyệt").click()
    page.wait_for_url(f"{base}/bulletins/{bulletin_id}?submitted=1")
    expect(page.get_by_text("chờ duyệt").first).to_be_visible()
    assert bulletin_by_title(web_system, title).status == "pending"
    assert counts(web_system)["deliveries"] == 0  # nothing airs before approval

    # the approver hears it and approves it
    approver = open_page("pheduyet")
    approver.goto(f"{base}/review")
    item = approver.locator(f'article[data-bulletin="{bulletin_id}"]')
    expect(item).to_contain_text("Thôn Đông")
    expect(item.locator('audio[data-which="after"]')).to_have_count(1)
    assert fits_width(approver)
    screenshot(approver, "review")
    item.get_by_role("button", name="Duyệt và phát").click()
    expect(approver.get_by_role("status")).to_contain_text("đã được gửi tới các điểm loa")
    approved = bulletin_by_title(web_system, title)
    assert approved.status == "sent"
    actions = [a for a, _, _ in audit_actions(web_system, bulletin_id)]
    assert actions[:2] == ["bulletin.draft", "bulletin.submit"]
    assert "bulletin.approve" in actions

    # Thôn Đông's points play it; Thôn Tây's are not even asked
    zones = nodes_by_zone(web_system)

    def played() -> dict[str, Any] | None:
        report = web_system.report(bulletin_id)
        return report if report["summary"]["played"] == len(zones["thon-dong"]) else None

    done = wait_for(played, 120, "Thôn Đông to play the bulletin")
    assert {n["node_id"] for n in done["nodes"]} == set(zones["thon-dong"])
    for node_id in zones["thon-dong"]:
        assert list(web_system.played_dir(node_id).glob("*")), node_id
    for node_id in zones["thon-tay"]:
        assert not any(bulletin_id in p.name for p in web_system.played_dir(node_id).glob("*"))

    # the broadcaster sees the outcome
    page.goto(f"{base}/bulletins")
    row = page.locator(f'li[data-bulletin="{bulletin_id}"]')
    expect(row).to_contain_text("đã gửi")
    expect(row.get_by_role("link", name="Xem báo cáo phát")).to_be_visible()
    screenshot(page, "bulletins")


@pytest.fixture(scope="module")
def slots(web_system: SystemUnderTest) -> dict[str, str]:
    """Two daily slots three hours from now: a roomy one and one too short for any bulletin."""
    start = (datetime.now(LOCAL) + timedelta(hours=3)).replace(second=0, microsecond=0)
    made = {"roomy": "ban-tin-thu", "tiny": "khung-nho"}
    with web_system.http() as c:
        for slot_id, name, length, at in (
            (made["roomy"], "Bản tin thử", 600, start),
            # slots on the same villages may not overlap: this one starts after the first
            (made["tiny"], "Khung rất ngắn", 1, start + timedelta(minutes=30)),
        ):
            slot = {
                "id": slot_id,
                "name": name,
                "start": at.time().isoformat(),
                "max_length_s": length,
                "zones": ["thon-dong", "thon-tay"],
            }
            r = c.put(f"/api/v1/programme/slots/{slot_id}", json=slot)
            assert r.status_code == 200, r.text
    return made


@pytest.fixture(scope="module")
def amr_file(speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The speech as a phone's AMR-NB recording (browsers cannot play AMR: "before" is a copy)."""
    path = tmp_path_factory.mktemp("amr") / "ghi-am.amr"
    subprocess.run(["sox", str(speech_wav), "-r", "8000", "-t", "amr-nb", str(path)], check=True)
    return path


def submit_request(page: Any, base: str, bulletin_id: str) -> None:
    page.get_by_role("button", name="Gửi duyệt").click()
    page.wait_for_url(f"{base}/bulletins/{bulletin_id}?submitted=1")


def test_a_rejected_bulletin_comes_back_with_the_comment(web_system, open_page, amr_file):
    base = web_system.cluster.url
    title = "Thông báo họp dân"
    page = open_page("phatthanh", viewport=DESKTOP)
    page.goto(f"{base}/bulletins/new")
    screenshot(page, "compose")
    bulletin_id = upload_draft(page, base, amr_file, title)
    # an AMR upload is heard "before" through its Opus copy
    assert audio_loaded(page, "before") > 1.0
    assert audio_loaded(page, "after") > 1.0
    screenshot(page, "draft-preview")
    page.get_by_label("Tất cả các điểm loa").check()
    page.get_by_label("Phát ngay khi được duyệt").check()
    submit_request(page, base, bulletin_id)

    approver = open_page("pheduyet", viewport=DESKTOP)
    approver.goto(f"{base}/review")
    screenshot(approver, "review")
    item = approver.locator(f'article[data-bulletin="{bulletin_id}"]')
    expect(item).to_contain_text("Tất cả các điểm loa")
    # a rejection needs a reason
    with approver.expect_response(f"{base}/review/{bulletin_id}/reject") as answer:
        item.get_by_role("button", name="Từ chối").click()
    assert answer.value.status == 422
    item = approver.locator(f'article[data-bulletin="{bulletin_id}"]')
    expect(item.get_by_role("alert")).to_contain_text("Hãy ghi lý do từ chối")
    comment_field = item.get_by_label("Ý kiến (bắt buộc khi từ chối)")
    assert comment_field.get_attribute("aria-invalid") == "true"
    # the error is where the button was pressed: the field is focused and on screen
    expect(comment_field).to_be_focused()
    expect(comment_field).to_be_in_viewport()
    assert bulletin_by_title(web_system, title).status == "pending"
    comment = "Đề nghị ghi lại, nói chậm hơn và nêu rõ giờ họp."
    comment_field.fill(comment)
    item.get_by_role("button", name="Từ chối").click()
    expect(approver.get_by_role("status")).to_contain_text("Đã từ chối")
    rejected = bulletin_by_title(web_system, title)
    assert (rejected.status, rejected.review_comment) == ("rejected", comment)
    reject = [d for a, who, d in audit_actions(web_system, bulletin_id) if a == "bulletin.reject"]
    assert reject == [{"comment": comment}]
    assert web_system.report(bulletin_id)["summary"]["targets"] == 0  # nothing was sent

    page.goto(f"{base}/bulletins")
    row = page.locator(f'li[data-bulletin="{bulletin_id}"]')
    expect(row).to_contain_text("bị từ chối")
    expect(row).to_contain_text(comment)
    screenshot(page, "bulletins")
    row.get_by_role("link", name=title).click()
    expect(page.get_by_role("status")).to_contain_text(comment)
    # the choices come back, ready to be changed and sent again
    expect(page.get_by_label("Tất cả các điểm loa")).to_be_checked()
    submit_request(page, base, bulletin_id)
    assert bulletin_by_title(web_system, title).status == "pending"


def test_nobody_approves_their_own_bulletin(web_system, open_page, speech_wav):
    base = web_system.cluster.url
    title = "Tin của quản trị"
    page = open_page("quantri")
    bulletin_id = upload_draft(page, base, speech_wav, title)
    page.get_by_label("Tất cả các điểm loa").check()
    page.get_by_label("Phát ngay khi được duyệt").check()
    submit_request(page, base, bulletin_id)
    page.goto(f"{base}/review")
    item = page.locator(f'article[data-bulletin="{bulletin_id}"]')
    expect(item.get_by_role("button", name="Duyệt và phát")).to_be_disabled()
    # a forged post is refused too, and changes nothing
    response = page.request.post(
        f"{base}/review/{bulletin_id}/approve",
        form={"csrf": page.locator('meta[name="csrf-token"]').get_attribute("content")},
    )
    assert response.status == 403
    assert "không thể tự duyệt" in response.text()
    assert bulletin_by_title(web_system, title).status == "pending"
    # someone else may: and "now" goes out at once
    approver = open_page("pheduyet")
    approver.goto(f"{base}/review")
    approver.locator(f'article[data-bulletin="{bulletin_id}"]').get_by_role(
        "button", name="Duyệt và phát"
    ).click()
    expect(approver.get_by_role("status")).to_contain_text("đã được gửi")
    assert web_system.report(bulletin_id)["summary"]["targets"] == len(web_system.node_ids)


def test_record_in_the_browser_with_timer_and_level_meter(web_system, speaking_page):
    base = web_system.cluster.url
    page = speaking_page
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Tiêu đề bản tin").fill("Ghi âm thử")
    expect(page.get_by_label("Ghi âm ngay trên máy")).to_be_checked()
    page.get_by_role("button", name="Bắt đầu ghi âm").click()
    # the synthetic microphone's tone moves the meter; the timer runs to three seconds
    page.wait_for_function("() => document.getElementById('record-level').value > 0.1")
    page.wait_for_function("() => document.getElementById('record-timer').textContent >= '00:03'")
    screenshot(page, "compose-recording")
    page.get_by_role("button", name="Dừng ghi").click()
    playback = page.get_by_label("Nghe lại bản ghi")
    expect(playback).to_be_visible()
    page.wait_for_function("() => document.getElementById('record-playback').readyState >= 1")
    # kept in IndexedDB until the server has it
    kept = page.evaluate(
        """() => new Promise((ok) => { const r = indexedDB.open('loa-lang', 1);
        r.onsuccess = () => { const g = r.result.transaction('pending-audio')
          .objectStore('pending-audio').get('compose.phatthanh');
          g.onsuccess = () => ok(g.result ? g.result.blob.size : 0); }; })"""
    )
    assert kept > 1000
    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    wait_for_draft(page)
    expect(page.get_by_role("img", name="Dạng sóng sau xử lý")).to_be_visible()
    assert audio_loaded(page, "after") > 1.0
    assert "Độ dài bản tin" in page.locator(".report-words").inner_text()
    draft = bulletin_by_title(web_system, "Ghi âm thử")
    assert draft.status == "draft"
    assert draft.original_path.endswith(".webm")
    # once the server has it, the browser lets it go
    gone = page.evaluate(
        """() => new Promise((ok) => { const r = indexedDB.open('loa-lang', 1);
        r.onsuccess = () => { const g = r.result.transaction('pending-audio')
          .objectStore('pending-audio').get('compose.phatthanh');
          g.onsuccess = () => ok(g.result === undefined); }; })"""
    )
    assert gone


def test_text_to_speech_preview_and_a_programme_slot(web_system, open_page, slots):
    base = web_system.cluster.url
    title = "Nhắc lịch thu gom rác"
    page = open_page("phatthanh")
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Tiêu đề bản tin").fill(title)
    page.get_by_label("Nhập văn bản để máy đọc").check()
    page.get_by_label("Nội dung bản tin").fill(
        "Sáng thứ bảy, xe thu gom rác sẽ đến các thôn lúc 7 giờ. Đề nghị bà con chuẩn bị sẵn."
    )
    page.get_by_label("Giọng đọc", exact=True).select_option(label="Giọng miền Nam")
    page.get_by_role("button", name="Nghe thử").click()
    preview = page.get_by_label("Nghe thử giọng đọc")
    expect(preview).to_be_visible()
    page.wait_for_function("() => document.getElementById('tts-preview').readyState >= 1")
    assert page.evaluate("document.getElementById('tts-preview').duration") > 2
    assert counts(web_system)["bulletins"] == bulletin_count_before(web_system, title)
    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    bulletin_id = wait_for_draft(page)
    expect(page.locator(".report-words")).to_contain_text("giọng miền Nam")
    # no "before" for speech: there is no original recording
    expect(page.locator('audio[data-which="before"]')).to_have_count(0)

    # daily in the roomy slot, for a week
    page.get_by_label("Theo thôn, xóm").check()
    page.get_by_role("checkbox", name="Thôn Tây").check()
    page.get_by_label("Trong khung giờ của chương trình").check()
    page.get_by_label("Khung giờ phát").select_option(slots["roomy"])
    page.get_by_label("Hằng ngày").check()
    until = (datetime.now(LOCAL) + timedelta(days=7)).date()
    page.get_by_label("Đến ngày (không bắt buộc)").fill(until.strftime("%d/%m/%Y"))
    page.get_by_label("Ưu tiên", exact=True).check()
    submit_request(page, base, bulletin_id)
    expect(page.locator(".asked")).to_contain_text("Bản tin thử")
    expect(page.locator(".asked")).to_contain_text("hằng ngày")

    approver = open_page("pheduyet")
    approver.goto(f"{base}/review")
    approver.locator(f'article[data-bulletin="{bulletin_id}"]').get_by_role(
        "button", name="Duyệt và phát"
    ).click()
    expect(approver.get_by_role("status")).to_contain_text("xếp vào chương trình")
    assert bulletin_by_title(web_system, title).status == "approved"
    with web_system.http() as c:
        items = c.get("/api/v1/programme").json()["items"]
    placed = [i for i in items if i["bulletin_id"] == bulletin_id]
    assert len(placed) == 1
    assert placed[0]["slot_id"] == slots["roomy"]
    assert placed[0]["priority"] == "priority"
    assert placed[0]["zones"] == ["thon-tay"]
    assert placed[0]["recurrence"]["kind"] == "daily"
    assert placed[0]["recurrence"]["end_date"] == until.isoformat()


def bulletin_count_before(sut: SystemUnderTest, title: str) -> int:
    """Listening to a preview stores nothing: the count is as if the title did not exist."""
    db = db_of(sut)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(Bulletin)) or 0
        assert s.scalar(select(Bulletin).where(Bulletin.title == title)) is None
    db.engine.dispose()
    return total


def field_error(page: Any, field: str) -> str:
    """The message shown next to ``field`` (and the field marked invalid)."""
    message = page.locator(f"#{field}-error")
    expect(message).to_be_visible()
    marked = page.locator(f'[aria-describedby="{field}-error"]')
    if marked.count():
        assert marked.first.get_attribute("aria-invalid") == "true", field
    return str(message.inner_text())


def test_bad_input_is_refused_next_to_the_field_and_changes_nothing(
    web_system, open_page, speech_wav, slots, tmp_path
):
    base = web_system.cluster.url
    page = open_page("phatthanh")
    before = counts(web_system)

    # a picture renamed to look like a recording
    fake = tmp_path / "ghi-am.m4a"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Tiêu đề bản tin").fill("Tệp giả")
    page.get_by_label("Chọn tệp ghi âm có sẵn").check()
    page.get_by_label("Tệp âm thanh", exact=True).set_input_files(str(fake))
    with page.expect_response(f"{base}/bulletins/draft") as answer:
        page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    assert answer.value.status == 415
    assert "Tệp này không phải âm thanh" in field_error(page, "file")
    assert page.get_by_label("Tiêu đề bản tin").input_value() == "Tệp giả"  # kept as typed

    # a fifth of a second from a phone: too short, not "noisy" nor "damaged"
    tap = tmp_path / "bam-nham.wav"
    t = np.arange(int(0.2 * 16000)) / 16000
    write_wav(str(tap), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    page.get_by_label("Tệp âm thanh", exact=True).set_input_files(str(tap))
    with page.expect_response(f"{base}/bulletins/draft") as answer:
        page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    assert answer.value.status == 422
    assert "Bản ghi quá ngắn" in field_error(page, "file")

    # an empty text
    page.get_by_label("Nhập văn bản để máy đọc").check()
    with page.expect_response(f"{base}/bulletins/draft") as answer:
        page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    assert answer.value.status == 422
    assert field_error(page, "text") == "Hãy nhập nội dung bản tin."
    assert counts(web_system) == before
    screenshot(page, "compose-errors")

    # a good draft, then requests that cannot be carried out
    title = "Mất điện ngày mai"
    bulletin_id = upload_draft(page, base, speech_wav, title)
    drafted = counts(web_system)

    def refused(field: str) -> str:
        with page.expect_response(f"{base}/bulletins/{bulletin_id}/submit") as answer:
            page.get_by_role("button", name="Gửi duyệt").click()
        assert 400 <= answer.value.status < 500
        text = field_error(page, field)
        assert counts(web_system) == drafted, field
        assert bulletin_by_title(web_system, title).status == "draft"
        return text

    assert "Hãy chọn nơi phát" in refused("where")  # nothing ticked
    page.get_by_role("checkbox", name="Thôn Đông").check()
    page.get_by_label("Vào một thời điểm").check()
    page.get_by_label("Ngày giờ phát").fill(local_input(datetime.now(LOCAL) - timedelta(hours=1)))
    assert "đã qua" in refused("at")
    page.get_by_label("Ngày giờ phát").fill("12/31/2026 06:00")  # month first: not ours
    assert "ngày/tháng/năm" in refused("at")
    # a time no point would accept a command for (the protocol's 7 days)
    page.get_by_label("Ngày giờ phát").fill(local_input(datetime.now(LOCAL) + timedelta(days=30)))
    assert "trong vòng 7 ngày" in refused("at")
    page.get_by_label("Trong khung giờ của chương trình").check()
    page.get_by_label("Khung giờ phát").select_option(slots["tiny"])
    # tomorrow: the slots start three hours from now, which may be past midnight
    tomorrow = datetime.now(LOCAL).date() + timedelta(days=1)
    page.locator("#date").fill(tomorrow.strftime("%d/%m/%Y"))
    assert "vượt" in refused("slot")  # the slot's conflict check, in Vietnamese
    screenshot(page, "draft-errors")
    assert fits_width(page)


def test_a_tap_on_the_record_button_is_too_short(web_system, open_page):
    base = web_system.cluster.url
    page = open_page("phatthanh")
    before = counts(web_system)
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Tiêu đề bản tin").fill("Bấm nhầm")
    page.get_by_role("button", name="Bắt đầu ghi âm").click()
    page.get_by_role("button", name="Dừng ghi").click()
    expect(page.get_by_label("Nghe lại bản ghi")).to_be_visible()
    with page.expect_response(f"{base}/bulletins/draft") as answer:
        page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    assert answer.value.status == 422
    assert "Bản ghi quá ngắn" in field_error(page, "recording")
    assert counts(web_system) == before


def test_an_expired_session_loses_nothing(web_system, open_page, speech_wav):
    base = web_system.cluster.url
    title = "Thông báo tiêm chủng"
    page = open_page("phatthanh")
    page.goto(f"{base}/bulletins/new")
    page.get_by_label("Tiêu đề bản tin").fill(title)
    page.get_by_label("Chọn tệp ghi âm có sẵn").check()
    page.get_by_label("Tệp âm thanh", exact=True).set_input_files(str(speech_wav))
    expire_sessions(web_system, "phatthanh")
    before = counts(web_system)
    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    expect(page.locator("#compose-message")).to_contain_text("Phiên đăng nhập đã hết hạn")
    expect(page.get_by_role("link", name=re.compile("Đăng nhập lại"))).to_be_visible()
    assert counts(web_system) == before

    # log in again after a redirect: the title and the chosen file are still there
    page.reload()
    page.wait_for_url(re.compile(r".*/login\?next="))
    fill_login(page, "phatthanh")
    page.wait_for_url(f"{base}/bulletins/new")
    expect(page.get_by_text("Đã khôi phục bản nháp")).to_be_visible()
    assert page.get_by_label("Tiêu đề bản tin").input_value() == title
    expect(page.locator("#file-kept")).to_contain_text("ban-tin.wav")
    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    bulletin_id = wait_for_draft(page)
    assert bulletin_by_title(web_system, title).status == "draft"

    # the choices survive too; logging in in another tab is enough to send them
    page.get_by_label("Theo thôn, xóm").check()
    page.get_by_role("checkbox", name="Thôn Tây").check()
    page.get_by_label("Phát ngay khi được duyệt").check()
    expire_sessions(web_system, "phatthanh")
    page.get_by_role("button", name="Gửi duyệt").click()
    expect(page.locator("#request-message")).to_contain_text("Phiên đăng nhập đã hết hạn")
    with page.context.expect_page() as tab:
        page.get_by_role("link", name=re.compile("Đăng nhập lại")).click()
    fill_login(tab.value, "phatthanh")
    tab.value.wait_for_url(f"{base}/bulletins/{bulletin_id}")
    expect(tab.value.get_by_role("checkbox", name="Thôn Tây")).to_be_checked()  # restored
    submit_request(page, base, bulletin_id)
    assert bulletin_by_title(web_system, title).status == "pending"


def expire_sessions(sut: SystemUnderTest, username: str) -> None:
    db = db_of(sut)
    with db.session() as s:
        user_id = s.scalar(select(User.id).where(User.username == username))
        s.execute(delete(WebSession).where(WebSession.user_id == user_id))
    db.engine.dispose()


def fill_login(page: Any, account: str) -> None:
    page.get_by_label("Tên đăng nhập").fill(account)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def test_approval_checks_the_request_again(web_system, open_page, speech_wav):
    """Things change between sending and approving: quiet hours set meanwhile block a "now"
    bulletin at approval, with the reason shown to the approver, and nothing is sent."""
    base = web_system.cluster.url
    title = "Thông báo lịch cắt điện"
    page = open_page("phatthanh")
    bulletin_id = upload_draft(page, base, speech_wav, title)
    page.get_by_label("Tất cả các điểm loa").check()
    page.get_by_label("Phát ngay khi được duyệt").check()
    submit_request(page, base, bulletin_id)

    here = datetime.now(LOCAL)
    quiet = {
        "start": (here - timedelta(hours=1)).strftime("%H:%M:00"),
        "end": (here + timedelta(hours=1)).strftime("%H:%M:00"),
    }
    with web_system.http() as c:
        assert c.put("/api/v1/programme/quiet-hours", json=quiet).status_code == 200
    try:
        approver = open_page("pheduyet")
        approver.goto(f"{base}/review")
        item = approver.locator(f'article[data-bulletin="{bulletin_id}"]')
        with approver.expect_response(f"{base}/review/{bulletin_id}/approve") as answer:
            item.get_by_role("button", name="Duyệt và phát").click()
        assert answer.value.status == 409
        item = approver.locator(f'article[data-bulletin="{bulletin_id}"]')
        expect(item.get_by_role("alert").first).to_contain_text("giờ yên tĩnh")
        assert bulletin_by_title(web_system, title).status == "pending"
        assert web_system.report(bulletin_id)["summary"]["targets"] == 0
    finally:
        with web_system.http() as c:
            lifted = c.put(
                "/api/v1/programme/quiet-hours",
                content=b"null",
                headers={"Content-Type": "application/json"},
            )
            assert lifted.status_code == 200, lifted.text


def test_points_are_picked_by_tapping_them_on_the_map(web_system, open_page, speech_wav):
    base = web_system.cluster.url
    title = "Chọn điểm loa trên bản đồ"
    page = open_page("phatthanh")
    bulletin_id = upload_draft(page, base, speech_wav, title)
    page.get_by_label("Từng điểm loa").check()
    page.locator("details.map-picker summary").click()
    chosen = sorted(web_system.node_ids)[:2]
    for node_id in chosen:
        page.locator(f'figure.node-map g.point[data-node-id="{node_id}"]').click()
    for node_id in web_system.node_ids:  # the map ticked exactly the list's boxes
        box = page.locator(f'input[name="nodes"][value="{node_id}"]')
        assert box.is_checked() == (node_id in chosen)
    tapped = page.locator(f'figure.node-map g.point[data-node-id="{chosen[0]}"]')
    assert tapped.get_attribute("aria-checked") == "true"
    screenshot(page, "draft-map-picker")
    submit_request(page, base, bulletin_id)
    bulletin = bulletin_by_title(web_system, title)
    assert bulletin.status == "pending"
    assert sorted(bulletin.request["where"]["nodes"]) == chosen
