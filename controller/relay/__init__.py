"""Relay a radio station on schedule (tiếp âm): a station's stream on the live path.

``store`` keeps the relays (``schedules.RelayItem`` is their pure form), ``url`` and ``fetch``
guard what the controller pulls, ``source`` decodes it with PyAV, ``runner`` airs one window
(retrying a failed source, filling gaps with silence), ``scheduler`` starts each window on
time, ``report`` tells what each point got. README "Relay (tiếp âm)" tells the whole path.
"""

from controller.relay.scheduler import RelayScheduler

__all__ = ["RelayScheduler"]
