"""Which relay windows the scheduler starts: the one running now, once, as an active account."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from controller.models import RelayRun, User
from controller.relay import store
from controller.relay.scheduler import due
from schedules import LOCAL

SIX = dt.datetime(2026, 12, 7, 6, 10, tzinfo=LOCAL)


def add(commune, relay_id: str = "vov1-sang", **change: object) -> None:
    data: dict[str, object] = {
        "id": relay_id,
        "title": "VOV1 thời sự",
        "url": "https://radio.vov.vn/vov1.mp3",
        "duration_s": 1800,
        "recurrence": {"kind": "daily", "start_date": "2026-12-01", "at": "06:00"},
        "zones": ["thon-dong"],
        **change,
    }
    with commune.db.session() as s:
        store.save(
            s,
            commune.config,
            commune.user("pheduyet"),
            store.parse(data),
            new=True,
            resolver=lambda host, port: ["203.113.131.1"],
        )


def test_the_window_running_now_is_due_with_its_points(commune):
    add(commune)
    add(
        commune,
        "tinh-chieu",
        recurrence={"kind": "daily", "start_date": "2026-12-01", "at": "18:00"},
    )
    with commune.db.session() as s:
        [(user, item, window, targets)] = due(s, SIX, set())
    assert (user.username, item.id) == ("pheduyet", "vov1-sang")
    assert window.start == dt.datetime(2026, 12, 7, 6, 0, tzinfo=LOCAL)
    assert targets == commune.nodes_in("thon-dong")
    with commune.db.session() as s:
        assert due(s, SIX, {("vov1-sang", window.start)}) == []  # running here already
        assert due(s, SIX + dt.timedelta(minutes=25), set()) == []  # the window is over


def test_a_window_aired_to_its_end_is_not_started_again(commune):
    add(commune)
    with commune.db.session() as s:
        [(_u, _i, window, _t)] = due(s, SIX, set())
        s.add(RelayRun(relay_id="vov1-sang", window_start=window.start, window_end=window.end))
    with commune.db.session() as s:
        assert len(due(s, SIX, set())) == 1  # a run left "running" by a crash: join again
        s.execute(update(RelayRun).values(status="interrupted"))
    with commune.db.session() as s:
        assert len(due(s, SIX, set())) == 1  # the controller stopped mid-window: join again
        s.execute(update(RelayRun).values(status="finished"))
    with commune.db.session() as s:
        assert due(s, SIX, set()) == []
        assert len(due(s, SIX + dt.timedelta(days=1), set())) == 1  # tomorrow's window


def test_a_relay_made_by_an_account_since_disabled_does_not_go_live(commune):
    add(commune)
    with commune.db.session() as s:
        approver = s.scalar(select(User).where(User.username == "pheduyet"))
        assert approver is not None
        approver.active = False
    with commune.db.session() as s:
        assert due(s, SIX, set()) == []
