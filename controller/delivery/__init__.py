"""Getting bulletins to the points and knowing what happened.

``dispatcher`` runs the three jobs on one worker thread: ``outbox`` (signed commands, sent once
their transaction commits and re-sent until acknowledged; a command to many points signed and
published once per group of them, ``groups``), ``node_events`` (states and reports
applied to delivery state, a batch of them per transaction through ``intake``, the rows the
batch looks up read at once by ``batch_rows``) and ``chunks``
(audio served piece by piece, each piece read and encoded once). They reach the broker
through a ``publisher.Publisher``, which refuses what the broker could not take;
``node_limits`` caps what one node may make the worker do; ``history`` deletes the settled
commands and node events past their retention. ``state`` names the delivery
statuses and how they move; ``availability`` says how much of the time each point was
reachable.
"""

from controller.delivery.availability import changes_for, record_status
from controller.delivery.dispatcher import Dispatcher
from controller.delivery.publisher import MemoryPublisher, MqttPublisher, Publisher
from controller.delivery.state import (
    NOT_PLAYED,
    PLAYED,
    PROGRESS,
    SETTLED,
    WAITING,
    DeliveryStatus,
    advance,
    expiry_reason,
)

__all__ = [
    "NOT_PLAYED",
    "PLAYED",
    "PROGRESS",
    "SETTLED",
    "WAITING",
    "DeliveryStatus",
    "Dispatcher",
    "MemoryPublisher",
    "MqttPublisher",
    "Publisher",
    "advance",
    "changes_for",
    "expiry_reason",
    "record_status",
]
