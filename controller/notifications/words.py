"""What a notification says, in Vietnamese and English: the same words in the list, on the
home page and in a Web Push message."""

from __future__ import annotations

from dataclasses import dataclass

from controller.models import Notification

SAYS: dict[str, dict[str, str]] = {
    "review": {
        "vi": "Bản tin “{title}” đang chờ anh/chị duyệt",
        "en": "“{title}” is waiting for your approval",
    },
    "approved": {
        "vi": "Bản tin “{title}” đã được duyệt",
        "en": "“{title}” was approved",
    },
    "rejected": {
        "vi": "Bản tin “{title}” bị từ chối",
        "en": "“{title}” was rejected",
    },
    "not_played": {
        "vi": "Bản tin “{title}” không phát được ở {count} điểm loa",
        "en": "“{title}” did not play at {count} loudspeaker points",
    },
}
REASON = {"vi": "Lý do: {reason}", "en": "Reason: {reason}"}


@dataclass(frozen=True)
class Said:
    text: str
    reason: str  # a rejection's reason as a line of its own; "" otherwise
    url: str  # where acting on it starts


def say(notification: Notification, lang: str) -> Said:
    lang = lang if lang in ("vi", "en") else "vi"
    template = SAYS.get(notification.kind, SAYS["approved"])[lang]
    text = template.format(title=notification.title, count=notification.count)
    reason = REASON[lang].format(reason=notification.detail) if notification.detail else ""
    return Said(text, reason, target(notification))


def target(notification: Notification) -> str:
    if notification.kind == "review":
        return f"/review#b-{notification.bulletin_id}"
    if notification.kind == "not_played" and notification.bulletin_id:
        return f"/bulletins/{notification.bulletin_id}/report"
    return f"/bulletins/{notification.bulletin_id}" if notification.bulletin_id else "/"
