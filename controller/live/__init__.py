"""Live: a voice (or a relayed station) from one source to many points, in real time.

``runner.Live`` is the entry point and the registry of what is live now; ``session`` turns PCM
into signed Opus packets published once on a stream topic (the wire format: protocol/live.py);
``record`` keeps each session as a bulletin of kind ``live`` with each point's proof of play.
``loa live`` (controller/ops/live_cli.py) streams a file or standard input through the HTTP API
(controller/api/live.py). README "Live (phát trực tiếp)" tells the whole path.
"""

from controller.live.runner import Live, LiveInfo, LiveSummary
from controller.live.session import LiveRequest, MqttStreamPublisher, StreamPublisher

__all__ = [
    "Live",
    "LiveInfo",
    "LiveRequest",
    "LiveSummary",
    "MqttStreamPublisher",
    "StreamPublisher",
]
