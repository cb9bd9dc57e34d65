from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from controller.emergency.cap import (
    CapError,
    decide,
    is_duplicate,
    key_string,
    parse_cap,
    preferred_info,
    priority_for,
    risk_level,
    speech_text,
)
from tests.support.cap import SAMPLES, alert_xml, info_xml

ICT = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=ICT)
REF = "pctt@thuathienhue.gov.vn,VN-TTH-1,2026-11-23T14:00:00+07:00"
REF_KEY = ("pctt@thuathienhue.gov.vn", "VN-TTH-1", datetime(2026, 11, 23, 14, tzinfo=ICT))


def test_vietnamese_info_preferred_over_english_listed_first() -> None:
    alert = parse_cap((SAMPLES / "storm_hue.xml").read_bytes())
    assert alert.infos[0].language == "en-US"
    assert preferred_info(alert).event == "Bão"


@pytest.mark.parametrize("lang", ["vi", "VI-vn"])
def test_vietnamese_language_tags(lang: str) -> None:
    en = info_xml(language="en-US", event="Flood")
    alert = parse_cap(alert_xml(infos=(en, info_xml(language=lang, event="Lũ"))))
    assert preferred_info(alert).event == "Lũ"


def test_first_info_when_no_vietnamese() -> None:
    infos = (info_xml(language=None, event="Flood"), info_xml(language="fr", event="Crue"))
    assert preferred_info(parse_cap(alert_xml(infos=infos))).event == "Flood"


def test_no_info_has_nothing_to_prefer() -> None:
    with pytest.raises(CapError, match="no <info>"):
        preferred_info(parse_cap(alert_xml(infos=())))


@pytest.mark.parametrize(
    ("severity", "urgency", "expected"),
    [
        ("Extreme", "Immediate", "emergency"),
        ("Extreme", "Expected", "emergency"),
        ("Severe", "Immediate", "emergency"),
        ("Severe", "Expected", "emergency"),
        ("Extreme", "Future", "priority"),
        ("Severe", "Unknown", "priority"),
        ("Moderate", "Immediate", "priority"),
        ("Moderate", "Future", "priority"),
        ("Minor", "Immediate", "normal"),
        ("Unknown", "Expected", "normal"),
        ("Minor", "Future", "normal"),
        ("Extreme", "Past", "normal"),
        ("Moderate", "Past", "normal"),
    ],
)
def test_severity_urgency_table(severity: str, urgency: str, expected: str) -> None:
    info = parse_cap(alert_xml(infos=(info_xml(severity=severity, urgency=urgency),))).infos[0]
    assert priority_for(info) == expected


@pytest.mark.parametrize(
    ("name", "value", "level"),
    [
        ("capDoRuiRo", "3", 3),
        ("disasterRiskLevel", "5", 5),
        ("cap_do_rui_ro", "Cấp 2", 2),
        ("Cấp độ rủi ro thiên tai", "cấp độ 4", 4),
        ("capDoRuiRo", "7", None),
        ("capDoRuiRo", "cao", None),
        ("windSpeed", "3", None),
    ],
)
def test_risk_level_parameter(name: str, value: str, level: int | None) -> None:
    info = parse_cap(alert_xml(infos=(info_xml(parameters={name: value}),))).infos[0]
    assert risk_level(info) == level


@pytest.mark.parametrize(
    ("level", "severity", "urgency", "expected"),
    [
        ("3", "Minor", "Future", "emergency"),  # the state's level ≥ 3 raises to emergency
        ("5", "Unknown", "Unknown", "emergency"),
        ("2", "Minor", "Immediate", "priority"),  # lower levels lift normal to priority
        ("1", "Unknown", "Past", "priority"),
        ("1", "Extreme", "Immediate", "emergency"),  # and never lower the table's answer
    ],
)
def test_risk_level_raises_priority(level: str, severity: str, urgency: str, expected: str) -> None:
    xml = info_xml(severity=severity, urgency=urgency, parameters={"capDoRuiRo": level})
    assert priority_for(parse_cap(alert_xml(infos=(xml,))).infos[0]) == expected


def test_new_actual_alert_airs_with_priority() -> None:
    decision = decide(parse_cap((SAMPLES / "storm_hue.xml").read_bytes()), NOW)
    assert (decision.action, decision.priority) == ("air", "emergency")


@pytest.mark.parametrize("status", ["Test", "Exercise", "System", "Draft"])
def test_non_actual_is_logged_not_aired(status: str) -> None:
    decision = decide(parse_cap(alert_xml(status=status)), NOW)
    assert decision.action == "log_only"
    assert decision.reason == f"status {status}: logged, not aired"
    assert decision.priority == "emergency"  # kept for nodes marked to play tests


