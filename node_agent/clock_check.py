"""How far this node's clock is from the controller's, measured on every state it publishes,
and whether it can be trusted to play the programme on time.

Every ``play_at`` is written in the controller's time; a node whose clock jumped 10 minutes
would air the morning bulletin 10 minutes early or late. So the node keeps the controller's time
on its monotonic clock (which a settimeofday jump or an NTP step never moves): each signed
``StateAck`` (protocol/timecheck.py) gives the controller's time when this node's state
arrived, and half the round trip places that moment on the monotonic clock. From then on the
node knows its offset without asking, also while the controller is away: a wall clock that
jumps moves away from the monotonic base, and that difference is the jump.

Without any measurement since the agent started (a reboot with the controller out of reach)
the node trusts its wall clock, as it always did: there is nothing better to go by.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node_agent.agenda import Hold
from protocol.timecheck import CLOCK_WRONG_S, MAX_ROUND_TRIP_S, verify_state_ack

STEP_S = 1.0  # a change this large between two looks is a step, not drift: measure again
SENT_KEPT = 16  # states awaiting their answer (a heartbeat a minute; plays add a few)


@dataclass
class ClockCheck:
    node_id: str
    public_key: Ed25519PublicKey
    wall: Callable[[], float] = time.time
    mono: Callable[[], float] = time.monotonic
    _sent: dict[datetime, float] = field(default_factory=dict, init=False)
    _base: float | None = field(default=None, init=False)  # controller time minus monotonic
    _skew: float | None = field(default=None, init=False)  # wall minus monotonic, last look
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def sent(self, at: datetime) -> None:
        """A state stamped ``at`` by this node's clock has just been published."""
        with self._lock:
            self._sent[at] = self.mono()
            while len(self._sent) > SENT_KEPT:
                del self._sent[next(iter(self._sent))]

    def take(self, payload: bytes) -> float | None:
        """Measure from a controller's answer; the offset found (seconds, node minus controller)
        or None when it is no usable measurement (raises NotAStateAckError when it is not a
        signed answer for this node at all)."""
        ack = verify_state_ack(payload, self.public_key, self.node_id)
        arrived = self.mono()
        with self._lock:
            sent = self._sent.pop(ack.state_at, None)  # used once: a replay measures nothing
            if sent is None or arrived - sent > MAX_ROUND_TRIP_S:
                return None
            self._base = ack.received_at.timestamp() - (sent + (arrived - sent) / 2)
        return self.offset_s()

    def offset_s(self) -> float | None:
        """This node's clock minus the controller's now; None before the first measurement."""
        base = self._base
        return None if base is None else self.wall() - (self.mono() + base)

    def correction(self) -> float:
        """Seconds to take off this node's clock for the controller's while it is wrong."""
        hold = self.hold()
        return hold.offset_s if hold is not None else 0.0

    def now(self) -> datetime:
        """The controller's time as this node knows it: its own clock unless that is wrong."""
        return datetime.fromtimestamp(self.wall() - self.correction(), UTC)

    def wrong(self) -> str:
        """Why the clock cannot be trusted to play on time ("" when it can)."""
        hold = self.hold()
        return hold.reason if hold is not None else ""

    def hold(self) -> Hold | None:
        """What the player must hold back for, while the clock cannot be trusted."""
        offset = self.offset_s()
        if offset is None or abs(offset) <= CLOCK_WRONG_S:
            return None
        return Hold(f"this point's clock is {describe_offset(offset)} the controller's", offset)

    def stepped(self) -> bool:
        """True when the wall clock jumped since the last look (call it every tick)."""
        skew = self.wall() - self.mono()
        last, self._skew = self._skew, skew
        return last is not None and abs(skew - last) > STEP_S


def describe_offset(offset_s: float) -> str:
    """``600.2`` → "10 min 0 s ahead of"; ``-75`` → "1 min 15 s behind"."""
    whole = round(abs(offset_s))
    minutes, seconds = divmod(whole, 60)
    span = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    return f"{span} {'ahead of' if offset_s > 0 else 'behind'}"
