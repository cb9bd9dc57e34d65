"""Every timed thing for the calendar, from each source, with its status in one word."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from sqlalchemy import select

from controller import programme
from controller.models import Bulletin, Delivery, Node, Zone, now
from controller.programme.timed import TimedThing, delivery_status, timed_things
from schedules import LOCAL, Recurrence, Slot
from tests.controller.commune import Commune

GRACE = timedelta(minutes=10)


def test_one_word_for_an_airing_from_its_deliveries():
    assert delivery_status([], future=True) == "planned"
    assert delivery_status([], future=False) == "not_sent"
    assert delivery_status(["queued", "acknowledged"], future=True) == "waiting"
    assert delivery_status(["started", "finished"], future=False) == "playing"
    assert delivery_status(["finished"], future=False) == "played"
    assert delivery_status(["finished", "failed"], future=False) == "partly"
    assert delivery_status(["expired", "failed"], future=False) == "missed"
    assert delivery_status(["cancelled"], future=False) == "cancelled"


def window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=LOCAL)
    return start, start + timedelta(days=1)


def test_airings_bulletins_awaiting_approval_and_more_sources(commune: Commune, dispatcher):
    tomorrow = now().astimezone(LOCAL).date() + timedelta(days=1)
    slot = Slot(
        id="sang", name="Bản tin sáng", start=dt.time(6), max_length_s=1800, zones=["thon-dong"]
    )
    asked = commune.bulletin(valid_for=timedelta(days=3))
    waiting = commune.bulletin(valid_for=timedelta(days=3))
    at = dt.datetime.combine(tomorrow, dt.time(1, 2), tzinfo=LOCAL)
    with commune.db.session() as s:
        programme.save_slot(s, dispatcher, GRACE, "pheduyet", slot)
        item = programme.build_item(
            s.get_one(Bulletin, asked.id),
            slot_id="sang",
            recurrence=Recurrence(kind="daily", start_date=tomorrow),
        )
        programme.save_item(s, dispatcher, GRACE, "pheduyet", item)
        pending = s.get_one(Bulletin, waiting.id)
        pending.status = "pending"
        pending.request = {
            "where": {"zones": ["thon-tay"]},
            "when": {"kind": "at", "at": at.isoformat()},
            "priority": "normal",
        }
    start, end = window(tomorrow)
    with commune.db.session() as s:
        found = timed_things(s, start, end)
    assert [(t.kind, t.start.astimezone(LOCAL).time(), t.status) for t in found] == [
        ("bulletin", dt.time(1, 2), "awaiting_review"),
        ("slot_item", dt.time(6), "waiting"),  # within 48 h: already sent to the points
    ]
    assert found[0].node_ids == tuple(commune.nodes_in("thon-tay"))
    assert found[1].slot_name == "Bản tin sáng"
    assert found[1].repeats

    relay = TimedThing(
        kind="alert",
        start=start + timedelta(hours=20),
        duration_s=60,
        title="nguồn khác",
        status="planned",
        node_ids=(),
        ref=("alert", "x"),
    )
    with commune.db.session() as s:  # the seam: another source is one more function
        more = timed_things(s, start, end, sources=[lambda *_: [relay]])
    assert more == [relay]


def test_a_live_session_shows_who_spoke_where_and_how_many_points_carried_it(commune: Commune):
    """A live session kept as a bulletin of kind "live" is its own source, not a timed bulletin."""
    went_live = now() - timedelta(hours=1)
    with commune.db.session() as s:
        points = sorted(s.scalars(select(Node.id).join(Zone).where(Zone.code == "thon-dong")))
    assert len(points) == 2
    live = commune.bulletin(
        kind="live",
        status="sent",
        play_at=went_live,
        request={"targets": points, "reason": ""},
    )
    with commune.db.session() as s:
        for node_id, status in zip(points, ("finished", "failed"), strict=True):
            s.add(
                Delivery(
                    play_id="live-1",
                    bulletin_id=live.id,
                    node_id=node_id,
                    valid_until=now(),
                    status=status,
                )
            )
    start, end = window(went_live.astimezone(LOCAL).date())
    with commune.db.session() as s:
        found = [t for t in timed_things(s, start, end) if t.ref == ("bulletin", live.id)]
        speaker = commune.user("phatthanh")
    assert len(found) == 1, found  # not also listed as a bulletin set for a time
    (thing,) = found
    assert thing.kind == "live"
    assert thing.by == (speaker.display_name or speaker.username)
    assert thing.node_ids == tuple(points)
    assert thing.carried == 1
    assert thing.status == "partly"
    assert thing.start == went_live


def test_a_relay_shows_each_window_planned_and_one_that_ran_says_how(commune: Commune):
    from controller.models import RelayRun
    from controller.relay import store as relays

    tomorrow = now().astimezone(LOCAL).date() + timedelta(days=1)
    item = relays.parse(
        {
            "id": "vov1-sang",
            "title": "VOV1 thời sự",
            "url": "https://radio.vov.vn/vov1.mp3",
            "duration_s": 1800,
            "recurrence": {"kind": "daily", "start_date": tomorrow.isoformat(), "at": "06:00"},
            "zones": ["thon-dong"],
        }
    )
    with commune.db.session() as s:
        relays.save(
            s,
            commune.config,
            commune.user("pheduyet"),
            item,
            new=True,
            resolver=lambda _host, _port: ["203.113.131.1"],
        )
    start, _ = window(tomorrow)
    with commune.db.session() as s:
        found = [t for t in timed_things(s, start, start + timedelta(days=2)) if t.kind == "relay"]
    assert [(t.start.astimezone(LOCAL).day, t.status) for t in found] == [
        (tomorrow.day, "planned"),
        ((tomorrow + timedelta(days=1)).day, "planned"),
    ]
    assert found[0].title == "VOV1 thời sự"
    assert found[0].duration_s == 1800
    assert found[0].node_ids
    assert found[0].ref == ("relay", "vov1-sang")
    first = found[0].start.astimezone(dt.UTC)
    with commune.db.session() as s:
        s.add(
            RelayRun(
                relay_id="vov1-sang",
                window_start=first,
                window_end=first + timedelta(minutes=30),
                status="finished",
            )
        )
    with commune.db.session() as s:
        found = [t for t in timed_things(s, start, start + timedelta(days=1)) if t.kind == "relay"]
    assert [t.status for t in found] == ["played"]
