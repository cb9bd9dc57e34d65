from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from controller.emergency.cap import CapError, parse_cap
from tests.support.cap import SAMPLES, alert_xml, info_xml

ICT = timezone(timedelta(hours=7))


def test_sample_parses_every_field() -> None:
    alert = parse_cap((SAMPLES / "storm_hue.xml").read_bytes())
    assert alert.key == (
        "pctt@thuathienhue.gov.vn",
        "VN-TTH-2026-0142",
        datetime(2026, 11, 23, 7, 0, tzinfo=UTC),
    )
    assert (alert.status, alert.msg_type, alert.scope) == ("Actual", "Alert", "Public")
    assert [i.language for i in alert.infos] == ["en-US", "vi-VN"]
    vi = alert.infos[1]
    assert vi.categories == ["Met"]
    assert (vi.urgency, vi.severity, vi.certainty) == ("Immediate", "Extreme", "Observed")
    assert vi.expires == datetime(2026, 11, 24, 14, 0, tzinfo=ICT)
    assert vi.parameters == {"capDoRuiRo": "4"}
    (area,) = vi.areas
    assert area.area_desc == "Thành phố Huế"
    assert area.polygons[0][0] == (16.40, 107.50)
    assert area.polygons[0][0] == area.polygons[0][-1]
    assert area.circles == [(16.46, 107.59, 5.0)]
    assert area.geocodes == [("VN-ward", "19804")]


def test_missing_language_defaults_to_en_us() -> None:
    alert = parse_cap(alert_xml(infos=(info_xml(language=None),)))
    assert alert.infos[0].language == "en-US"


def test_references_parsed_into_keys() -> None:
    refs = (
        "pctt@thuathienhue.gov.vn,VN-TTH-1,2026-11-23T14:00:00+07:00 "
        "pctt@thuathienhue.gov.vn,VN-TTH-2,2026-11-23T15:00:00+07:00"
    )
    alert = parse_cap(alert_xml(identifier="VN-TTH-3", msg_type="Update", references=refs))
    assert alert.references == [
        ("pctt@thuathienhue.gov.vn", "VN-TTH-1", datetime(2026, 11, 23, 14, tzinfo=ICT)),
        ("pctt@thuathienhue.gov.vn", "VN-TTH-2", datetime(2026, 11, 23, 15, tzinfo=ICT)),
    ]


def test_malformed_xml_names_line_and_column() -> None:
    with pytest.raises(CapError, match=r"malformed XML at line 2, column \d+"):
        parse_cap(b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">\n<identifier>x</sender>')


def test_cap_1_1_namespace_is_unsupported() -> None:
    with pytest.raises(CapError, match=r"unsupported namespace .*cap:1\.1"):
        parse_cap((SAMPLES / "cap11_alert.xml").read_bytes())


def test_no_namespace_is_unsupported() -> None:
    with pytest.raises(CapError, match="unsupported namespace 'no namespace'"):
        parse_cap(alert_xml(ns=""))


def test_wrong_root_element() -> None:
    with pytest.raises(CapError, match="root element is <feed>"):
        parse_cap(b'<feed xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>')


def test_missing_identifier() -> None:
    with pytest.raises(CapError, match=r"missing required element <identifier> in alert"):
        parse_cap(alert_xml(identifier=None))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "Real"}, r"invalid <status> 'Real'"),
        ({"msg_type": "Warning"}, r"invalid <msgType> 'Warning'"),
        ({"scope": "Everyone"}, r"invalid <scope> 'Everyone'"),
        ({"sent": "2026-11-23T14:00:00"}, r"has no time-zone offset"),
        ({"sent": "23/11/2026 14:00"}, r"bad datetime '23/11/2026 14:00' in alert/sent"),
        ({"references": "onlytwo,parts"}, r"bad <references> entry 'onlytwo,parts'"),
    ],
)
def test_bad_alert_fields(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(CapError, match=message):
        parse_cap(alert_xml(**kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"category": None}, r"missing required element <category> in info\[0\]"),
        ({"category": "Weather"}, r"invalid <category> 'Weather'"),
        ({"event": ""}, r"missing required element <event> in info\[0\]"),
        ({"urgency": "Now"}, r"invalid <urgency> 'Now'"),
        ({"severity": "Huge"}, r"invalid <severity> 'Huge'"),
        ({"certainty": "Very Likely"}, r"invalid <certainty> 'Very Likely'"),
        ({"expires": "tomorrow"}, r"bad datetime 'tomorrow' in info\[0\]/expires"),
    ],
)
def test_bad_info_fields(kwargs: dict[str, str | None], message: str) -> None:
    with pytest.raises(CapError, match=message):
        parse_cap(alert_xml(infos=(info_xml(**kwargs),)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("area", "message"),
    [
        (
            "<polygon>16.40,107.50 16.40,107.70 16.55,107.70</polygon>",
            "needs at least 4 points",
        ),
        (
            "<polygon>16.40,107.50 16.40,107.70 16.55,107.70 16.55,107.50</polygon>",
            "first and last points must be the same",
        ),
        ("<polygon>16.40;107.50 16.40,107.70 16.55,107.70 16.40;107.50</polygon>", "lat,lon"),
        ("<polygon>96.4,107.5 16.4,107.7 16.5,107.7 96.4,107.5</polygon>", "out of range"),
        ("<circle>16.46,107.59</circle>", "expected 'lat,lon radius_km'"),
        ("<circle>16.46,107.59 -3</circle>", "must be >= 0 km"),
        ("<circle>16.46,107.59 five</circle>", "bad <circle> radius 'five'"),
        ("<geocode><valueName>VN-ward</valueName></geocode>", "needs both <valueName>"),
    ],
)
def test_bad_area_geometry(area: str, message: str) -> None:
    xml = f"<area><areaDesc>Huế</areaDesc>{area}</area>"
    with pytest.raises(CapError, match=message):
        parse_cap(alert_xml(infos=(info_xml(area=xml),)))


def test_area_without_desc() -> None:
    with pytest.raises(CapError, match=r"missing required element <areaDesc> in info\[0\]/area"):
        parse_cap(alert_xml(infos=(info_xml(area="<area><circle>16,107 1</circle></area>"),)))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol4;</identifier></alert>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""

DTD_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://attacker.invalid/cap.dtd">
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY, DTD_ONLY])
def test_entity_and_dtd_attacks_are_refused(xml: bytes) -> None:
    with pytest.raises(CapError, match="refused unsafe XML"):
        parse_cap(xml)
