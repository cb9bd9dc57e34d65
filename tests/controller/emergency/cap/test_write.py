"""CAP out, pure: every document we write is valid CAP 1.2 (the OASIS schema, with lxml) and our
own parser reads back exactly the alert that was written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.emergency.cap import CapAlert, CapArea, CapError, CapInfo, parse_cap, write_cap
from controller.emergency.cap.write import cap_moment, clean_text
from tests.support.cap import SAMPLES, assert_valid_cap

ICT = timezone(timedelta(hours=7))
SENT = datetime(2026, 11, 23, 14, 5, 9, tzinfo=ICT)
DONG = CapArea(area_desc="Thôn Đông", circles=[(21.0285, 105.8542, 0.418)])
TAY = CapArea(
    area_desc="Thôn Tây",
    polygons=[[(21.03, 105.845), (21.03, 105.847), (21.032, 105.847), (21.03, 105.845)]],
    geocodes=[("VN-ward", "19804")],
)
BARE = CapArea(area_desc="Xóm Chợ")  # a village with no geography: named only


def info(**changes: object) -> CapInfo:
    fields: dict[str, object] = {
        "language": "vi-VN",
        "categories": ["Safety"],
        "event": "Cảnh báo khẩn cấp",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Likely",
        "expires": SENT + timedelta(hours=1),
        "sender_name": "Xã Mẫu",
        "headline": "Cảnh báo khẩn cấp – Xã Mẫu",
        "description": "Bão số 5 đổ bộ lúc 14 giờ.\nĐề nghị bà con vào nơi trú ẩn an toàn!",
        "web": "https://loa.xa-mau.vn/listen",
        "areas": [DONG, TAY, BARE],
    }
    return CapInfo.model_validate({**fields, **changes})


def alert(**changes: object) -> CapAlert:
    fields: dict[str, object] = {
        "identifier": "loa.xa-mau.vn/alert/4f2a",
        "sender": "loa.xa-mau.vn",
        "sent": SENT,
        "status": "Actual",
        "msg_type": "Alert",
        "scope": "Public",
        "infos": [info()],
    }
    return CapAlert.model_validate({**fields, **changes})


FIRST = ("loa.xa-mau.vn", "loa.xa-mau.vn/alert/4f2a", SENT)
KINDS = {
    "alert, three villages with and without geography": alert(),
    "update of an earlier alert": alert(
        identifier="loa.xa-mau.vn/alert/77b1",
        msg_type="Update",
        references=[FIRST],
        infos=[info(event="Đính chính cảnh báo khẩn cấp", areas=[DONG])],
    ),
    "cancel with its reason": alert(
        identifier="loa.xa-mau.vn/alert/4f2a/cancel",
        sent=SENT + timedelta(minutes=3),
        msg_type="Cancel",
        note="báo nhầm",
        references=[FIRST],
        infos=[info(headline="Đã hủy: Cảnh báo khẩn cấp – Xã Mẫu")],
    ),
    "relayed, Vietnamese and English, every optional field": alert(
        status="Exercise",
        note="Chuyển tiếp / relayed: pctt@thuathienhue.gov.vn VN-TTH-2026-0142",
        infos=[
            info(
                categories=["Met", "Safety"],
                event="Bão",
                severity="Extreme",
                certainty="Observed",
                effective=SENT,
                onset=SENT + timedelta(hours=2),
                instruction="Sơ tán khỏi vùng trũng.",
                parameters={"capDoRuiRo": "4"},
            ),
            info(language="en-US", event="Typhoon", headline="Typhoon No. 5", description=None),
        ],
    ),
    "no area at all": alert(infos=[info(areas=[])]),
}


@pytest.mark.parametrize("cap", KINDS.values(), ids=KINDS.keys())
def test_every_kind_of_document_is_valid_cap_1_2_and_reads_back_the_same(cap: CapAlert) -> None:
    document = write_cap(cap)
    assert_valid_cap(document)
    assert parse_cap(document) == cap


def test_the_schema_check_is_real() -> None:
    """A document the schema refuses fails the check (a CAP 1.1 one, here)."""
    with pytest.raises(AssertionError, match=r"not valid CAP 1\.2"):
        assert_valid_cap((SAMPLES / "cap11_alert.xml").read_bytes())


def test_times_are_whole_seconds_in_vietnam_time() -> None:
    moment = datetime(2026, 11, 23, 7, 5, 9, 654321, tzinfo=UTC)
    document = write_cap(alert(sent=moment, infos=[info(expires=moment + timedelta(hours=1))]))
    assert b"<sent>2026-11-23T14:05:09+07:00</sent>" in document
    assert b"<expires>2026-11-23T15:05:09+07:00</expires>" in document
    assert parse_cap(document).sent == cap_moment(moment) == moment.replace(microsecond=0)


def test_references_list_every_earlier_message_as_sender_identifier_sent() -> None:
    second = ("loa.xa-mau.vn", "loa.xa-mau.vn/alert/5c3d", SENT + timedelta(minutes=1))
    document = write_cap(alert(msg_type="Update", references=[FIRST, second]))
    assert (
        b"<references>loa.xa-mau.vn,loa.xa-mau.vn/alert/4f2a,2026-11-23T14:05:09+07:00 "
        b"loa.xa-mau.vn,loa.xa-mau.vn/alert/5c3d,2026-11-23T14:06:09+07:00</references>"
    ) in document


def test_markup_and_control_characters_in_a_text_cannot_break_the_document() -> None:
    typed = "Mực nước <b>3,5 m</b> & còn lên\x00\x1b\r\nHết.\ufffe"
    document = write_cap(alert(infos=[info(description=typed)]))
    assert_valid_cap(document)
    assert parse_cap(document).infos[0].description == "Mực nước <b>3,5 m</b> & còn lên\nHết."


@given(st.text(max_size=200))
def test_any_typed_text_reads_back_as_cleaned(text: str) -> None:
    document = write_cap(alert(infos=[info(description=text)]))
    assert parse_cap(document).infos[0].description == (clean_text(text) or None)


@pytest.mark.parametrize(
    ("field", "value"),
    [("identifier", "xa mau 1"), ("identifier", "a,b"), ("sender", "<loa>"), ("sender", "a&b")],
)
def test_an_identity_cap_cannot_carry_is_refused(field: str, value: str) -> None:
    with pytest.raises(CapError, match="cannot be a CAP sender or identifier"):
        write_cap(alert(**{field: value}))
