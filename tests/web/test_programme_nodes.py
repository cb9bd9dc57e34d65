"""The programme (today and the week; reorder and remove) and the loudspeaker points (list, map,
live status, volume, test tone, stop), in a real browser against real nodes."""

from __future__ import annotations

import wave
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from controller.db import Database
from controller.models import AuditEntry, Delivery, OutboxCommand, ProgrammeDocument
from schedules import LOCAL
from tests.support import SystemUnderTest, wait_for
from tests.web.conftest import DESKTOP, fits_width, screenshot

WEEKDAYS_VI = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
SLOT = "ban-tin-thu"
FIRST, SECOND = "Thông báo tiêm phòng", "Lịch cắt điện"


def db_of(sut: SystemUnderTest) -> Database:
    return Database(sut.cluster.config.db_url)


def held(sut: SystemUnderTest, audio: Path, title: str) -> dict[str, Any]:
    r = sut.post_bulletin(audio, title=title, hold="true")
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture(scope="module")
def placed(web_system: SystemUnderTest, speech_wav: Path) -> dict[str, Any]:
    """A daily slot in both villages, three hours from now, with two items placed through the
    API (same priority, so they may change places) and one item at its own time."""
    start = (datetime.now(LOCAL) + timedelta(hours=3)).replace(second=0, microsecond=0)
    slot = {
        "id": SLOT,
        "name": "Bản tin thử nghiệm",
        "start": start.time().isoformat(),
        "max_length_s": 600,
        "zones": ["thon-dong", "thon-tay"],
        "gap_s": 2.0,
    }
    today = datetime.now(LOCAL).date()
    daily = {"kind": "daily", "start_date": today.isoformat()}
    items: dict[str, dict[str, Any]] = {}
    with web_system.http() as c:
        assert c.put(f"/api/v1/programme/slots/{SLOT}", json=slot).status_code == 200
        for position, title in enumerate((FIRST, SECOND)):
            bulletin = held(web_system, speech_wav, title)
            r = c.post(
                "/api/v1/programme/items",
                json={
                    "bulletin_id": bulletin["id"],
                    "slot_id": SLOT,
                    "position": position,
                    "recurrence": daily,
                },
            )
            assert r.status_code == 201, r.text
            items[title] = r.json()
        music = held(web_system, speech_wav, "Nhạc truyền thống")
        at = (start + timedelta(hours=1)).time().isoformat()
        r = c.post(
            "/api/v1/programme/items",
            json={
                "bulletin_id": music["id"],
                "priority": "filler",
                "recurrence": {"kind": "once", "start_date": today.isoformat(), "at": at},
                "zones": ["thon-tay"],
            },
        )
        assert r.status_code == 201, r.text
        items["music"] = r.json()
    return {"start": start, "items": items, "slot": slot}


def slot_airings(sut: SystemUnderTest) -> list[dict[str, Any]]:
    """The slot's next airing of each item, from the API, in play order."""
    with sut.http() as c:
        airings = c.get("/api/v1/programme/airings", params={"days": 1}).json()
    return [a for a in airings if a["slot_id"] == SLOT]


def titles_in_slot(page) -> list[str]:
    slot = page.locator("article.slot", has_text="Bản tin thử nghiệm")
    return [t.strip() for t in slot.locator("ol.airings > li .title").all_inner_texts()]


def today_local() -> str:
    return datetime.now(LOCAL).date().isoformat()


def csrf_of(page) -> str:
    return str(page.locator('meta[name="csrf-token"]').get_attribute("content"))


# --- the programme -----------------------------------------------------------------------


