"""A point's health: stored from its state as the dispatcher receives it, judged against the
field's thresholds, and put in words on its page."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from packaging.version import Version
from sqlalchemy import select

from controller.models import Node, NodeHealth, NodeUpdate, Release
from controller.nodes import health as rules
from controller.web.health_view import health_view, size, uptime
from node_agent.version import installed_version
from protocol import mqtt_client
from protocol.messages import Health, NodeState
from protocol.timecheck import STATE_ACK_EXPIRY_S, verify_state_ack
from protocol.topics import node_topic
from tests.controller.commune import Commune

GB = 1_000_000_000
GOOD = Health(
    uptime_s=3 * 86_400 + 4 * 3600 + 120,
    cpu_temp_c=52.4,
    disk_free_bytes=12 * GB,
    disk_total_bytes=16 * GB,
    memory_available_bytes=600_000_000,
    memory_total_bytes=1_000_000_000,
    clock_synced=True,
    clock_offset_ms=3.2,
    clock_source="chrony",
)


def send_state(dispatcher, node_id: str, *, retained: bool = False, **fields: object) -> None:
    state = NodeState(node_id=node_id, **{"status": "online", **fields})
    item = mqtt_client.Incoming(
        node_topic(node_id, "state"), state.model_dump_json().encode(), retained, time.time()
    )
    dispatcher.handle(item)


def stored(commune: Commune, node_id: str) -> NodeHealth | None:
    with commune.db.session() as s:
        row = s.get(NodeHealth, node_id)
        if row is not None:
            s.expunge(row)
        return row


def test_the_latest_health_of_a_point_is_stored_and_replaced(commune, dispatcher):
    node = commune.nodes_in("thon-dong")[0]
    send_state(dispatcher, node, health=GOOD)
    first = stored(commune, node)
    assert first is not None
    assert (first.cpu_temp_c, first.disk_free_bytes) == (52.4, 12 * GB)
    assert first.clock_source == "chrony"
    send_state(dispatcher, node, health=GOOD.model_copy(update={"cpu_temp_c": 85.0}))
    again = stored(commune, node)
    assert again is not None
    assert again.cpu_temp_c == 85.0
    with commune.db.session() as s:
        assert len(s.scalars(select(NodeHealth)).all()) == 1


def test_a_state_without_health_keeps_the_last_report(commune, dispatcher):
    """An older agent, or an offline Last Will, says nothing about health: nothing is erased."""
    node = commune.nodes_in("thon-dong")[0]
    send_state(dispatcher, node, health=GOOD)
    send_state(dispatcher, node)
    dispatcher.handle(
        mqtt_client.Incoming(
            node_topic(node, "state"),
            NodeState(node_id=node, status="offline").model_dump_json().encode(),
            False,
            time.time(),
        )
    )
    row = stored(commune, node)
    assert row is not None
    assert row.cpu_temp_c == 52.4


def test_a_retained_report_keeps_the_time_it_was_made(commune, dispatcher):
    node = commune.nodes_in("thon-dong")[0]
    made = datetime.now(UTC) - timedelta(hours=5)
    send_state(dispatcher, node, retained=True, at=made, health=GOOD)
    row = stored(commune, node)
    assert row is not None
    assert abs((row.reported_at - made).total_seconds()) < 1


def test_a_state_with_junk_health_changes_nothing(commune, dispatcher):
    node = commune.nodes_in("thon-dong")[0]
    send_state(dispatcher, node, health=GOOD)
    junk = json.dumps(
        {
            "v": 1,
            "type": "state",
            "node_id": node,
            "status": "online",
            "health": {"cpu_temp_c": 1e9},
        }
    )
    dispatcher.handle(
        mqtt_client.Incoming(node_topic(node, "state"), junk.encode(), False, time.time())
    )
    row = stored(commune, node)
    assert row is not None
    assert row.cpu_temp_c == 52.4


def judged(health: Health | None, *, dbm: int | None = None, version: str = "1.0.0") -> list[str]:
    row = None
    if health is not None:
        row = NodeHealth(node_id="n", reported_at=datetime.now(UTC))
        for name in Health.model_fields:
            if name != "v":
                setattr(row, name, getattr(health, name))
    found = rules.warnings(row, signal_dbm=dbm, version=version, current_version="1.0.0")
    return [w.code for w in found]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"cpu_temp_c": 80.0}, "hot"),
        ({"disk_free_bytes": 1 * GB}, "disk"),  # 6 % of the card
        ({"disk_free_bytes": 400_000_000, "disk_total_bytes": 2 * GB}, "disk"),  # under 500 MB
        ({"memory_available_bytes": 50_000_000}, "memory"),
        ({"clock_synced": False}, "clock_unsynced"),
        ({"clock_offset_ms": -750.0}, "clock_far"),
        ({"clock_offset_ms": 600_000.0}, "clock_far"),  # a clock jumped 10 min ahead
        ({"clock_offset_ms": -600_000.0}, "clock_far"),  # and 10 min back
        ({"cell_signal_pct": 12, "cell_technology": "lte"}, "weak_cell"),
    ],
)
def test_each_problem_gives_its_warning(change, code):
    assert judged(GOOD.model_copy(update=change)) == [code]


def test_a_healthy_point_has_no_warning_and_unknown_is_not_a_problem():
    assert judged(GOOD) == []
    assert judged(Health()) == []
    assert judged(None) == []
    assert judged(GOOD.model_copy(update={"cpu_temp_c": 79.9, "clock_offset_ms": 499.0})) == []


def test_weak_wifi_and_an_old_version_are_warned():
    assert judged(GOOD, dbm=-85) == ["weak_wifi"]
    assert judged(GOOD, dbm=-70) == []
    assert judged(GOOD, version="0.9.2") == ["old_version"]
    assert judged(GOOD, version="1.1.0") == []
    assert judged(GOOD, version="unknown") == []


def test_words_for_sizes_and_uptime():
    assert size(1_234_567_890, "vi") == "1,2 GB"
    assert size(1_234_567_890, "en") == "1.2 GB"
    assert size(512, "en") == "512 B"
    assert uptime(3 * 86_400 + 4 * 3600 + 120, "vi") == "3 ngày 4 giờ"
    assert uptime(2 * 3600 + 5 * 60, "en") == "2 h 5 min"


def test_the_page_says_what_is_wrong_and_what_to_do(commune, dispatcher):
    node = commune.nodes_in("thon-dong")[0]
    hot = GOOD.model_copy(update={"cpu_temp_c": 84.6, "clock_synced": False})
    send_state(dispatcher, node, health=hot, agent_version=installed_version())
    with commune.db.session() as s:
        vi = health_view(s, node, "vi")
        en = health_view(s, node, "en")
        codes = rules.warning_codes(s)
    assert vi["reported"]
    assert vi["warnings"][0].startswith("Quá nóng: CPU 85 °C")
    assert "chronyc tracking" in vi["warnings"][1]
    assert en["warnings"][0].startswith("Too hot: CPU at 85 °C")
    assert dict(en["facts"]) == {
        "Running for": "3 d 4 h",
        "CPU temperature": "85 °C",
        "Free storage": "12.0 GB of 16.0 GB (75%)",
        "Free memory": "600 MB of 1.0 GB (60%)",
        "Clock": "NOT synchronised, +3 ms off the time server",
    }
    assert codes[node] == ["hot", "clock_unsynced"]


def test_a_point_that_never_reported_says_so(commune):
    node = commune.nodes_in("thon-tay")[0]
    with commune.db.session() as s:
        view = health_view(s, node, "vi")
        assert s.get(Node, node) is not None
    assert view == {"reported": False, "warnings": [], "facts": [], "measured": ""}


def test_once_a_rollout_targets_a_point_its_version_is_judged_against_the_target(
    commune, dispatcher
):
    """Not against the controller's own version: a point held at an older release on purpose
    is not "old software"; one whose update to a newer target failed is."""
    node = commune.nodes_in("thon-dong")[0]
    mine = Version(installed_version())
    older, newer = f"0.0.{mine.micro}", f"{mine.major}.{mine.minor}.{mine.micro + 1}"
    send_state(dispatcher, node, health=GOOD, agent_version=older)

    def codes() -> tuple[list[str], list[str]]:
        with commune.db.session() as s:
            one = [w.code for w in rules.warnings_of(s.get(Node, node), None)]
            return one, rules.warning_codes(s)[node]

    assert codes() == (["old_version"], ["old_version"])  # no target: the controller's
    with commune.db.session() as s:
        for version in (older, newer):
            s.add(
                Release(
                    version=version,
                    filename="w.whl",
                    sha256=version.ljust(64, "0"),
                    size=1,
                    signature="s",
                    added_by="admin",
                )
            )
        s.flush()  # the releases first: the target names one
        s.add(NodeUpdate(node_id=node, version=older, command_id="c1", status="updated"))
        s.commit()
    assert codes() == ([], [])  # held at the older release on purpose
    with commune.db.session() as s:
        s.get(NodeUpdate, node).version = newer
        s.get(NodeUpdate, node).status = "rolled_back"
        s.commit()
    assert codes() == (["old_version"], ["old_version"])


def test_a_clock_off_the_controllers_is_answered_signed_and_warned_in_plain_words(
    commune, dispatcher, publisher
):
    """Each fresh state is answered with when it arrived (signed, for the node to measure its
    clock); a point 10 min off is the first thing its page warns about, until it is right."""
    node = commune.nodes_in("thon-dong")[0]
    stamped = datetime.now(UTC) + timedelta(minutes=10)
    send_state(dispatcher, node, health=GOOD, agent_version=installed_version(), at=stamped)
    (answer,) = [p for p in publisher.sent if p.topic == node_topic(node, "ack")]
    ack = verify_state_ack(answer.payload.encode(), commune.key.public_key(), node)
    assert ack.state_at == stamped
    assert timedelta(0) < stamped - ack.received_at < timedelta(minutes=10, seconds=1)
    assert answer.expiry_s == STATE_ACK_EXPIRY_S
    with commune.db.session() as s:
        vi, en = health_view(s, node, "vi"), health_view(s, node, "en")
        assert rules.warning_codes(s)[node] == ["clock_ahead"]
    assert vi["warnings"][0].startswith("Đồng hồ sai: chạy nhanh 10 phút 0 giây so với máy chủ.")
    assert en["warnings"][0].startswith("Clock wrong: 10 min 0 s ahead of the controller.")

    publisher.clear()
    send_state(dispatcher, node, retained=True, health=GOOD, at=stamped)  # hours old, maybe
    send_state(dispatcher, node, health=GOOD, status="offline")  # the broker's Last Will
    assert publisher.sent == []  # neither measures anything: no answer
    send_state(dispatcher, node, health=GOOD, agent_version=installed_version())
    assert publisher.sent == []  # one answer per node per ANSWER_EVERY_S: it measured already
    with commune.db.session() as s:
        assert rules.warning_codes(s)[node] == []  # set right: the warning clears


@pytest.mark.parametrize(
    ("offset_ms", "code", "values"),
    [
        (10_000.0, None, None),  # at the bound: a slow 4G trip, not a wrong clock
        (10_001.0, "clock_ahead", {"min": 0, "s": 10}),
        (-600_400.0, "clock_behind", {"min": 10, "s": 0}),
        (None, None, None),
    ],
)
def test_the_controllers_judgement_of_a_points_clock(offset_ms, code, values):
    found = rules.clock_wrong(offset_ms)
    assert (found.code, found.values) == (code, values) if found else code is None
