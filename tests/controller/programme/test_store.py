"""The programme on a real database: placed items become deliveries ahead of time, and
taking an item out cancels its airings on the nodes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from controller import programme
from controller.models import Bulletin, Delivery, now
from controller.programme import edit
from protocol.messages import CancelCommand, PlayCommand
from schedules import LOCAL, Recurrence
from tests.controller.commune import Commune

GRACE = timedelta(minutes=10)


def place(commune: Commune, dispatcher, zones: list[str]) -> tuple[str, str]:
    """An item airing once, two hours from now, in ``zones``; returns (item id, bulletin id)."""
    bulletin = commune.bulletin(valid_for=timedelta(days=2))
    airs = (now() + timedelta(hours=2)).astimezone(LOCAL).replace(microsecond=0)
    with commune.db.session() as s:
        item = programme.build_item(
            s.get_one(Bulletin, bulletin.id),
            recurrence=Recurrence(kind="once", start_date=airs.date(), at=airs.time()),
            zones=zones,
        )
        programme.add_item(s, dispatcher, GRACE, "phatthanh", item)
    return item.id, bulletin.id


def test_a_programme_item_materialises_one_delivery_per_node_of_its_zone(commune, dispatcher):
    item_id, bulletin_id = place(commune, dispatcher, ["thon-tay"])
    targets = commune.nodes_in("thon-tay")
    with commune.db.session() as s:
        deliveries = s.scalars(select(Delivery).where(Delivery.bulletin_id == bulletin_id)).all()
        assert sorted(d.node_id for d in deliveries) == targets
        assert len({d.play_id for d in deliveries}) == 1
        assert deliveries[0].play_id.startswith(f"p-{item_id}")
        assert {d.status for d in deliveries} == {"queued"}
    commands = commune.commands()
    assert sorted(node for node, _ in commands) == targets
    for _, body in commands:
        assert isinstance(body.command, PlayCommand)
        assert body.command.play_at is not None
        assert abs((body.command.play_at - now()).total_seconds() - 7200) < 60
    with commune.db.session() as s:  # the next pass finds nothing new to queue
        assert programme.materialise(s, dispatcher, GRACE) == 0
    assert len(commune.commands()) == len(targets)


def test_taking_an_item_out_cancels_its_airings_on_the_nodes(commune, dispatcher):
    item_id, bulletin_id = place(commune, dispatcher, ["thon-dong", "thon-bac"])
    targets = commune.nodes_in("thon-dong", "thon-bac")
    with commune.db.session() as s:
        told = edit.remove_item(s, dispatcher, GRACE, "phatthanh", item_id)
    assert told == targets
    with commune.db.session() as s:
        statuses = s.scalars(select(Delivery.status).where(Delivery.bulletin_id == bulletin_id))
        assert set(statuses) == {"cancelled"}
        assert programme.load(s).items == []
    cancels = commune.commands()
    assert sorted(node for node, _ in cancels) == targets
    assert all(isinstance(body.command, CancelCommand) for _, body in cancels)