def test_today_shows_the_slot_with_its_items_in_play_order(web_system, open_page, placed):
    start: datetime = placed["start"]
    for viewport in (None, DESKTOP):
        page = open_page("pheduyet", **({"viewport": viewport} if viewport else {}))
        page.goto(f"{web_system.cluster.url}/programme")
        expect(page.get_by_role("heading", name="Chương trình phát thanh")).to_be_visible()
        tabs = page.get_by_role("navigation", name="Chọn ngày")
        expect(tabs.get_by_role("link", name="Hôm nay")).to_have_attribute("aria-current", "page")
        slot = page.locator("article.slot", has_text="Bản tin thử nghiệm")
        end = start + timedelta(minutes=10)
        expect(slot.get_by_role("heading")).to_contain_text(f"{start:%H:%M}–{end:%H:%M}")
        assert titles_in_slot(page) == [FIRST, SECOND]
        first = slot.locator("ol.airings > li").first
        expect(first).to_contain_text("thông thường")
        expect(first).to_contain_text("toàn xã")  # both villages: the whole commune
        if start.date() == datetime.now(LOCAL).date():  # today's airing is still to come
            expect(first.locator('[data-live="queued"]')).to_have_text("4 điểm chờ phát")
        timed = page.locator("article.timed", has_text="Nhạc truyền thống")
        expect(timed).to_contain_text("chương trình đệm")
        expect(timed).to_contain_text("Thôn Tây")
        assert fits_width(page)
        screenshot(page, "programme-today")


def test_the_week_names_each_day_in_vietnamese(web_system, open_page, placed):
    today = datetime.now(LOCAL).date()
    days = [today + timedelta(days=k) for k in range(8)]
    for viewport in (None, DESKTOP):
        page = open_page("phatthanh", **({"viewport": viewport} if viewport else {}))
        page.goto(f"{web_system.cluster.url}/programme")
        tabs = page.get_by_role("navigation", name="Chọn ngày").get_by_role("link")
        expected = ["Hôm nay"] + [f"{WEEKDAYS_VI[d.weekday()]} {d:%d/%m}" for d in days[1:]]
        assert [t.strip() for t in tabs.all_inner_texts()] == [*expected, "Cả tuần"]
        tabs.get_by_text("Cả tuần").click()
        headings = page.locator("section.day > h2")
        expect(headings).to_have_count(8)
        for heading, day in zip(headings.all(), days, strict=True):
            expect(heading).to_contain_text(f"{WEEKDAYS_VI[day.weekday()]}, {day:%d/%m/%Y}")
        # the daily slot is on every day of the week
        expect(page.locator("section.day", has_text="Bản tin thử nghiệm")).to_have_count(8)
        assert fits_width(page)
        screenshot(page, "programme-week")


def test_a_broadcaster_sees_the_programme_but_cannot_rearrange_it(web_system, open_page, placed):
    page = open_page("phatthanh")
    page.goto(f"{web_system.cluster.url}/programme")
    assert titles_in_slot(page) == [FIRST, SECOND]
    expect(page.get_by_role("button", name=f"Đưa “{SECOND}” lên phát sớm hơn")).to_have_count(0)
    item_id = placed["items"][SECOND]["id"]
    r = page.request.post(
        f"{web_system.cluster.url}/programme/items/{item_id}/move",
        form={"csrf": csrf_of(page), "day": today_local(), "direction": "up"},
    )
    assert r.status == 403
    assert [a["item_id"] for a in slot_airings(web_system)][:2] == [
        placed["items"][FIRST]["id"],
        item_id,
    ]


