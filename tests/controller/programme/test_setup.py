"""Making, changing and removing slots, quiet hours and items on a real database: a refused
change stores nothing and audits nothing; an accepted one is stored, audited and carried out."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from controller import programme
from controller.models import AuditEntry, Bulletin, Delivery, ProgrammeDocument, now
from controller.ops import demo
from schedules import LOCAL, QuietHours, Recurrence, Slot
from tests.controller.commune import Commune

GRACE = timedelta(minutes=10)
MORNING = Slot(
    id="sang",
    name="Bản tin sáng",
    start=dt.time(6),
    max_length_s=1800,
    zones=["thon-dong", "thon-tay"],
)


def state(commune: Commune) -> tuple[object, int]:
    """The stored programme and how many audit entries there are."""
    with commune.db.session() as s:
        row = s.get(ProgrammeDocument, 1)
        return (row.document if row else None), s.scalar(
            select(func.count()).select_from(AuditEntry)
        ) or 0


def refused(commune: Commune, dispatcher, call, *args: object) -> list[programme.Refusal]:
    before = state(commune)
    with pytest.raises(programme.ProgrammeRefusedError) as caught, commune.db.session() as s:
        call(s, dispatcher, GRACE, "pheduyet", *args)
    assert state(commune) == before  # nothing changed, nothing audited
    return caught.value.refusals


def test_a_slot_is_added_changed_and_removed_with_an_audit_entry_each(commune, dispatcher):
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", MORNING)
    later = MORNING.model_copy(update={"start": dt.time(6, 30)})
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", later)
        assert programme.load(s).slots == [later]
    with commune.db.session() as s:
        programme.remove_slot(s, dispatcher, GRACE, "pheduyet", "sang")
        assert programme.load(s).slots == []
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-3:] == ["programme.slot.add", "programme.slot.change", "programme.slot.remove"]


def test_an_overlapping_slot_or_an_unknown_zone_is_refused_by_field(commune, dispatcher):
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", MORNING)
    clash = Slot(id="moi", name="Mới", start=dt.time(6, 10), max_length_s=600, zones=["thon-tay"])
    (why,) = refused(commune, dispatcher, programme.save_slot, clash)
    assert why.field == "start"
    assert "Bản tin sáng" in why.message_vi
    nowhere = clash.model_copy(update={"start": dt.time(9), "zones": ["thon-khong-co"]})
    (why,) = refused(commune, dispatcher, programme.save_slot, nowhere)
    assert why.field == "zones"
    assert "thon-khong-co" in why.message_vi


def place_in_slot(commune: Commune, dispatcher, slot_id: str) -> str:
    bulletin = commune.bulletin(valid_for=timedelta(days=2))
    with commune.db.session() as s:
        item = programme.build_item(
            s.get_one(Bulletin, bulletin.id),
            slot_id=slot_id,
            recurrence=Recurrence(kind="daily", start_date=dt.datetime.now(LOCAL).date()),
        )
        programme.save_item(s, dispatcher, GRACE, "pheduyet", item)
    return item.id


def test_a_slot_with_items_cannot_be_removed_nor_shrunk_below_them(commune, dispatcher):
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", MORNING)
    place_in_slot(commune, dispatcher, "sang")
    (why,) = refused(commune, dispatcher, programme.remove_slot, "sang")
    assert why.field == "slot"
    assert "còn 1 tin" in why.message_vi
    tiny = MORNING.model_copy(update={"max_length_s": 1})
    (why,) = refused(commune, dispatcher, programme.save_slot, tiny)
    assert why.field == "end"
    assert "vượt" in why.message_vi


def test_moving_a_slot_re_times_its_airings_on_the_nodes(commune, dispatcher):
    start = (now() + timedelta(hours=2)).astimezone(LOCAL).replace(second=0, microsecond=0)
    slot = MORNING.model_copy(update={"start": start.time()})
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", slot)
    item_id = place_in_slot(commune, dispatcher, "sang")
    moved = slot.model_copy(update={"start": (start + timedelta(minutes=40)).time()})
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", moved)
    with commune.db.session() as s:
        rows = s.scalars(select(Delivery).where(Delivery.play_id.startswith(f"p-{item_id}."))).all()
    by_status = {d.status for d in rows if d.play_id.endswith(f"{start:%H%M%S}")}
    assert by_status == {"cancelled"}
    assert any(d.play_id.endswith(f"{start + timedelta(minutes=40):%H%M%S}") for d in rows)


def test_quiet_hours_that_would_silence_a_slot_are_refused_and_lifting_them_is_audited(
    commune, dispatcher
):
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", MORNING)
    over = QuietHours(start=dt.time(21, 30), end=dt.time(6, 15))
    (why,) = refused(commune, dispatcher, programme.set_quiet_hours, over)
    assert why.field == "quiet"
    assert "Bản tin sáng" in why.message_vi
    fine = QuietHours(start=dt.time(21, 30), end=dt.time(5))
    with commune.db.session() as s:
        programme.set_quiet_hours(s, dispatcher, GRACE, "pheduyet", fine)
        programme.set_quiet_hours(s, dispatcher, GRACE, "pheduyet", None)
        assert programme.load(s).quiet_hours is None
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "programme.quiet_hours")
        ).all()
    assert [e.detail["quiet"] for e in entries] == [
        {"start": "21:30:00", "end": "05:00:00"},
        None,
    ]


def test_changing_an_item_keeps_its_id_and_refuses_an_end_before_its_start(commune, dispatcher):
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", MORNING)
    item_id = place_in_slot(commune, dispatcher, "sang")
    with commune.db.session() as s:
        item = next(i for i in programme.load(s).items if i.id == item_id)
    first = item.recurrence.start_date
    backwards = item.model_copy(
        update={
            "recurrence": Recurrence(
                kind="daily", start_date=first, end_date=first - timedelta(days=1)
            )
        }
    )
    (why,) = refused(commune, dispatcher, programme.save_item, backwards)
    assert why.field == "until"
    weekly = item.model_copy(
        update={"recurrence": Recurrence(kind="weekly", start_date=first, weekdays=frozenset({0}))}
    )
    with commune.db.session() as s:
        programme.save_item(s, dispatcher, GRACE, "pheduyet", weekly)
        assert [i.recurrence.kind for i in programme.load(s).items] == ["weekly"]
        assert s.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())).first() == (
            "programme.change"
        )


def test_the_demo_seeds_the_morning_and_evening_slots_once(commune):
    assert demo.seed_programme(commune.config)
    with commune.db.session() as s:
        slots = programme.load(s).slots
    assert [(x.name, f"{x.start:%H:%M}", x.max_length_s, len(x.weekdays)) for x in slots] == [
        ("Bản tin sáng", "06:00", 1800, 7),
        ("Bản tin chiều", "17:00", 1800, 7),
    ]
    assert all(x.zones == ["thon-dong", "thon-tay"] for x in slots)
    with commune.db.session() as s:  # a programme the commune emptied stays empty
        programme.save(s, programme.load(s).model_copy(update={"slots": []}))
    assert not demo.seed_programme(commune.config)
    with commune.db.session() as s:
        assert programme.load(s).slots == []


def test_only_an_approved_bulletin_can_be_placed(commune, dispatcher):
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", MORNING)
    draft = commune.bulletin(status="draft")
    with commune.db.session() as s:
        item = programme.build_item(
            s.get_one(Bulletin, draft.id),
            slot_id="sang",
            recurrence=Recurrence(kind="daily", start_date=dt.datetime.now(LOCAL).date()),
        )
        assert not programme.repeatable(s, s.get_one(Bulletin, draft.id))
        assert draft.id not in {b.id for b in programme.repeatable_bulletins(s)}
    (why,) = refused(commune, dispatcher, programme.save_item, item)
    assert why.field == "bulletin"
    assert "đã duyệt" in why.message_vi
