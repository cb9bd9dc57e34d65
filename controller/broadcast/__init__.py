"""Bulletins from the broadcaster to the programme: upload and text-to-speech ingest, drafts,
the approval workflow, where (``targets``) and when (``times``, quiet hours included) a request
plays, its audio (``media``), and sending a bulletin to its points.
"""

from controller.broadcast.approval import (
    BroadcastRequest,
    RequestProblemsError,
    approve,
    reject,
    submit,
)
from controller.broadcast.audio_report import AudioReport
from controller.broadcast.bulletins import Airing, new_bulletin, send
from controller.broadcast.media import Recording, audio_for, duration_of
from controller.broadcast.speech import speak
from controller.broadcast.targets import resolve_targets
from controller.broadcast.times import check_quiet_hours, parse_time

__all__ = [
    "Airing",
    "AudioReport",
    "BroadcastRequest",
    "Recording",
    "RequestProblemsError",
    "approve",
    "audio_for",
    "check_quiet_hours",
    "duration_of",
    "new_bulletin",
    "parse_time",
    "reject",
    "resolve_targets",
    "send",
    "speak",
    "submit",
]