def test_moving_an_item_up_reorders_the_slot_and_re_times_its_airings(
    web_system, open_page, placed
):
    first, second = placed["items"][FIRST], placed["items"][SECOND]
    before = {a["item_id"]: a for a in slot_airings(web_system)}
    page = open_page("pheduyet")
    page.goto(f"{web_system.cluster.url}/programme")
    # the first item cannot go further up: refused, nothing changed
    expect(page.get_by_role("button", name=f"Đưa “{FIRST}” lên phát sớm hơn")).to_be_disabled()
    r = page.request.post(
        f"{web_system.cluster.url}/programme/items/{first['id']}/move",
        form={"csrf": csrf_of(page), "day": today_local(), "direction": "up"},
    )
    assert r.status == 409
    assert "đã ở đầu hoặc cuối khung giờ" in r.text()

    page.get_by_role("button", name=f"Đưa “{SECOND}” lên phát sớm hơn").click()
    expect(page.get_by_role("status")).to_contain_text("Đã đổi thứ tự phát")
    assert titles_in_slot(page) == [SECOND, FIRST]

    db = db_of(web_system)
    with db.session() as s:
        document = s.get(ProgrammeDocument, 1)
        assert document is not None
        items = document.document["items"]
        positions = {i["id"]: i["position"] for i in items if i["slot_id"] == SLOT}
        assert positions[second["id"]] < positions[first["id"]]
        reorder = s.scalar(select(AuditEntry).where(AuditEntry.action == "programme.reorder"))
        assert reorder is not None
        assert (reorder.actor, reorder.target) == ("pheduyet", second["id"])
    after = slot_airings(web_system)
    assert [a["item_id"] for a in after][:2] == [second["id"], first["id"]]
    slot_start = before[first["id"]]["start"]
    assert after[0]["start"] == slot_start  # the moved item now opens the slot
    gap = placed["slot"]["gap_s"]
    moved_start = datetime.fromisoformat(slot_start) + timedelta(seconds=second["duration_s"] + gap)
    assert datetime.fromisoformat(after[1]["start"]) == moved_start
    # the old airings (their start is in their play id) are cancelled on the nodes
    old_first = before[first["id"]]["play_id"]
    with db.session() as s:
        statuses = set(s.scalars(select(Delivery.status).where(Delivery.play_id == old_first)))
    db.engine.dispose()
    assert statuses == {"cancelled"}


def test_removing_an_item_asks_first_then_cancels_its_airings(web_system, open_page, placed):
    gone = placed["items"][FIRST]
    page = open_page("pheduyet", viewport=DESKTOP)
    page.goto(f"{web_system.cluster.url}/programme")
    page.get_by_role("link", name=f"Gỡ “{FIRST}” khỏi chương trình").click()
    expect(page.get_by_role("heading", name="Gỡ tin khỏi chương trình")).to_be_visible()
    expect(page.get_by_text("hằng ngày từ ngày")).to_be_visible()
    page.get_by_role("link", name="Quay lại, không gỡ").click()  # second thoughts: still there
    assert titles_in_slot(page) == [SECOND, FIRST]

    page.get_by_role("link", name=f"Gỡ “{FIRST}” khỏi chương trình").click()
    page.get_by_role("button", name="Gỡ khỏi chương trình").click()
    expect(page.get_by_role("status")).to_contain_text("Đã gỡ tin khỏi chương trình")
    assert titles_in_slot(page) == [SECOND]

    with web_system.http() as c:
        items = c.get("/api/v1/programme").json()["items"]
    assert gone["id"] not in [i["id"] for i in items]
    assert gone["id"] not in [a["item_id"] for a in slot_airings(web_system)]
    db = db_of(web_system)
    with db.session() as s:
        rows = s.execute(
            select(Delivery.status, func.count())
            .where(Delivery.play_id.startswith(f"p-{gone['id']}."))
            .group_by(Delivery.status)
        ).all()
        left = dict(rows)
        removal = s.scalar(select(AuditEntry).where(AuditEntry.action == "programme.remove"))
    db.engine.dispose()
    assert not set(left) & {"queued", "acknowledged", "received", "ready"}
    assert left.get("cancelled", 0) >= 4  # its next airing was waiting on all four points
    assert removal is not None
    assert (removal.actor, removal.target) == ("pheduyet", gone["id"])
    # the API takes items out through the same service
    music = placed["items"]["music"]["id"]
    with web_system.http() as c:
        r = c.delete(f"/api/v1/programme/items/{music}")
        assert r.status_code == 200, r.text
        assert set(r.json()["nodes_told"]) <= set(web_system.node_ids)
        assert c.delete(f"/api/v1/programme/items/{music}").status_code == 404
    page.reload()
    expect(page.locator("article.timed")).to_have_count(0)


