"""How a delivery's status moves as node events arrive late and out of order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest

from controller.delivery.state import (
    NOT_PLAYED,
    PLAYED,
    PROGRESS,
    SETTLED,
    WAITING,
    DeliveryStatus,
    advance,
)
from controller.models import Delivery

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def moved(start: DeliveryStatus, *kinds: DeliveryStatus) -> str:
    delivery = Delivery(play_id="p", bulletin_id="b", node_id="n", status=start, reason="")
    for kind in kinds:
        advance(delivery, kind, AT, reason=f"because {kind}")
    return delivery.status


def test_every_group_names_only_statuses_and_progress_is_complete():
    every = set(get_args(DeliveryStatus))
    for group in (PROGRESS, NOT_PLAYED, PLAYED, WAITING, SETTLED):
        assert set(group) <= every
    assert set(PROGRESS) | set(NOT_PLAYED) == every
    assert WAITING + PLAYED == PROGRESS


@pytest.mark.parametrize(
    ("start", "kinds", "end"),
    [
        ("queued", ("acknowledged", "received", "ready"), "ready"),
        ("ready", ("acknowledged",), "ready"),  # a late ack does not move it back
        ("queued", ("finished", "started"), "finished"),  # out of order
        ("finished", ("rejected",), "finished"),
        ("finished", ("failed",), "finished"),
        ("started", ("interrupted",), "interrupted"),
        ("expired", ("started",), "started"),  # the node's word beats our guess
        ("cancelled", ("ready",), "cancelled"),
        ("queued", ("rejected",), "rejected"),
    ],
)
def test_status_moves(start, kinds, end):
    assert moved(start, *kinds) == end


def test_a_failure_keeps_its_reason_and_progress_clears_it():
    delivery = Delivery(play_id="p", bulletin_id="b", node_id="n", status="queued", reason="")
    advance(delivery, "failed", AT, "no audio")
    assert (delivery.status, delivery.reason) == ("failed", "no audio")
    advance(delivery, "started", AT)
    assert (delivery.status, delivery.reason, delivery.started_at) == ("started", "", AT)
