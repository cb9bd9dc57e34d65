"""A node measures its clock against the controller's from the signed answers to its states,
keeps that measure on its monotonic clock, and so sees a jump without asking again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from node_agent.clock_check import ClockCheck, describe_offset
from protocol.signing import new_private_key
from protocol.timecheck import NotAStateAckError, StateAck, sign_state_ack

KEY = new_private_key()
T0 = 1_796_500_000.0  # the controller's time (epoch s) when the node's first state arrived


class Clocks:
    """The node's wall and monotonic clocks, moved by the test."""

    def __init__(self, wall: float, mono: float = 1000.0) -> None:
        self.wall, self.mono = wall, mono

    def tick(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def check(clocks: Clocks) -> ClockCheck:
    return ClockCheck(
        "loa-01", KEY.public_key(), wall=lambda: clocks.wall, mono=lambda: clocks.mono
    )


def answer(state_at: datetime, received: float, node: str = "loa-01") -> bytes:
    ack = StateAck(
        node_id=node, state_at=state_at, received_at=datetime.fromtimestamp(received, UTC)
    )
    return sign_state_ack(KEY, "kid", ack).model_dump_json().encode()


def publish(c: ClockCheck, clocks: Clocks) -> datetime:
    at = datetime.fromtimestamp(clocks.wall, UTC)
    c.sent(at)
    return at


def measured(clocks: Clocks, c: ClockCheck, *, trip: float = 0.2) -> float | None:
    """One state out and its answer back after ``trip`` seconds, arriving half way."""
    at = publish(c, clocks)
    clocks.tick(trip / 2)
    received = T0 + (clocks.mono - 1000.0)
    clocks.tick(trip / 2)
    return c.take(answer(at, received))


def test_a_clock_ten_minutes_ahead_is_measured_and_held_to():
    clocks = Clocks(T0 + 600)
    c = check(clocks)
    assert c.offset_s() is None
    assert c.wrong() == ""
    assert measured(clocks, c) == pytest.approx(600, abs=1e-6)
    assert c.wrong() == "this point's clock is 10 min 0 s ahead of the controller's"
    assert c.correction() == pytest.approx(600, abs=1e-6)  # what its reports take off
    assert c.now().timestamp() == pytest.approx(clocks.wall - 600, abs=1e-3)  # for expiries
    clocks.tick(3600)  # an hour later, controller gone: still known
    assert c.offset_s() == pytest.approx(600, abs=1e-6)


def test_a_jump_after_the_measure_shows_at_once_and_setting_it_right_clears_it():
    clocks = Clocks(T0)
    c = check(clocks)
    assert measured(clocks, c) == pytest.approx(0, abs=1e-6)
    assert not c.stepped()
    assert c.wrong() == ""
    clocks.wall -= 600  # settimeofday: the wall clock jumps, the monotonic one does not
    assert c.stepped()
    assert c.wrong() == "this point's clock is 10 min 0 s behind the controller's"
    clocks.wall += 600
    assert c.stepped()
    assert c.wrong() == ""
    assert c.correction() == 0.0
    clocks.tick(0.5)
    assert not c.stepped()


def test_replayed_late_or_foreign_answers_measure_nothing():
    clocks = Clocks(T0 + 600)
    c = check(clocks)
    at = publish(c, clocks)
    late = answer(at, T0)
    clocks.tick(11)  # longer than a round trip says anything about
    assert c.take(late) is None
    assert c.take(answer(at, T0)) is None  # its state was answered (or given up) already
    with pytest.raises(NotAStateAckError):
        c.take(answer(publish(c, clocks), T0, node="loa-02"))
    assert c.offset_s() is None


def test_offsets_in_words():
    assert describe_offset(600.2) == "10 min 0 s ahead of"
    assert describe_offset(-75) == "1 min 15 s behind"
    assert describe_offset(12) == "12 s ahead of"