# --- the loudspeaker points --------------------------------------------------------------


def all_online(sut: SystemUnderTest) -> bool:
    with sut.http() as c:
        return all(n["status"] == "online" for n in c.get("/api/v1/nodes").json())


def test_the_points_are_listed_and_mapped_and_go_offline_live(web_system, open_page):
    wait_for(lambda: all_online(web_system), 30, "all four points online")
    victim = web_system.node_ids[1]
    for viewport in (None, DESKTOP):
        page = open_page("pheduyet", **({"viewport": viewport} if viewport else {}))
        page.goto(f"{web_system.cluster.url}/nodes?status=online")
        rows = page.locator("li.node-row")
        expect(rows).to_have_count(4)
        for row in rows.all():
            expect(row.locator('[data-field="status"]')).to_have_text("trực tuyến")
        expect(page.locator("figure.node-map g.point.status-online")).to_have_count(4)
        expect(page.get_by_text("Đang hiện 4 / 4 điểm loa")).to_be_visible()
        assert fits_width(page)
        screenshot(page, "nodes")

    page.goto(f"{web_system.cluster.url}/nodes")
    page.evaluate("window.notReloaded = true")
    web_system.cluster.stop_node(victim)
    row = page.locator(f'li.node-row[data-node-id="{victim}"]')
    expect(row.locator('[data-field="status"]')).to_have_text("mất kết nối", timeout=30_000)
    point = page.locator(f'figure.node-map g.point[data-node-id="{victim}"]')
    expect(point).to_have_class("point status-offline")
    assert page.evaluate("window.notReloaded") is True
    # the village filter keeps to its village; the status filter to what matches
    # picking a village applies at once and keeps to its points (the victim is in Thôn Tây)
    page.get_by_label("Thôn / khu vực").select_option(label="Thôn Tây")
    page.wait_for_url("**zone=thon-tay**")
    expect(page.locator("li.node-row")).to_have_count(2)
    expect(page.locator("figure.node-map g.point")).to_have_count(2)
    page.evaluate("window.notReloaded = true")
    web_system.cluster.start_node(victim)
    expect(row.locator('[data-field="status"]')).to_have_text("trực tuyến", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True


def test_volume_is_set_from_the_page_and_bad_values_change_nothing(web_system, open_page):
    wait_for(lambda: all_online(web_system), 30, "all four points online")
    node = web_system.node_ids[0]
    page = open_page("phatthanh")
    page.goto(f"{web_system.cluster.url}/nodes/{node}")
    db = db_of(web_system)

    def commands() -> int:
        with db.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(OutboxCommand)
                    .where(OutboxCommand.node_id == node)
                )
                or 0
            )

    queued = commands()
    for bad in ("150", ""):
        page.get_by_label("Âm lượng (0–100)").fill(bad)
        with page.expect_response(f"**/nodes/{node}/volume") as answer:
            page.get_by_role("button", name="Đặt âm lượng").click()
        assert answer.value.status == 422
        field = page.get_by_label("Âm lượng (0–100)")
        expect(page.locator(".field-error")).to_have_text(
            "Hãy nhập âm lượng là số nguyên từ 0 đến 100."
        )
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_value(bad)
    assert commands() == queued

    page.get_by_label("Âm lượng (0–100)").fill("40")
    page.get_by_role("button", name="Đặt âm lượng").click()
    expect(page.locator("#command-outcome")).to_contain_text("Đặt âm lượng")
    expect(page.locator("#command-outcome")).to_contain_text("điểm loa đã thực hiện")
    expect(page.locator('.node-row [data-field="volume"]')).to_have_text("40")
    expect(page.get_by_label("Âm lượng (0–100)")).to_have_value("40")  # follows the report

    def reported() -> bool:
        with web_system.http() as c:
            return any(n["id"] == node and n["volume"] == 40 for n in c.get("/api/v1/nodes").json())

    wait_for(reported, 30, "the point to report volume 40")
    with db.session() as s:
        audited = s.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "node.set_volume", AuditEntry.target == node
            )
        )
    db.engine.dispose()
    assert audited is not None
    assert audited.actor == "phatthanh"
    assert fits_width(page)
    screenshot(page, "node-detail")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "node-detail")


