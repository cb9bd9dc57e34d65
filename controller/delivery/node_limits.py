"""What one node may cost the controller: a token bucket per node id in front of everything a
node sends (state, events, chunk requests), so a stolen or broken node that floods cannot
delay the others' events and commands on the dispatcher's one worker.

A message over the rate is dropped before it is parsed. Nothing a well-behaved node sends is
lost by that: it re-sends an unacknowledged event and re-asks for a chunk after a timeout.
Drops are said once per node per minute, with their count, not once per message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)
SAY_EVERY_S = 60.0


@dataclass
class _Bucket:
    tokens: float
    at: float


class OncePerMinute:
    """Counts occurrences per key and logs them at most once per ``SAY_EVERY_S`` per key."""

    def __init__(self, message: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._message = message  # %-format with (key, count)
        self._clock = clock
        self._said: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def note(self, key: str, count: int = 1) -> None:
        self._count[key] = self._count.get(key, 0) + count
        now = self._clock()
        last = self._said.get(key)
        if last is None or now - last >= SAY_EVERY_S:
            log.warning(self._message, key, self._count.pop(key))
            self._said[key] = now


class NodeRateLimit:
    """``rate_per_s`` messages a second per node, with bursts of up to ``burst``. A message
    that carries several events (protocol/event_batch.py) costs one per event: a batch buys
    a node nothing it could not send one by one."""

    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate_per_s, self.burst, self._clock = rate_per_s, burst, clock
        self._buckets: dict[str, _Bucket] = {}  # node ids: only provisioned ones can publish
        self.dropped: dict[str, int] = {}  # since start, per node: what the counters show
        self._drops = OncePerMinute(
            "node %s sends faster than its limit; dropped %d messages or events (it re-sends "
            "what matters)",
            clock,
        )

    def allow(self, node_id: str) -> bool:
        return self.take(node_id, 1) == 1

    def take(self, node_id: str, count: int) -> int:
        """How many of ``count`` messages (or events) of ``node_id`` may pass now: the first
        ones, as far as its bucket holds; the rest are counted dropped."""
        now = self._clock()
        bucket = self._buckets.setdefault(node_id, _Bucket(float(self.burst), now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate_per_s)
        bucket.at = now
        granted = max(0, min(count, int(bucket.tokens)))
        bucket.tokens -= granted
        if granted < count:
            self.dropped[node_id] = self.dropped.get(node_id, 0) + count - granted
            self._drops.note(node_id, count - granted)
        return granted
