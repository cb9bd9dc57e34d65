"""Relays made, changed and removed: who may, what is checked, what the audit log says."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from controller.errors import ForbiddenError, InvalidInputError, NotFoundError
from controller.models import AuditEntry, Relay
from controller.relay import store
from schedules import RelayItem


def public(host: str, port: int) -> list[str]:
    return {"radio.vov.vn": ["203.113.131.1"]}.get(host, ["127.0.0.1"])


def vov1(**change: object) -> RelayItem:
    data: dict[str, object] = {
        "id": "vov1-sang",
        "title": "VOV1 thời sự",
        "url": "https://radio.vov.vn/vov1.mp3",
        "duration_s": 1800,
        "recurrence": {"kind": "daily", "start_date": dt.date(2026, 12, 7), "at": "06:00"},
        "zones": ["thon-dong"],
        **change,
    }
    return store.parse(data)


def audit_actions(commune) -> list[tuple[str, str, str]]:
    with commune.db.session() as s:
        return [(a.actor, a.action, a.target) for a in s.scalars(select(AuditEntry))]


def test_an_approver_makes_changes_and_removes_a_relay_each_audited(commune):
    approver = commune.user("pheduyet")
    with commune.db.session() as s:
        store.save(s, commune.config, approver, vov1(), new=True, resolver=public)
    with commune.db.session() as s:
        store.save(s, commune.config, approver, vov1(duration_s=900), new=False, resolver=public)
    with commune.db.session() as s:
        [row] = store.all_relays(s)
        assert (row.duration_s, row.zones, row.recurrence["at"]) == (900, ["thon-dong"], "06:00:00")
        assert store.to_item(row).window_at(
            dt.datetime(2026, 12, 8, 6, 10, tzinfo=dt.timezone(dt.timedelta(hours=7)))
        )
    with commune.db.session() as s:
        store.remove(s, approver, "vov1-sang")
    with commune.db.session() as s:
        assert store.all_relays(s) == []
    actions = [a for a in audit_actions(commune) if a[1].startswith("relay.")]
    assert actions == [
        ("pheduyet", "relay.add", "vov1-sang"),
        ("pheduyet", "relay.change", "vov1-sang"),
        ("pheduyet", "relay.remove", "vov1-sang"),
    ]


@pytest.mark.parametrize(
    ("item", "error", "code"),
    [
        ({"url": "http://127.0.0.1:1883/"}, InvalidInputError, "relay.internal"),
        ({"url": "file:///etc/passwd"}, InvalidInputError, "relay.scheme"),
        ({"zones": ["khong-co"]}, InvalidInputError, "targets.unknown_zone"),
    ],
)
def test_a_bad_relay_is_refused_and_changes_nothing(commune, item, error, code):
    admin = commune.user("admin")
    with commune.db.session() as s, pytest.raises(error) as refused:
        store.save(s, commune.config, admin, vov1(**item), new=True, resolver=public)
    assert refused.value.code == code
    with commune.db.session() as s:
        assert s.scalars(select(Relay)).all() == []
    assert not [a for a in audit_actions(commune) if a[1].startswith("relay.")]


def test_a_broadcaster_may_not_schedule_a_relay(commune):
    with commune.db.session() as s, pytest.raises(ForbiddenError):
        store.save(s, commune.config, commune.user("phatthanh"), vov1(), new=True, resolver=public)


def test_a_duplicate_or_a_missing_relay_is_said_so(commune):
    admin = commune.user("admin")
    with commune.db.session() as s:
        store.save(s, commune.config, admin, vov1(), new=True, resolver=public)
    with commune.db.session() as s, pytest.raises(InvalidInputError, match="exists"):
        store.save(s, commune.config, admin, vov1(), new=True, resolver=public)
    with commune.db.session() as s, pytest.raises(NotFoundError):
        store.save(s, commune.config, admin, vov1(id="khac"), new=False, resolver=public)
    with commune.db.session() as s, pytest.raises(NotFoundError):
        store.remove(s, admin, "khac")


def test_bad_input_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="duration_s"):
        vov1(duration_s=-5)


def test_a_relay_meeting_another_on_a_shared_point_is_refused(commune):
    """A point plays one station at a time: a window over another relay's on a village they
    share is refused (by the start field), nothing changes; elsewhere, or itself, it is fine."""
    admin = commune.user("admin")
    with commune.db.session() as s:
        store.save(s, commune.config, admin, vov1(), new=True, resolver=public)
    tinh = {"id": "dai-tinh", "title": "Đài tỉnh", "duration_s": 600}
    clash = {
        "recurrence": {"kind": "weekly", "weekdays": [2], "start_date": "2026-12-07", "at": "06:20"}
    }
    with commune.db.session() as s, pytest.raises(InvalidInputError) as refused:
        store.save(s, commune.config, admin, vov1(**tinh, **clash), new=True, resolver=public)
    assert (refused.value.code, refused.value.field) == ("relay.overlap", "start")
    assert "«VOV1 thời sự» (06:00–06:30 ngày" in refused.value.vi
    with commune.db.session() as s:
        assert [r.id for r in store.all_relays(s)] == ["vov1-sang"]
    elsewhere = {**tinh, **clash, "zones": ["thon-tay"]}
    with commune.db.session() as s:
        store.save(s, commune.config, admin, vov1(**elsewhere), new=True, resolver=public)
    moved = vov1(**tinh, **clash)  # onto the first one's village: refused again
    with commune.db.session() as s, pytest.raises(InvalidInputError, match="overlaps"):
        store.save(s, commune.config, admin, moved, new=False, resolver=public)
    with commune.db.session() as s:  # a relay never clashes with its own old window
        store.save(s, commune.config, admin, vov1(duration_s=900), new=False, resolver=public)
    with commune.db.session() as s:
        rows = {r.id: (r.zones, r.duration_s) for r in store.all_relays(s)}
    assert rows == {"vov1-sang": (["thon-dong"], 900), "dai-tinh": (["thon-tay"], 600)}