def tone_heard(sut: SystemUnderTest, node: str, page) -> tuple[np.ndarray, int]:
    """What the point's loudspeaker gave out for the test tone the page just asked for, and
    its sample rate."""
    page.wait_for_url(f"**/nodes/{node}?command=*")
    command = page.url.split("command=", 1)[1]
    wav = sut.played_dir(node) / f"test-tone.{command}.wav"
    wait_for(lambda: wav.with_suffix(".json").exists(), 60, "the tone in the point's output")
    with wave.open(str(wav)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16), w.getframerate()


def test_a_test_tone_sounds_at_the_point_and_stop_silences_it(web_system, open_page):
    wait_for(lambda: all_online(web_system), 30, "all four points online")
    node = web_system.node_ids[2]
    page = open_page("phatthanh")
    page.goto(f"{web_system.cluster.url}/nodes/{node}")
    page.get_by_role("button", name="Phát âm thử 5 giây").click()
    expect(page.locator("#command-outcome")).to_contain_text("Phát âm thử")
    expect(page.locator("#command-outcome")).to_contain_text("điểm loa đã thực hiện")
    samples, rate = tone_heard(web_system, node, page)
    assert len(samples) / rate == pytest.approx(5, abs=0.5)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    peak = np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()]
    assert peak == pytest.approx(1000, abs=5)

    # a second tone, silenced while it sounds: the page shows it playing, live
    status = page.locator('.node-row [data-field="status"]')
    expect(status).to_have_text("trực tuyến")  # the first one is over
    page.get_by_role("button", name="Phát âm thử 5 giây").click()
    expect(status).to_have_text("đang phát")
    expect(page.locator('.node-row [data-field="playing"]')).to_have_text("Đang phát: âm thử")
    command_url = page.url
    page.get_by_role("button", name="Tắt tiếng ngay").click()
    expect(page.locator("#command-outcome")).to_contain_text("Tắt tiếng")
    expect(page.locator("#command-outcome")).to_contain_text("điểm loa đã thực hiện")
    expect(status).to_have_text("trực tuyến")
    page.goto(command_url)
    samples, rate = tone_heard(web_system, node, page)
    assert len(samples) / rate < 4.5  # cut short


def test_an_approver_sees_a_point_but_may_not_control_it(web_system, open_page):
    node = web_system.node_ids[3]
    page = open_page("pheduyet")
    page.goto(f"{web_system.cluster.url}/nodes/{node}")
    expect(page.get_by_text("chỉ xem được điểm loa")).to_be_visible()
    expect(page.get_by_role("button", name="Đặt âm lượng")).to_have_count(0)
    for action, form in (("volume", {"volume": "10"}), ("test-tone", {}), ("stop", {})):
        r = page.request.post(
            f"{web_system.cluster.url}/nodes/{node}/{action}", form={"csrf": csrf_of(page), **form}
        )
        assert r.status == 403
    db = db_of(web_system)
    with db.session() as s:
        controls = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.target == node)
        )
    db.engine.dispose()
    assert controls == 0  # nothing queued, nothing done in the approver's name
    page.get_by_role("link", name="English").click()
    expect(page.get_by_text("can view the points but not control them")).to_be_visible()
    page.goto(f"{web_system.cluster.url}/programme?view=week")
    expect(page.get_by_role("heading", name="Broadcast programme")).to_be_visible()
    today = datetime.now(LOCAL).date()
    expect(page.locator("section.day > h2").first).to_contain_text(
        f"{WEEKDAYS_EN[today.weekday()]}, {today:%d/%m/%Y}"
    )
