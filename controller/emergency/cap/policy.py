"""What to do with a parsed CAP alert: which info to speak, at what priority, and whether to air.

Pure functions of the alert and the current time, so the controller can log the reason verbatim.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from controller.emergency.cap.models import CapAlert, CapError, CapInfo, CapKey

# The part of protocol.messages.Priority that an alert can ask for: a CAP alert is never filler.
# A Literal subset, so mypy accepts a CapPriority wherever a Priority is expected.
CapPriority = Literal["emergency", "priority", "normal"]
Action = Literal["air", "update", "cancel", "log_only", "expired", "ignore"]

# valueNames a province may use for the QĐ 18/2021/QĐ-TTg disaster risk level, compared after
# folding case, diacritics and separators ("Cấp độ rủi ro" == "capDoRuiRo" == "cap_do_rui_ro").
_RISK_NAMES = frozenset(
    {"capdoruiro", "capdoruirothientai", "disasterrisklevel", "risklevel", "capdo"}
)


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    reason: str
    references: list[CapKey] = []  # for update/cancel: the messages this one replaces
    # For air/update/log_only: priority of the preferred info (log_only: for test nodes).
    priority: CapPriority | None = None


def preferred_info(alert: CapAlert) -> CapInfo:
    """The Vietnamese info block ("vi", "vi-VN", any case) if present, else the first one."""
    if not alert.infos:
        raise CapError(f"alert {alert.identifier!r} has no <info> block to speak")
    for info in alert.infos:
        lang = info.language.lower()
        if lang == "vi" or lang.startswith("vi-"):
            return info
    return alert.infos[0]


def _fold(name: str) -> str:
    # "đ" has no decomposition in Unicode, so map it by hand before stripping accents.
    name = name.lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", name)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def risk_level(info: CapInfo) -> int | None:
    """Disaster risk level 1–5 (QĐ 18/2021/QĐ-TTg) from the info's parameters, if given.

    Accepts values like "3", "Cấp 3", "cap do 3". Anything outside 1–5 or without a number is
    treated as absent rather than guessed.
    """
    for name, value in info.parameters.items():
        if _fold(name) not in _RISK_NAMES:
            continue
        match = re.search(r"\d+", value)
        if match and 1 <= int(match.group()) <= 5:
            return int(match.group())
    return None


def priority_for(info: CapInfo) -> CapPriority:
    """Map CAP severity × urgency (and the Vietnamese risk level) onto our three priorities.

    ================  ======================  =================  ======
    severity          Immediate / Expected    Future / Unknown   Past
    ================  ======================  =================  ======
    Extreme, Severe   emergency               priority           normal
    Moderate          priority                priority           normal
    Minor, Unknown    normal                  normal             normal
    ================  ======================  =================  ======

    A disaster risk level (QĐ 18/2021/QĐ-TTg, "cấp độ rủi ro thiên tai") only ever raises the
    result: level ≥ 3 → emergency; level 1–2 → at least priority. The state's own level is
    authoritative for Vietnam, so it wins over a sender's looser severity/urgency pair.
    """
    if info.urgency == "Past":
        base: CapPriority = "normal"
    elif info.severity in ("Extreme", "Severe"):
        base = "emergency" if info.urgency in ("Immediate", "Expected") else "priority"
    elif info.severity == "Moderate":
        base = "priority"
    else:
        base = "normal"
    level = risk_level(info)
    if level is not None and level >= 3:
        return "emergency"
    if level is not None and base == "normal":
        return "priority"
    return base


def decide(alert: CapAlert, now: datetime) -> Decision:
    """Decide what the controller does with `alert` at `now` (an aware datetime).

    Order matters: non-Actual statuses never air whatever their type; a Cancel is honoured even
    when the cancel itself carries an old `expires`, because silencing is always safe.
    """
    if now.tzinfo is None:
        raise ValueError("decide() needs a timezone-aware `now`; CAP times carry offsets")
    if alert.status != "Actual":
        # The priority travels along so the controller can still play it on test nodes.
        test_priority = priority_for(preferred_info(alert)) if alert.infos else None
        return Decision(
            action="log_only",
            reason=f"status {alert.status}: logged, not aired",
            priority=test_priority,
        )
    if alert.msg_type in ("Ack", "Error"):
        return Decision(action="ignore", reason=f"msgType {alert.msg_type}: nothing to broadcast")
    if alert.msg_type == "Cancel":
        if not alert.references:
            return Decision(action="ignore", reason="msgType Cancel without <references>")
        return Decision(
            action="cancel",
            reason=f"cancels {len(alert.references)} earlier message(s)",
            references=alert.references,
        )
    if not alert.infos:
        return Decision(action="ignore", reason="no <info> block: nothing to broadcast")
    expiries = [info.expires for info in alert.infos]
    if all(e is not None and e <= now for e in expiries):
        latest = max(e for e in expiries if e is not None)
        # An expired Update still names what it supersedes, so the controller can stop those.
        refs = alert.references if alert.msg_type == "Update" else []
        return Decision(
            action="expired", reason=f"expired at {latest.isoformat()}", references=refs
        )
    priority = priority_for(preferred_info(alert))
    if alert.msg_type == "Update":
        return Decision(
            action="update",
            reason=f"updates {len(alert.references)} earlier message(s)",
            references=alert.references,
            priority=priority,
        )
    return Decision(action="air", reason=f"new alert, priority {priority}", priority=priority)


def _sentence(text: str) -> str:
    # Collapse line breaks and runs of spaces so TTS reads one flowing sentence, and end it
    # with punctuation so the engine pauses between headline, description and instruction.
    text = " ".join(text.split())
    return text if text[-1] in ".!?…:;" else text + "."


def speech_text(info: CapInfo) -> str:
    """Headline, description and instruction as one text for TTS (the event if all are empty)."""
    parts = [p for p in (info.headline, info.description, info.instruction) if p and p.strip()]
    if not parts:
        parts = [info.event]
    return " ".join(_sentence(p) for p in parts)