def test_non_actual_cancel_is_still_log_only() -> None:
    decision = decide(parse_cap(alert_xml(status="Test", msg_type="Cancel", references=REF)), NOW)
    assert decision.action == "log_only"


def test_cancel_carries_referenced_keys() -> None:
    alert = parse_cap(alert_xml(identifier="VN-TTH-2", msg_type="Cancel", references=REF))
    decision = decide(alert, NOW)
    assert decision.action == "cancel"
    assert decision.references == [REF_KEY]


def test_cancel_honoured_even_if_expired() -> None:
    infos = (info_xml(expires="2026-11-23T10:00:00+07:00"),)
    alert = parse_cap(alert_xml(msg_type="Cancel", references=REF, infos=infos))
    assert decide(alert, NOW).action == "cancel"


def test_cancel_without_references_is_ignored() -> None:
    decision = decide(parse_cap(alert_xml(msg_type="Cancel")), NOW)
    assert decision.action == "ignore"
    assert "without <references>" in decision.reason


def test_update_carries_referenced_keys_and_priority() -> None:
    alert = parse_cap(alert_xml(identifier="VN-TTH-2", msg_type="Update", references=REF))
    decision = decide(alert, NOW)
    assert (decision.action, decision.references, decision.priority) == (
        "update",
        [REF_KEY],
        "emergency",
    )


def test_expired_when_every_info_expired() -> None:
    infos = (
        info_xml(language="en-US", expires="2026-11-23T12:00:00+07:00"),
        info_xml(expires="2026-11-23T07:59:00Z"),  # 14:59 ICT, a minute before NOW
    )
    decision = decide(parse_cap(alert_xml(infos=infos)), NOW)
    assert decision.action == "expired"
    assert "2026-11-23T07:59:00+00:00" in decision.reason


def test_not_expired_while_one_info_still_valid_or_open_ended() -> None:
    past, future = "2026-11-23T12:00:00+07:00", "2026-11-23T18:00:00+07:00"
    mixed = (info_xml(language="en-US", expires=past), info_xml(expires=future))
    open_ended = (info_xml(language="en-US", expires=past), info_xml())
    assert decide(parse_cap(alert_xml(infos=mixed)), NOW).action == "air"
    assert decide(parse_cap(alert_xml(infos=open_ended)), NOW).action == "air"


@pytest.mark.parametrize("msg_type", ["Ack", "Error"])
def test_ack_and_error_are_ignored(msg_type: str) -> None:
    assert decide(parse_cap(alert_xml(msg_type=msg_type, references=REF)), NOW).action == "ignore"


def test_alert_without_info_is_ignored() -> None:
    assert decide(parse_cap(alert_xml(infos=())), NOW).action == "ignore"


def test_speech_text_joins_and_strips() -> None:
    info = preferred_info(parse_cap((SAMPLES / "storm_hue.xml").read_bytes()))
    assert speech_text(info) == (
        "Bão số 9 đang tiến vào Huế. Trong 6 giờ tới gió mạnh cấp 12, giật cấp 14. "
        "Người dân khẩn trương vào nơi trú ẩn an toàn."
    )


def test_speech_text_falls_back_to_event() -> None:
    info = parse_cap(alert_xml(infos=(info_xml(headline=" "),))).infos[0]
    assert speech_text(info) == "Lũ."


def test_duplicate_key_matches_across_offsets() -> None:
    first = parse_cap(alert_xml())
    again = parse_cap(alert_xml(sent="2026-11-23T07:00:00Z"))  # same instant, other spelling
    later = parse_cap(alert_xml(sent="2026-11-23T14:05:00+07:00"))
    seen = {key_string(first.key)}
    assert key_string(first.key) == "pctt@thuathienhue.gov.vn,VN-TTH-1,2026-11-23T07:00:00+00:00"
    assert is_duplicate(again.key, seen)
    assert not is_duplicate(later.key, seen)
    assert key_string(REF_KEY) == key_string(first.key)  # a Cancel's reference finds the original


def test_decide_expects_aware_now() -> None:
    infos = (info_xml(expires="2026-11-23T12:00:00+07:00"),)
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(parse_cap(alert_xml(infos=infos)), datetime(2026, 11, 23, 15))
    assert decide(parse_cap(alert_xml(infos=infos)), datetime.now(UTC)).action == "expired"


def test_expired_update_still_names_what_it_supersedes() -> None:
    infos = (info_xml(expires="2026-11-23T12:00:00+07:00"),)
    alert = parse_cap(alert_xml(msg_type="Update", references=REF, infos=infos))
    decision = decide(alert, NOW)
    assert (decision.action, decision.references) == ("expired", [REF_KEY])
