"""Several of a node's events in one message: what a point has to say at one moment goes as one.

Why: a point used to publish each event on its own (a command's ack, then ``received``, then
``ready``, each in its own message, all made in the same commit), and the controller answered
each with an ``EventAck``. At a thousand points every one of those messages costs the broker,
paho's network threads and the controller's one worker, on the same cores as the fan-out. An
``EventBatch`` carries them together and is answered with one acknowledgement.

Wire: on the node's own ``events`` topic, beside the single events every agent sends,
``{"v":1,"type":"events","events":[<event>, ...]}``. Each entry is an ``Event`` as it would go
alone, and is checked alone where it is taken (:func:`entries`): a malformed entry, or one that
speaks for another node, costs only itself. A batch holds at most ``MAX_BATCH_EVENTS`` events
and ``MAX_EVENT_BATCH_BYTES`` bytes (one packet of the broker's, less its header): :func:`pack`
splits before either is passed. The controller's per-node rate limit counts the events inside,
not the message, so a batch buys a node no more than it could send one by one.

Which controllers read it: an older controller drops a batch as malformed and never
acknowledges it, and the same holds for a batch on a new topic, which it would not even read.
So a node sends a batch only when its controller has said it reads them, and falls back to single
events, which every controller reads, whenever that is in doubt:

- the node names ``EVENT_BATCHES`` in its state's capabilities; a controller that reads batches
  then sets ``batches`` in the ``EventAck``s it sends that node (and leaves the field out for a
  node that did not name it, whose parser would refuse a field it does not know);
- the node sends a batch while the latest ``EventAck`` it got said ``batches``: one from an
  older controller (a downgrade, a controller restored from an old backup) does not, and turns
  batches off again at once; an agent that just started sends its first events one by one;
- a re-send goes in a batch only for events last sent before the controller last said
  ``batches``: what went out in a batch and was never acknowledged (a controller replaced by
  an older one while the node stayed connected says nothing at all) is re-sent one by one.

Nothing is lost in any order of upgrades: an old controller costs a new point at most one
re-send interval for what it sent in a batch before it learnt of the change.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pydantic import ValidationError

from protocol.limits import MAX_BATCH_EVENTS, MAX_EVENT_BATCH_BYTES
from protocol.messages import EVENT_ADAPTER, Event

_HEAD = b'{"v":1,"type":"events","events":['
_TAIL = b"]}"


def pack(payloads: Sequence[bytes]) -> list[bytes]:
    """The messages that carry ``payloads`` (each one event's JSON), in order: batches of as
    many as fit the limits, and an event alone as it always went (any controller reads that)."""
    messages: list[bytes] = []
    group: list[bytes] = []
    size = len(_HEAD) + len(_TAIL)
    for payload in payloads:
        grown = size + len(payload) + (1 if group else 0)  # and its comma
        if group and (len(group) == MAX_BATCH_EVENTS or grown > MAX_EVENT_BATCH_BYTES):
            messages.append(_message(group))
            group, grown = [], len(_HEAD) + len(_TAIL) + len(payload)
        group.append(payload)
        size = grown
    if group:
        messages.append(_message(group))
    return messages


def _message(group: list[bytes]) -> bytes:
    if len(group) == 1:
        return group[0]
    return _HEAD + b",".join(group) + _TAIL


def entries(raw: Sequence[object]) -> Iterator[Event | ValidationError]:
    """Each entry of a batch as an event, or why it is none: checked one by one, so one bad
    entry (another type, a batch inside the batch, a field out of bounds) spoils no other."""
    for entry in raw:
        try:
            yield EVENT_ADAPTER.validate_python(entry)
        except ValidationError as exc:
            yield exc
