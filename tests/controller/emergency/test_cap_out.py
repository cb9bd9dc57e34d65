"""CAP out on a real database: which alerts become which CAP messages, and our own CAP ingest in
another commune reads them back as the same alerts (real SQLite, speech by espeak-ng)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from controller.broadcast.targets import resolve_targets
from controller.delivery.dispatcher import Dispatcher
from controller.delivery.publisher import MemoryPublisher
from controller.emergency import alerts, cap_ingest, cap_out
from controller.emergency.cap import CapAlert, key_string, write_cap
from controller.emergency.cap.write import cap_moment
from controller.models import Alert, Node, Zone
from tests.controller.alerting import TEXT, as_user, cancel, correct, propose, send
from tests.controller.commune import Commune, open_copy
from tests.support.cap import alert_xml, assert_valid_cap, info_xml

FEED = "https://pctt.example.vn/cap.xml"
PROVINCE = "pctt@thuathienhue.gov.vn"
# A box around both demo villages (Thôn Đông and Thôn Tây).
BOTH = "21.00,105.840 21.00,105.870 21.05,105.870 21.05,105.840 21.00,105.840"


def published(commune: Commune, alert_id: str, *, cancel: bool = False) -> CapAlert:
    with commune.db.session() as s:
        cap = cap_out.message(s, commune.config, alert_id, cancel=cancel).cap
    assert_valid_cap(write_cap(cap))
    return cap


def own_key(commune: Commune, alert_id: str) -> tuple[str, str, object]:
    with commune.db.session() as s:
        sent = s.get_one(Alert, alert_id).sent_at
    assert sent is not None
    sender = commune.config.cap_sender_id
    return (sender, f"{sender}/alert/{alert_id}", cap_moment(sent))


def test_a_sent_alert_is_a_cap_alert_naming_its_villages(commune, dispatcher):
    alert_id = send(commune, dispatcher, ["thon-dong", "thon-tay", "thon-bac"])
    cap = published(commune, alert_id)

    assert (cap.sender, cap.identifier, cap.sent) == own_key(commune, alert_id)
    assert cap.sent.utcoffset() == timedelta(hours=7)
    assert (cap.status, cap.msg_type, cap.scope, cap.references) == (
        "Actual",
        "Alert",
        "Public",
        [],
    )
    (info,) = cap.infos
    assert info.language == "vi-VN"
    assert (info.urgency, info.severity) == ("Immediate", "Severe")
    assert info.description == TEXT
    assert info.sender_name == commune.config.commune_name
    assert info.web == commune.config.web_url + "/listen"
    with commune.db.session() as s:
        assert info.expires == cap_moment(s.get_one(Alert, alert_id).expires_at)
    assert [a.area_desc for a in info.areas] == ["Thôn Bắc", "Thôn Đông", "Thôn Tây"]
    bac, dong, tay = info.areas
    assert (bac.polygons, bac.circles, bac.geocodes) == ([], [], [])  # Thôn Bắc has no geography
    assert dong.circles[0][:2] == (21.0285, 105.8542)
    assert tay.circles[0][:2] == (21.0301, 105.8460)


def test_an_alert_names_only_the_villages_of_the_points_it_reached(commune, dispatcher):
    with commune.db.session() as s:
        targets = resolve_targets(s, False, ["thon-tay"], [])
    alert_id = propose(commune, ["thon-tay"])
    with commune.db.session() as s:
        s.get_one(Alert, alert_id).targets = targets[:1]  # a single point of Thôn Tây
    as_user(commune, "admin", lambda s, u, a: alerts.activate(s, dispatcher, u, a), alert_id)
    assert [a.area_desc for a in published(commune, alert_id).infos[0].areas] == ["Thôn Tây"]


def test_a_village_outline_and_geocodes_are_written_as_they_are_stored(commune, dispatcher):
    outline = [[21.027, 105.853], [21.027, 105.856], [21.030, 105.856], [21.030, 105.853]]
    with commune.db.session() as s:
        zone = s.scalars(select(Zone).where(Zone.code == "thon-dong")).one()
        zone.polygon, zone.geocodes = outline, {"VN-ward": "00004"}
    (area,) = published(commune, send(commune, dispatcher, ["thon-dong"])).infos[0].areas
    assert area.polygons == [[tuple(p) for p in [*outline, outline[0]]]]
    assert area.circles == []
    assert area.geocodes == [("VN-ward", "00004")]


def test_an_alert_waiting_for_a_second_account_is_not_published(commune, dispatcher):
    alert_id = propose(commune, ["thon-dong"])
    with pytest.raises(LookupError, match="was sent"):
        published(commune, alert_id)
    with commune.db.session() as s:
        assert cap_out.latest(s, commune.config) == []
    as_user(commune, "pheduyet", lambda s, u, a: alerts.confirm(s, dispatcher, u, a), alert_id)
    assert published(commune, alert_id).msg_type == "Alert"


def test_a_cancelled_alert_adds_a_cancel_and_its_first_message_never_changes(commune, dispatcher):
    alert_id = send(commune, dispatcher, ["thon-dong"])
    before = write_cap(published(commune, alert_id))
    with pytest.raises(LookupError, match="not cancelled"):
        published(commune, alert_id, cancel=True)

    cancel(commune, dispatcher, alert_id, "báo nhầm")

    assert write_cap(published(commune, alert_id)) == before
    stop = published(commune, alert_id, cancel=True)
    assert stop.msg_type == "Cancel"
    assert stop.identifier == f"{commune.config.cap_sender_id}/alert/{alert_id}/cancel"
    assert stop.references == [own_key(commune, alert_id)]
    assert stop.note == "Đã dừng cảnh báo / alert stopped"
    assert stop.infos[0].headline == f"Đã hủy: Cảnh báo khẩn cấp – {commune.config.commune_name}"
    with commune.db.session() as s:
        assert stop.sent == cap_moment(s.get_one(Alert, alert_id).cancelled_at)
        newest = cap_out.latest(s, commune.config)
    assert [(p.alert_id, p.cap.msg_type) for p in newest] == [
        (alert_id, "Cancel"),
        (alert_id, "Alert"),
    ]


def test_a_correction_is_an_update_referencing_the_alert_it_corrects(commune, dispatcher):
    alert_id = send(commune, dispatcher, ["thon-dong", "thon-tay"])
    fixed = "Đính chính: bão số 5 đổ bộ lúc 16 giờ"
    correction_id = correct(commune, dispatcher, alert_id, fixed, "sai giờ")

    update = published(commune, correction_id)
    assert update.msg_type == "Update"
    assert update.references == [own_key(commune, alert_id)]
    assert update.infos[0].description == fixed
    assert (
        update.infos[0].headline == f"Đính chính cảnh báo khẩn cấp – {commune.config.commune_name}"
    )
    assert [a.area_desc for a in update.infos[0].areas] == ["Thôn Đông", "Thôn Tây"]
    assert published(commune, alert_id, cancel=True).msg_type == "Cancel"


def test_the_newest_messages_come_first_and_no_more_than_asked(commune, dispatcher):
    first, second, third = (send(commune, dispatcher, ["thon-dong"]) for _ in range(3))
    cancel(commune, dispatcher, first, "")
    with commune.db.session() as s:
        newest = cap_out.latest(s, commune.config, limit=3)
    assert [(p.alert_id, p.cancel) for p in newest] == [
        (first, True),
        (third, False),
        (second, False),
    ]


def province(identifier: str, msg_type: str = "Alert", references: str | None = None) -> bytes:
    area = f"<area><areaDesc>Huyện</areaDesc><polygon>{BOTH}</polygon></area>"
    infos = (
        info_xml(severity="Extreme", area=area, headline="Lũ quét trên sông Hồng"),
        info_xml(language="en-US", event="Flood", area=area, headline="Flash flood"),
    )
    return alert_xml(
        identifier=identifier,
        sender=PROVINCE,
        msg_type=msg_type,
        references=references,
        infos=infos,
    )


def relay(commune: Commune, dispatcher: Dispatcher, xml: bytes) -> cap_ingest.Outcome:
    with commune.db.session() as s:
        return cap_ingest.ingest(s, commune.config, dispatcher, xml, poster=None, source=FEED)


def test_a_relayed_alert_keeps_the_provinces_words_for_our_villages(commune, dispatcher):
    first = relay(commune, dispatcher, province("VN-1")).alert_id
    assert first is not None
    cap = published(commune, first)
    assert cap.msg_type == "Alert"
    assert cap.note == f"Chuyển tiếp / relayed: {PROVINCE} VN-1"
    vi, en = cap.infos
    assert (vi.language, en.language) == ("vi-VN", "en-US")
    assert (vi.categories, vi.event, vi.severity) == (["Met"], "Lũ", "Extreme")
    assert (vi.headline, en.headline) == ("Lũ quét trên sông Hồng", "Flash flood")
    assert [a.area_desc for a in vi.areas] == ["Thôn Đông", "Thôn Tây"]
    assert vi.sender_name == en.sender_name == commune.config.commune_name

    sent = "2026-11-23T14:00:00+07:00"
    second = relay(commune, dispatcher, province("VN-2", "Update", f"{PROVINCE},VN-1,{sent}"))
    assert second.alert_id is not None
    update = published(commune, second.alert_id)
    assert update.msg_type == "Update"
    assert update.references == [own_key(commune, first)]
    assert published(commune, first, cancel=True).references == [own_key(commune, first)]

    relay(commune, dispatcher, province("VN-3", "Cancel", f"{PROVINCE},VN-2,{sent}"))
    assert published(commune, second.alert_id, cancel=True).msg_type == "Cancel"


@pytest.fixture
def other(commune_template: Path, tmp_path: Path):
    """A second commune with the same villages, reading our CAP as a provincial feed."""
    made = open_copy(commune_template, tmp_path / "other")
    yield made, Dispatcher(made.config, made.db, made.key, publisher=MemoryPublisher())
    made.db.engine.dispose()


def read_by(other: tuple[Commune, Dispatcher], cap: CapAlert) -> cap_ingest.Outcome:
    commune, dispatcher = other
    with commune.db.session() as s:
        return cap_ingest.ingest(
            s, commune.config, dispatcher, write_cap(cap), poster=None, source=FEED
        )


def test_our_cap_ingest_reads_our_alerts_back_as_the_same_alerts(commune, dispatcher, other):
    """Alert, correction (Update) and Cancel, written here and read by another Loa Làng: the
    same villages hear the same words, the correction replaces the alert, the cancel stops it."""
    reader = other[0]
    alert_id = send(commune, dispatcher, ["thon-dong", "thon-tay"])
    cap = published(commune, alert_id)

    aired = read_by(other, cap)
    assert (aired.action, aired.zones) == ("air", ["thon-dong", "thon-tay"])
    with reader.db.session() as s:
        theirs = s.get_one(Alert, aired.alert_id)
        assert theirs.targets == reader.nodes_in("thon-dong", "thon-tay")
        assert theirs.cap_key == key_string(cap.key)
        assert TEXT in theirs.text
        assert theirs.expires_at == cap.infos[0].expires

    fixed = "Đính chính: chỉ Thôn Tây"
    correction_id = correct(commune, dispatcher, alert_id, fixed, "sai thôn")
    updated = read_by(other, published(commune, correction_id))
    assert updated.action == "update"
    stopped = read_by(other, published(commune, alert_id, cancel=True))
    assert stopped.action == "cancel"
    with reader.db.session() as s:
        assert s.get_one(Alert, aired.alert_id).state == "superseded"
        replacement = s.get_one(Alert, updated.alert_id)
        assert replacement.state == "active"
        assert fixed in replacement.text

    cancel(commune, dispatcher, correction_id, "hết")
    read_by(other, published(commune, correction_id, cancel=True))
    with reader.db.session() as s:
        assert s.get_one(Alert, updated.alert_id).state == "cancelled"


def test_a_relayed_drill_stays_a_drill_and_says_so_in_the_feed(commune, dispatcher):
    with commune.db.session() as s:
        for node in s.scalars(select(Node)):
            node.accepts_tests = True
    drill = alert_xml(
        identifier="VN-9",
        sender=PROVINCE,
        status="Exercise",
        infos=(info_xml(area=f"<area><areaDesc>xã</areaDesc><polygon>{BOTH}</polygon></area>"),),
    )
    alert_id = relay(commune, dispatcher, drill).alert_id
    assert alert_id is not None
    assert published(commune, alert_id).status == "Exercise"
    with commune.db.session() as s:
        body = cap_out.feed(commune.config, cap_out.latest(s, commune.config))
    assert "<title>[Diễn tập / Exercise] Cảnh báo lũ trên sông Hương</title>" in body.decode()


def test_a_long_alert_is_summarised_in_the_feed_and_whole_in_its_document(commune, dispatcher):
    long_text = " ".join(["Nước sông Hồng đang lên nhanh, bà con khẩn trương di dời."] * 40)
    alert_id = send(commune, dispatcher, ["thon-dong"], long_text)
    assert published(commune, alert_id).infos[0].description == long_text
    with commune.db.session() as s:
        body = cap_out.feed(commune.config, cap_out.latest(s, commune.config)).decode()
    summary = body.split("<summary>")[1].split("</summary>")[0]
    assert summary.endswith("…")
    assert len(summary) <= cap_out.SUMMARY_CHARS + 1
    assert long_text.startswith(summary[:-1])
