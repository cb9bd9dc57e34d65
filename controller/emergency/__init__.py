"""Emergencies: alerts (propose, confirm, send everywhere at once, cancel), CAP 1.2 ingest,
CAP out (``cap_out``: the commune's alerts as CAP messages and an Atom feed) and their pure
logic in ``cap/``. Other alert channels (SMS, Zalo, notice boards) belong here.
"""

from controller.emergency.alerts import (
    AlertRequest,
    cancel,
    cancel_and_correct,
    confirm,
    raise_alert,
    submit,
)
from controller.emergency.cap_ingest import Outcome, ingest

__all__ = [
    "AlertRequest",
    "Outcome",
    "cancel",
    "cancel_and_correct",
    "confirm",
    "ingest",
    "raise_alert",
    "submit",
]
