from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from schedules import Programme, QuietHours, Recurrence, priority_label_vi
from tests.support.programme import item, once, programme


def test_vietnamese_labels() -> None:
    assert priority_label_vi("emergency") == "khẩn cấp"
    assert priority_label_vi("priority") == "ưu tiên"
    assert priority_label_vi("normal") == "thông thường"
    assert priority_label_vi("filler") == "chương trình đệm"


def test_emergency_rejected_in_programme() -> None:
    with pytest.raises(ValidationError, match="emergency items play at once"):
        programme(item("e", slot_id="sang", priority="emergency"))


def test_item_placement_rules() -> None:
    with pytest.raises(ValidationError, match=r"recurrence\.at is required"):
        item("x", nodes=["n1"], recurrence=once(dt.date(2026, 3, 1)))
    with pytest.raises(ValidationError, match=r"recurrence\.at must be unset"):
        item("x", slot_id="sang", recurrence=once(dt.date(2026, 3, 1), dt.time(6)))
    with pytest.raises(ValidationError, match="give zones and/or nodes"):
        item("x", recurrence=once(dt.date(2026, 3, 1), dt.time(6)))
    with pytest.raises(ValidationError, match="pattern"):
        item("có dấu", slot_id="sang")


def test_recurrence_rules() -> None:
    with pytest.raises(ValidationError, match="needs weekdays"):
        Recurrence(kind="weekly", start_date=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError, match="needs month_days"):
        Recurrence(kind="monthly", start_date=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError, match="month_days"):
        Recurrence(kind="monthly", month_days=frozenset({32}), start_date=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError, match="Extra inputs"):
        Recurrence.model_validate({"kind": "daily", "start_date": "2026-03-01", "every": 2})


def test_programme_consistency() -> None:
    with pytest.raises(ValidationError, match="unknown slot 'toi'"):
        programme(item("a", slot_id="toi"))
    with pytest.raises(ValidationError, match="duplicate item id 'a'"):
        programme(item("a", slot_id="sang"), item("a", slot_id="sang"))
    with pytest.raises(ValidationError, match="unknown timezone"):
        Programme(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="must differ"):
        QuietHours(start=dt.time(5), end=dt.time(5))


def test_models_are_frozen() -> None:
    it = item("a", slot_id="sang")
    with pytest.raises(ValidationError, match="Instance is frozen"):
        it.title = "khác"  # type: ignore[misc]
