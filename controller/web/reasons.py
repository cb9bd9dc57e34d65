"""Why a play did not happen, in plain words: the raw reasons come from the controller
(controller/delivery_state.py) and the node agent (node_agent/player.py, agent.py) in English
for technicians; the pages show a catalogue text and keep the raw reason beside it."""

from __future__ import annotations

import re
from datetime import datetime

from controller.delivery.state import NOT_PLAYED
from controller.web.formatting import local_time
from controller.web.i18n import translate

# First match wins; named groups that are times are shown in local Vietnamese form.
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (
            r"^node offline since (?P<since>.+?); bulletin expired at (?P<deadline>.+?) before",
            "reports.reason.offline_since",
        ),
        (
            r"^node offline and never connected; bulletin expired at (?P<deadline>.+?) before",
            "reports.reason.never_connected",
        ),
        (r"^node never acknowledged the command before (?P<deadline>.+)$", "reports.reason.no_ack"),
        (r"^not started before (?P<deadline>.+?) \(last status", "reports.reason.not_started"),
        (
            r"^missed: not started by .*\(held: this point's clock is (?P<min>\d+) min "
            r"(?P<s>\d+) s (?P<way>ahead of|behind) the controller's\)$",
            "reports.reason.missed_clock",
        ),
        (r"^missed: not started by", "reports.reason.missed"),
        (
            r"^held: this point's clock is (?P<min>\d+) min (?P<s>\d+) s "
            r"(?P<way>ahead of|behind) the controller's$",
            "reports.reason.held_clock",
        ),
        (r"^emergency audio did not arrive in time", "reports.reason.emergency_audio_late"),
        (r"^controller cannot serve the audio", "reports.reason.audio_unavailable"),
        (r"^audio output failed", "reports.reason.output_failed"),
        (r"^cannot decode cached audio", "reports.reason.decode_failed"),
        (r"^interrupted \(.*\); no time left", "reports.reason.interrupted_no_time"),
        (r"will resume if time allows$", "reports.reason.interrupted_resume"),
        (
            r"pre-empted by (?P<priority>emergency|priority|normal|filler)",
            "reports.reason.preempted",
        ),
        (r"^stopped by operator", "reports.reason.silenced"),
        (r"^(alert )?cancelled$", "reports.reason.cancelled"),
    )
)
TIME_GROUPS = ("since", "deadline")


def reason_text(status: str, reason: str, lang: str) -> str:
    """A sentence for a play that did not (fully) happen; "" while it is on its way or played."""
    for pattern, key in PATTERNS:
        match = pattern.search(reason)
        if match:
            values = {
                name: (shown_time(value) if name in TIME_GROUPS else value)
                for name, value in match.groupdict().items()
            }
            if "priority" in values:
                values["priority"] = translate(f"priority.{values['priority']}", lang)
            if "way" in values:  # the point's clock, ahead of or behind the controller's
                values["way"] = translate(f"reports.clock.{values['way'].split()[0]}", lang)
            return translate(key, lang, **values)
    if status in NOT_PLAYED:
        return translate(f"reports.reason.{status}", lang)
    return ""


def shown_time(text: str) -> str:
    """``2026-11-23 19:10:00 +0700`` (delivery_state.local_text) → ``19:10 23/11/2026``."""
    try:
        return local_time(datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z"))
    except ValueError:
        return text
